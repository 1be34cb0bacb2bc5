//! Charts (PNG and SVG) and the HTML report of a finished run or comparison, drawn with plotters
//! from the CSV files alone, so `forumsim plot DIR` redraws them without running the model.
//!
//! Text is drawn with Noto Sans embedded in the binary (registered once), so charts render on a
//! machine with no fonts installed. The same CSV files give byte-identical PNG and SVG files: no
//! clock, no randomness, and points are spread by a fixed sequence.

pub mod analysis;
pub mod data;
pub mod layout;
pub mod posterior;
pub mod report;

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::experiment::observe::region_slug;
use crate::names;
use data::{Band, ComparisonData, RunData};

/// Headline metrics drawn as fan charts: the metrics whose paired differences by year a
/// comparison writes (their words are in `names::metric`).
pub const FAN_METRICS: [&str; 9] = crate::experiment::compare::DIFFERENCE_METRICS;

/// Okabe–Ito colours (told apart under the common colour-vision deficiencies), black left out:
/// black is the baseline's.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    // Okabe–Ito's yellow, darkened so that a line of it reads on white.
    RGBColor(190, 170, 0),
];

pub(crate) const FONT: &str = "sans-serif";
const WIDTH: u32 = 960;
const HEIGHT: u32 = 560;
/// Width of a chart with a legend column.
const WIDE: u32 = WIDTH + layout::LEGEND_WIDTH;

fn colour(k: usize) -> RGBColor {
    PALETTE[k % PALETTE.len()]
}

/// How one series is drawn: the baseline of a comparison in black, thicker and on top; the
/// others in the palette, dashed once the colours repeat.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Style {
    colour: RGBColor,
    baseline: bool,
    dashed: bool,
}

impl Style {
    /// Series `k` of a comparison (0: the baseline) or of a chart without a baseline.
    fn of(k: usize, with_baseline: bool) -> Style {
        if with_baseline && k == 0 {
            return Style {
                colour: BLACK,
                baseline: true,
                dashed: false,
            };
        }
        let j = if with_baseline { k - 1 } else { k };
        Style {
            colour: colour(j),
            baseline: false,
            dashed: j >= PALETTE.len(),
        }
    }

    fn width(&self) -> u32 {
        if self.baseline { 3 } else { 2 }
    }
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TTF compiled into the binary; a failure would show as missing
        // text, and the chart tests would catch it.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, notosans::REGULAR_TTF);
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, notosans::BOLD_TTF);
    });
}

/// A drawing error as a write error of `path`: the operating system's error where there is one
/// ("No space left on device"), said once, never the backend's nested debug form.
fn plot_err<E: std::error::Error + Send + Sync + 'static>(
    path: &Path,
) -> impl Fn(DrawingAreaErrorKind<E>) -> Error + '_ {
    move |e| {
        let io = match &e {
            DrawingAreaErrorKind::BackendError(
                plotters_backend::DrawingErrorKind::DrawingError(inner),
            ) => io_error(inner),
            _ => None,
        };
        Error::Write {
            path: path.to_path_buf(),
            source: io.unwrap_or_else(|| std::io::Error::other(e.to_string())),
        }
    }
}

/// The IO error inside a backend's error, if it is one.
fn io_error(e: &(dyn std::error::Error + 'static)) -> Option<std::io::Error> {
    let copy = |io: &std::io::Error| std::io::Error::new(io.kind(), io.to_string());
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        return Some(copy(io));
    }
    match e.downcast_ref::<plotters_bitmap::BitMapBackendError>()? {
        plotters_bitmap::BitMapBackendError::IOError(io) => Some(copy(io)),
        plotters_bitmap::BitMapBackendError::ImageError(img) => {
            let mut source = std::error::Error::source(img);
            while let Some(s) = source {
                if let Some(io) = s.downcast_ref::<std::io::Error>() {
                    return Some(copy(io));
                }
                source = s.source();
            }
            Some(std::io::Error::other(img.to_string()))
        }
        _ => None,
    }
}

/// Draws one chart into `<stem>.png` and `<stem>.svg`.
macro_rules! render {
    ($dir:expr, $stem:expr, $size:expr, $draw:expr) => {{
        let png = $dir.join(format!("{}.png", $stem));
        let svg = $dir.join(format!("{}.svg", $stem));
        {
            let root = BitMapBackend::new(&png, $size).into_drawing_area();
            ($draw)(&root).map_err(plot_err(&png))?;
            root.present().map_err(plot_err(&png))?;
        }
        {
            let root = SVGBackend::new(&svg, $size).into_drawing_area();
            ($draw)(&root).map_err(plot_err(&svg))?;
            root.present().map_err(plot_err(&svg))?;
        }
        vec![png, svg]
    }};
}
pub(crate) use render;

/// A drawing's result carrying what it placed.
type Drew<DB, T> = std::result::Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// An axis of numbers with its ticks given (the values run, whole numbers for counts); its
/// labels are formatted by the chart's own formatter.
struct Ticked {
    range: RangedCoordf64,
    ticks: Vec<f64>,
}

fn ticked(lo: f64, hi: f64, ticks: Vec<f64>) -> Ticked {
    Ticked {
        range: (lo..hi).into(),
        ticks,
    }
}

impl Ranged for Ticked {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn range(&self) -> std::ops::Range<f64> {
        self.range.range()
    }

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.range.map(value, limit)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }
}

/// Finite bands only (a metric not observed in a year is absent).
fn finite(bands: &[Band]) -> Vec<Band> {
    bands
        .iter()
        .copied()
        .filter(|b| {
            [b.year, b.q05, b.q25, b.q50, b.q75, b.q95]
                .iter()
                .all(|x| x.is_finite())
        })
        .collect()
}

/// A range that is never empty: a constant series gets a margin around its value.
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-9 {
        let pad = if lo.abs() > 1e-9 {
            lo.abs() * 0.05
        } else {
            0.5
        };
        return (lo - pad, hi + pad);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

/// The grey notes under a chart, `x` pixels from the left, the last line at the bottom.
fn footnotes<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    lines: &[String],
    x: i32,
) -> DrawResult<DB> {
    let (_, h) = root.dim_in_pixel();
    let n = lines.len() as i32;
    for (k, text) in lines.iter().enumerate() {
        root.draw(&Text::new(
            text.as_str(),
            (x, h as i32 - 20 - 17 * (n - 1 - k as i32)),
            (FONT, 13).into_font().color(&BLACK.mix(0.65)),
        ))?;
    }
    Ok(())
}

/// Pixels the notes under a chart need.
fn notes_height(lines: usize) -> u32 {
    12 + 17 * lines as u32
}

/// The mark of a legend entry.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Swatch {
    Line(Style),
    Circle(RGBColor),
    Hollow(RGBColor),
    Triangle(RGBColor),
}

/// Draws a legend in its own column (`area`, beside the plot): a heading, then each entry's mark
/// and its words, wrapped to the column. Returns the box it covers, in backend pixels.
fn legend_column<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    heading: &str,
    entries: &[(String, Swatch)],
) -> Drew<DB, layout::Rect> {
    let (x, mut y) = (14, 52);
    area.draw(&Text::new(
        heading,
        (x, y),
        (FONT, 15).into_font().style(FontStyle::Bold),
    ))?;
    y += 26;
    let chars = (layout::LEGEND_WIDTH as usize - 60) / 7;
    for (label, swatch) in entries {
        let mid = y + 8;
        match *swatch {
            Swatch::Line(s) => {
                area.draw(&Rectangle::new(
                    [(x, mid - 6), (x + 28, mid + 6)],
                    s.colour.mix(if s.baseline { 0.12 } else { 0.25 }).filled(),
                ))?;
                let style = s.colour.stroke_width(s.width());
                if s.dashed {
                    area.draw(&PathElement::new(vec![(x, mid), (x + 10, mid)], style))?;
                    area.draw(&PathElement::new(vec![(x + 18, mid), (x + 28, mid)], style))?;
                } else {
                    area.draw(&PathElement::new(vec![(x, mid), (x + 28, mid)], style))?;
                }
            }
            Swatch::Circle(c) => area.draw(&Circle::new((x + 14, mid), 5, c.filled()))?,
            Swatch::Hollow(c) => area.draw(&Circle::new((x + 14, mid), 3, c.stroke_width(1)))?,
            Swatch::Triangle(c) => area.draw(&TriangleMarker::new((x + 14, mid), 6, c.filled()))?,
        }
        for line in layout::wrap(label, chars) {
            area.draw(&Text::new(line, (x + 38, y), (FONT, 14)))?;
            y += 17;
        }
        y += 7;
    }
    let (bx, by) = area.get_base_pixel();
    let (w, _) = area.dim_in_pixel();
    Ok(layout::Rect {
        x0: bx,
        y0: by + 40,
        x1: bx + w as i32,
        y1: by + y,
    })
}

/// A vertical marker: the year a proposal starts, and what it says.
#[derive(Debug, Clone, PartialEq)]
struct Marker {
    year: f64,
    label: String,
}

/// The markers of a comparison (one per year in which some proposal starts) and the note on the
/// proposals that hold from the first year, from each scenario's `scenario.toml`.
fn start_markers(data: &ComparisonData) -> (Vec<Marker>, Vec<String>) {
    use crate::scenario::{PolicyStart, Scenario};
    let load = |r: &RunData| Scenario::load(&r.dir.join("scenario.toml")).ok();
    let Some(base) = data.runs.first().and_then(load) else {
        return (Vec::new(), Vec::new());
    };
    let mut by_year: std::collections::BTreeMap<i32, Vec<String>> = Default::default();
    let mut from_start = Vec::new();
    for run in &data.runs[1..] {
        let Some(s) = load(run) else { continue };
        let name = crate::names::scenario(&run.scenario);
        match s.policy_start(&base) {
            PolicyStart::Year {
                year,
                also_from_start,
            } => {
                if also_from_start {
                    from_start.push(format!("{name} (in part)"));
                }
                by_year.entry(year).or_default().push(name);
            }
            PolicyStart::FromStart => from_start.push(name),
            PolicyStart::Unchanged => {}
        }
    }
    let markers = by_year
        .iter()
        .map(|(&year, names)| Marker {
            year: year as f64,
            label: match names.as_slice() {
                [one] => format!("{one} from {year}"),
                many => format!("{} proposals from {year}", many.len()),
            },
        })
        .collect();
    let mut words = Vec::new();
    if !by_year.is_empty() {
        let years: Vec<String> = by_year
            .iter()
            .map(|(year, names)| format!("{year}: {}", names.join(", ")))
            .collect();
        words.push(format!(
            "dashed vertical lines: the year each proposal's change begins (from its scenario.toml): {}",
            years.join("; ")
        ));
    }
    if !from_start.is_empty() {
        words.push(format!(
            "holds from the first year (no line): {}",
            from_start.join(", ")
        ));
    }
    let note = words.iter().flat_map(|w| layout::wrap(w, 170)).collect();
    (markers, note)
}

/// Draws `markers` as dashed vertical lines over the whole height, each with its words at the
/// top, stacked so that they do not overlap.
fn draw_markers<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    markers: &[Marker],
    (y0, y1): (f64, f64),
) -> DrawResult<DB>
where
    X: plotters::coord::ranged1d::Ranged<ValueType = f64>,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
{
    let grey = RGBColor(80, 80, 80);
    for (k, m) in markers.iter().enumerate() {
        chart.draw_series(DashedLineSeries::new(
            vec![(m.year, y0), (m.year, y1)],
            6,
            4,
            grey.stroke_width(1),
        ))?;
        chart.draw_series(std::iter::once(
            EmptyElement::at((m.year, y1))
                + Text::new(
                    m.label.clone(),
                    (4, 4 + 16 * k as i32),
                    (FONT, 13).into_font().color(&grey),
                ),
        ))?;
    }
    Ok(())
}

/// One series of a fan chart.
struct Series {
    name: String,
    bands: Vec<Band>,
    style: Style,
}

/// What a fan chart shows.
struct FanSpec<'a> {
    title: String,
    y_desc: String,
    /// Whole-number ticks (counts of States).
    count: bool,
    /// The 90% band as well as the 50% one (a single run; in a comparison eight fans would
    /// hide one another).
    wide: bool,
    /// A line at zero (a chart of differences).
    zero: bool,
    legend_heading: &'a str,
    markers: &'a [Marker],
    notes: Vec<String>,
}

/// Where a fan chart put things, in backend pixels: the legend's box (if any) and every plotted
/// vertex (band edges and lines).
#[derive(Debug, Default)]
struct Drawn {
    legend: Option<layout::Rect>,
    points: Vec<(i32, i32)>,
}

type Edge = fn(&Band) -> f64;

/// Fan chart: each series' line (`q50`) and bands (`q25`..`q75`, and with `wide` `q05`..`q95`),
/// the legend in a column beside the plot. A baseline series is drawn in black: its band first
/// (under everything), its band edges and line last (on top).
fn fan<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    spec: &FanSpec,
    series: &[Series],
) -> Drew<DB, Drawn> {
    root.fill(&WHITE)?;
    let mut drawn = Drawn::default();
    let (w, _) = root.dim_in_pixel();
    let (plot, side) = if series.len() > 1 {
        let (p, _) = layout::legend_column(w);
        let (a, b) = root.split_horizontally(p.end);
        (a, Some(b))
    } else {
        (root.clone(), None)
    };
    let bands: Vec<(Edge, Edge, f64)> = if spec.wide {
        vec![(|b| b.q05, |b| b.q95, 0.15), (|b| b.q25, |b| b.q75, 0.3)]
    } else {
        vec![(|b| b.q25, |b| b.q75, 0.22)]
    };
    let (lo, hi) = (bands[0].0, bands[0].1);
    let all: Vec<&Band> = series.iter().flat_map(|s| s.bands.iter()).collect();
    let (x0, x1) = padded(
        all.iter().map(|b| b.year).fold(f64::INFINITY, f64::min),
        all.iter().map(|b| b.year).fold(f64::NEG_INFINITY, f64::max),
    );
    let zero = if spec.zero { 0.0 } else { f64::NAN };
    let (y0, y1) = padded(
        all.iter().map(|b| lo(b)).fold(zero, f64::min),
        all.iter().map(|b| hi(b)).fold(zero, f64::max),
    );
    let (y0, y1) = if spec.count {
        (y0.floor(), y1.ceil())
    } else {
        (y0, y1)
    };
    let xt = layout::ticks(x0, x1, 10, true);
    let yt = layout::ticks(y0, y1, 8, spec.count);
    let yd = layout::decimals(&yt);
    let mut chart = ChartBuilder::on(&plot)
        .caption(&spec.title, (FONT, 22))
        .margin(12)
        .margin_bottom(notes_height(spec.notes.len()))
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(ticked(x0, x1, xt), ticked(y0, y1, yt))?;
    chart
        .configure_mesh()
        .x_desc("year")
        .y_desc(spec.y_desc.as_str())
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.yd$}"))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .bold_line_style(BLACK.mix(0.08))
        .draw()?;
    footnotes(root, &spec.notes, 20)?;
    if all.is_empty() {
        let (w, h) = root.dim_in_pixel();
        root.draw(&Text::new(
            "no data",
            (w as i32 / 2 - 30, h as i32 / 2),
            (FONT, 20),
        ))?;
        return Ok(drawn);
    }
    if spec.zero {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x0, 0.0), (x1, 0.0)],
            BLACK.stroke_width(1),
        )))?;
    }
    for s in series {
        for &(lo, hi, alpha) in &bands {
            let alpha = if s.style.baseline { 0.12 } else { alpha };
            let mut points: Vec<(f64, f64)> = s.bands.iter().map(|b| (b.year, hi(b))).collect();
            points.extend(s.bands.iter().rev().map(|b| (b.year, lo(b))));
            drawn
                .points
                .extend(points.iter().map(|p| chart.backend_coord(p)));
            chart.draw_series(std::iter::once(Polygon::new(
                points,
                s.style.colour.mix(alpha).filled(),
            )))?;
        }
        if !s.style.baseline {
            median(&mut chart, &s.bands, s.style, &mut drawn)?;
        }
    }
    for s in series.iter().filter(|s| s.style.baseline) {
        let (lo, hi, _) = bands[bands.len() - 1];
        for edge in [lo, hi] {
            chart.draw_series(DashedLineSeries::new(
                s.bands.iter().map(|b| (b.year, edge(b))),
                5,
                4,
                BLACK.mix(0.7).stroke_width(1),
            ))?;
        }
        median(&mut chart, &s.bands, s.style, &mut drawn)?;
    }
    draw_markers(&mut chart, spec.markers, (y0, y1))?;
    if let Some(side) = side {
        let entries: Vec<(String, Swatch)> = series
            .iter()
            .map(|s| (s.name.clone(), Swatch::Line(s.style)))
            .collect();
        drawn.legend = Some(legend_column(&side, spec.legend_heading, &entries)?);
    }
    Ok(drawn)
}

/// One series' median (or mean) line, recorded in `drawn`.
fn median<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    bands: &[Band],
    s: Style,
    drawn: &mut Drawn,
) -> DrawResult<DB>
where
    X: plotters::coord::ranged1d::Ranged<ValueType = f64>,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
{
    let points: Vec<(f64, f64)> = bands.iter().map(|b| (b.year, b.q50)).collect();
    drawn
        .points
        .extend(points.iter().map(|p| chart.backend_coord(p)));
    let style = s.colour.stroke_width(s.width());
    if s.dashed {
        chart.draw_series(DashedLineSeries::new(points, 10, 6, style))?;
    } else {
        chart.draw_series(LineSeries::new(points, style))?;
    }
    Ok(())
}

/// Summary statistics of a sample for the distribution chart.
struct Spread {
    name: String,
    colour: usize,
    values: Vec<f64>,
    q: [f64; 5],
    mean: f64,
    ci: (f64, f64),
}

fn spread(name: &str, colour: usize, values: &[f64]) -> Option<Spread> {
    let mut scratch = Vec::new();
    let s = crate::stats::summarize(values, &mut scratch)?;
    Some(Spread {
        name: name.to_string(),
        colour,
        values: values.iter().copied().filter(|x| x.is_finite()).collect(),
        q: [s.q05, s.q25, s.q50, s.q75, s.q95],
        mean: s.mean,
        ci: (s.ci_low, s.ci_high),
    })
}

/// Horizontal box plots of the RTB index, one row per scenario sorted by mean, with the points,
/// the mean and its 95% confidence interval; the baseline of a comparison in black.
fn distribution<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rows: &[Spread],
    with_baseline: bool,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let lo = rows
        .iter()
        .flat_map(|r| r.values.iter())
        .copied()
        .fold(f64::INFINITY, f64::min);
    let hi = rows
        .iter()
        .flat_map(|r| r.values.iter())
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let (x0, x1) = padded(lo.min(0.0), hi.max(0.0));
    let n = rows.len().max(1) as f64;
    let notes = vec![
        "box: 25-75% of replications, whiskers: 5-95%, dots: replications; black dot and bar: mean and its 95% CI"
            .to_string(),
        names::RTB_SIGN_SHORT.to_string(),
    ];
    let rtb = names::metric("rtb");
    let xt = layout::ticks(x0, x1, 10, false);
    let xd = layout::decimals(&xt);
    let mut chart = ChartBuilder::on(root)
        .caption(format!("{} across replications", rtb.name), (FONT, 22))
        .margin(12)
        .margin_bottom(notes_height(notes.len()))
        .x_label_area_size(44)
        .y_label_area_size(320)
        .build_cartesian_2d(ticked(x0, x1, xt), -0.5..n - 0.5)?;
    let labels: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    chart
        .configure_mesh()
        .x_desc(format!(
            "{}: relative fall of mean protection, start to end",
            rtb.name
        ))
        .y_labels(rows.len().max(1))
        .x_label_formatter(&|x| format!("{x:.xd$}"))
        .y_label_formatter(&|y| {
            let k = y.round();
            if (y - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < labels.len() {
                labels[k as usize].clone()
            } else {
                String::new()
            }
        })
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .bold_line_style(BLACK.mix(0.08))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(0.0, -0.5), (0.0, n - 0.5)],
        BLACK.mix(0.5).stroke_width(2),
    )))?;
    for (k, r) in rows.iter().enumerate() {
        let y = k as f64;
        let c = Style::of(r.colour, with_baseline).colour;
        // Points, spread vertically by a fixed low-discrepancy sequence (no randomness).
        chart.draw_series(r.values.iter().enumerate().map(|(i, &v)| {
            let offset = ((i as f64 * 0.618_033_988_75).fract() - 0.5) * 0.5;
            Circle::new((v, y + offset), 2, c.mix(0.35).filled())
        }))?;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(r.q[1], y - 0.18), (r.q[3], y + 0.18)],
            c.mix(0.25).filled(),
        )))?;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(r.q[1], y - 0.18), (r.q[3], y + 0.18)],
            c.stroke_width(1),
        )))?;
        chart.draw_series([
            PathElement::new(
                vec![(r.q[2], y - 0.18), (r.q[2], y + 0.18)],
                c.stroke_width(2),
            ),
            PathElement::new(vec![(r.q[0], y), (r.q[1], y)], c.stroke_width(1)),
            PathElement::new(vec![(r.q[3], y), (r.q[4], y)], c.stroke_width(1)),
            PathElement::new(
                vec![(r.ci.0, y + 0.3), (r.ci.1, y + 0.3)],
                BLACK.stroke_width(3),
            ),
        ])?;
        chart.draw_series(std::iter::once(Circle::new(
            (r.mean, y + 0.3),
            4,
            BLACK.filled(),
        )))?;
    }
    footnotes(root, &notes, 20)?;
    Ok(())
}

/// One forum or treaty in the breadth-versus-depth chart.
struct Institution {
    name: String,
    treaty: bool,
    participants: f64,
    depth: f64,
    others: f64,
}

/// Participation against the protection of participants, one point per forum and treaty,
/// labelled in words where the labels do not collide ([`layout::place_labels`]), the legend in
/// a column beside the plot. Returns the labels' boxes and the markers' boxes.
fn breadth_depth<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    items: &[Institution],
) -> Drew<DB, (Vec<layout::Placed>, Vec<layout::Rect>)> {
    root.fill(&WHITE)?;
    let (w, _) = root.dim_in_pixel();
    let (p, _) = layout::legend_column(w);
    let (plot, side) = root.split_horizontally(p.end);
    let x1 = items.iter().map(|i| i.participants).fold(10.0, f64::max) * 1.08;
    let ys: Vec<f64> = items
        .iter()
        .flat_map(|i| [i.depth, i.others])
        .filter(|y| y.is_finite())
        .collect();
    let (y0, y1) = padded(
        ys.iter().copied().fold(f64::INFINITY, f64::min),
        ys.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let notes = vec![
        "filled: the participants' mean protection at the end; hollow on the same line: everyone else's (reference)"
            .to_string(),
    ];
    let xt = layout::ticks(0.0, x1, 10, true);
    let yt = layout::ticks(y0, y1, 8, false);
    let yd = layout::decimals(&yt);
    let mut chart = ChartBuilder::on(&plot)
        .caption(
            "Breadth versus depth: participation and the protection of participants",
            (FONT, 20),
        )
        .margin(12)
        .margin_bottom(notes_height(notes.len()))
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(ticked(0.0, x1, xt), ticked(y0, y1, yt))?;
    chart
        .configure_mesh()
        .x_desc("participation: States attending a meeting (forums) or party (treaties)")
        .y_desc("mean rights protection at the end (0-1)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.yd$}"))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .bold_line_style(BLACK.mix(0.08))
        .draw()?;
    let forum_c = colour(0);
    let treaty_c = colour(1);
    let shown: Vec<&Institution> = items.iter().filter(|i| i.depth.is_finite()).collect();
    let mut markers = Vec::new();
    for it in &shown {
        let c = if it.treaty { treaty_c } else { forum_c };
        if it.others.is_finite() {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(it.participants, it.others), (it.participants, it.depth)],
                c.mix(0.4),
            )))?;
            chart.draw_series(std::iter::once(Circle::new(
                (it.participants, it.others),
                3,
                c.mix(0.6).stroke_width(1),
            )))?;
            let (x, y) = chart.backend_coord(&(it.participants, it.others));
            markers.push(layout::Rect::new(x - 4, y - 4, 8, 8));
        }
        if it.treaty {
            chart.draw_series(std::iter::once(TriangleMarker::new(
                (it.participants, it.depth),
                6,
                c.filled(),
            )))?;
        } else {
            chart.draw_series(std::iter::once(Circle::new(
                (it.participants, it.depth),
                5,
                c.filled(),
            )))?;
        }
        let (x, y) = chart.backend_coord(&(it.participants, it.depth));
        markers.push(layout::Rect::new(x - 6, y - 6, 12, 12));
    }
    let font: TextStyle = (FONT, 13).into();
    let anchors: Vec<(i32, i32)> = shown
        .iter()
        .map(|it| chart.backend_coord(&(it.participants, it.depth)))
        .collect();
    let sizes: Vec<(i32, i32)> = shown
        .iter()
        .map(|it| {
            let (w, h) = root.estimate_text_size(&it.name, &font).unwrap_or((80, 14));
            (w as i32 + 2, h as i32 + 2)
        })
        .collect();
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let bounds = layout::Rect {
        x0: xr.start,
        y0: yr.start,
        x1: xr.end,
        y1: yr.end,
    };
    let placed = layout::place_labels(&anchors, &sizes, &markers, bounds);
    for ((it, p), anchor) in shown.iter().zip(&placed).zip(&anchors) {
        if p.leader {
            root.draw(&PathElement::new(
                vec![*anchor, p.rect.nearest(*anchor)],
                BLACK.mix(0.35),
            ))?;
        }
        root.draw(&Text::new(
            it.name.clone(),
            (p.rect.x0 + 1, p.rect.y0 + 1),
            font.color(&BLACK.mix(0.85)),
        ))?;
    }
    legend_column(
        &side,
        "Institutions",
        &[
            (
                "forum: States attending a meeting (mean over meetings)".to_string(),
                Swatch::Circle(forum_c),
            ),
            (
                "treaty: States party at the end".to_string(),
                Swatch::Triangle(treaty_c),
            ),
            (
                "everyone else (States not attending or not party)".to_string(),
                Swatch::Hollow(RGBColor(100, 100, 100)),
            ),
        ],
    )?;
    footnotes(root, &notes, 20)?;
    Ok((placed, markers))
}

fn regions<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panels: &[(String, Vec<Band>)],
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (title_area, body) = root.split_vertically(44);
    title_area.draw(&Text::new(
        format!(
            "{} by migration region (level 0-1, median and 50% band across replications)",
            names::metric("protection_mean").name
        ),
        (12, 10),
        (FONT, 20),
    ))?;
    let cols = 5usize;
    let rows = panels.len().div_ceil(cols).max(1);
    let all: Vec<&Band> = panels.iter().flat_map(|(_, b)| b.iter()).collect();
    let (y0, y1) = padded(
        all.iter().map(|b| b.q25).fold(f64::INFINITY, f64::min),
        all.iter().map(|b| b.q75).fold(f64::NEG_INFINITY, f64::max),
    );
    let (x0, x1) = padded(
        all.iter().map(|b| b.year).fold(f64::INFINITY, f64::min),
        all.iter().map(|b| b.year).fold(f64::NEG_INFINITY, f64::max),
    );
    for (area, (name, bands)) in body.split_evenly((rows, cols)).iter().zip(panels) {
        let mut chart = ChartBuilder::on(area)
            .caption(name, (FONT, 14))
            .margin(6)
            .x_label_area_size(22)
            .y_label_area_size(36)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_labels(3)
            .y_labels(4)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.2}"))
            .label_style((FONT, 11))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        if bands.is_empty() {
            continue;
        }
        let mut points: Vec<(f64, f64)> = bands.iter().map(|b| (b.year, b.q75)).collect();
        points.extend(bands.iter().rev().map(|b| (b.year, b.q25)));
        chart.draw_series(std::iter::once(Polygon::new(
            points,
            colour(0).mix(0.3).filled(),
        )))?;
        chart.draw_series(LineSeries::new(
            bands.iter().map(|b| (b.year, b.q50)),
            colour(0).stroke_width(2),
        ))?;
    }
    Ok(())
}

/// The axis words of a metric: its unit, or its name where it has none.
fn axis(metric: &str) -> String {
    let m = names::metric(metric);
    if m.unit.is_empty() { m.name } else { m.unit }
}

/// Draws the charts of a run's result folder, read back as `run`, into its `charts/`; returns the
/// files written.
fn draw_run(run: &RunData) -> Result<Vec<PathBuf>> {
    register_font();
    let out = run.dir.join("charts");
    std::fs::create_dir_all(&out).map_err(|source| Error::Write {
        path: out.clone(),
        source,
    })?;
    let mut files = Vec::new();
    let scenario = names::scenario(&run.scenario);
    let notes = vec!["line: median; bands: 50% and 90% of replications".to_string()];
    for metric in FAN_METRICS {
        let m = names::metric(metric);
        let series = vec![Series {
            name: scenario.clone(),
            bands: finite(run.summary.get(metric).map(Vec::as_slice).unwrap_or(&[])),
            style: Style::of(0, false),
        }];
        let spec = FanSpec {
            title: format!("{}: {}", m.name, scenario),
            y_desc: axis(metric),
            count: m.count,
            wide: true,
            zero: false,
            legend_heading: "",
            markers: &[],
            notes: notes.clone(),
        };
        files.extend(render!(
            out,
            format!("fan_{metric}"),
            (WIDTH, HEIGHT),
            |r| fan(r, &spec, &series)
        ));
    }
    // Ratifications: one fan per treaty.
    let treaties: Vec<Series> = run
        .summary
        .iter()
        .filter(|(m, _)| m.starts_with("parties_") && !m.starts_with("parties_high_income_"))
        .enumerate()
        .map(|(k, (m, b))| Series {
            name: names::treaty(m.trim_start_matches("parties_")),
            bands: finite(b),
            style: Style::of(k, false),
        })
        .collect();
    if !treaties.is_empty() {
        let spec = FanSpec {
            title: format!("Parties to each treaty: {scenario}"),
            y_desc: "States party".into(),
            count: true,
            wide: true,
            zero: false,
            legend_heading: "Treaties",
            markers: &[],
            notes: notes.clone(),
        };
        let width = if treaties.len() > 1 { WIDE } else { WIDTH };
        files.extend(render!(out, "fan_ratifications", (width, HEIGHT), |r| fan(
            r, &spec, &treaties
        )));
    }
    if let Some(rows) = spread(
        &scenario,
        0,
        run.replications
            .get("rtb")
            .map(Vec::as_slice)
            .unwrap_or(&[]),
    ) {
        let rows = vec![rows];
        files.extend(render!(out, "rtb_distribution", (WIDTH + 140, 340), |r| {
            distribution(r, &rows, false)
        }));
    }
    let items = institutions(run);
    if !items.is_empty() {
        files.extend(render!(out, "breadth_depth", (WIDE, HEIGHT + 80), |r| {
            breadth_depth(r, &items)
        }));
    }
    let panels = region_panels(run);
    if !panels.is_empty() {
        let height = 44 + 190 * panels.len().div_ceil(5) as u32;
        files.extend(render!(out, "protection_by_region", (1200, height), |r| {
            regions(r, &panels)
        }));
    }
    Ok(files)
}

/// Participation and depth of each forum and treaty, from `states.csv`.
fn institutions(run: &RunData) -> Vec<Institution> {
    let p: Vec<Vec<f64>> = [
        "protection_asylum",
        "protection_labour",
        "protection_trafficking",
    ]
    .iter()
    .filter_map(|c| run.state_column(c))
    .collect();
    if p.len() != 3 {
        return Vec::new();
    }
    let protection: Vec<f64> = (0..p[0].len())
        .map(|i| (p[0][i] + p[1][i] + p[2][i]) / 3.0)
        .collect();
    let mut items = Vec::new();
    for header in &run.state_header {
        let (name, treaty) = if let Some(n) = header.strip_prefix("ratified_") {
            (n, true)
        } else if let Some(n) = header.strip_prefix("attended_") {
            (n, false)
        } else {
            continue;
        };
        let Some(weights) = run.state_column(header) else {
            continue;
        };
        let total: f64 = weights.iter().sum();
        let others: f64 = weights.iter().map(|w| 1.0 - w).sum();
        let depth = weights
            .iter()
            .zip(&protection)
            .map(|(w, p)| w * p)
            .sum::<f64>()
            / total;
        let rest = weights
            .iter()
            .zip(&protection)
            .map(|(w, p)| (1.0 - w) * p)
            .sum::<f64>()
            / others;
        items.push(Institution {
            name: if treaty {
                names::treaty(name)
            } else {
                names::forum(name)
            },
            treaty,
            participants: total,
            depth: if total > 0.0 { depth } else { f64::NAN },
            others: if others > 0.0 { rest } else { f64::NAN },
        });
    }
    items
}

/// One panel per region with its human name (from `states.csv`).
fn region_panels(run: &RunData) -> Vec<(String, Vec<Band>)> {
    let k = run.state_header.iter().position(|h| h == "region");
    let mut names: Vec<String> = k
        .map(|k| {
            run.states
                .iter()
                .filter_map(|r| r.get(k).cloned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let bands = run
                .summary
                .get(&format!("protection_region_{}", region_slug(&name)))?;
            Some((name, finite(bands)))
        })
        .collect()
}

/// Draws the charts of comparison folder `dir`, read back as `data` (and of each scenario's
/// folder). Each scenario's charts are drawn in parallel (each chart is its own file, so the
/// bytes do not depend on the order).
fn draw_comparison(dir: &Path, data: &ComparisonData) -> Result<Vec<PathBuf>> {
    register_font();
    let out = dir.join("charts");
    std::fs::create_dir_all(&out).map_err(|source| Error::Write {
        path: out.clone(),
        source,
    })?;
    let per_run: Vec<Vec<PathBuf>> = data.runs.par_iter().map(draw_run).collect::<Result<_>>()?;
    let mut files: Vec<PathBuf> = per_run.into_iter().flatten().collect();
    let (markers, start_notes) = start_markers(data);
    let baseline = data
        .runs
        .first()
        .map(|r| names::scenario(&r.scenario))
        .unwrap_or_default();
    let mut notes = vec![format!(
        "line: median; band: 50% of replications; black: the baseline ({baseline}), its band's edges dashed"
    )];
    notes.extend(start_notes.iter().cloned());
    for metric in FAN_METRICS {
        let m = names::metric(metric);
        let series: Vec<Series> = data
            .runs
            .iter()
            .enumerate()
            .map(|(k, r)| Series {
                name: names::scenario(&r.scenario),
                bands: finite(r.summary.get(metric).map(Vec::as_slice).unwrap_or(&[])),
                style: Style::of(k, true),
            })
            .collect();
        let spec = FanSpec {
            title: m.name.clone(),
            y_desc: axis(metric),
            count: m.count,
            wide: false,
            zero: false,
            legend_heading: "Scenarios",
            markers: &markers,
            notes: notes.clone(),
        };
        files.extend(render!(
            out,
            format!("fan_{metric}"),
            (WIDE, HEIGHT + 40),
            |r| fan(r, &spec, &series)
        ));
    }
    files.extend(draw_differences(
        &out,
        data,
        &data::read_differences(dir)?,
        &markers,
        &start_notes,
    )?);
    let mut rows: Vec<Spread> = data
        .runs
        .iter()
        .enumerate()
        .filter_map(|(k, r)| {
            spread(
                &names::scenario(&r.scenario),
                k,
                r.replications.get("rtb").map(Vec::as_slice).unwrap_or(&[]),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.mean.total_cmp(&b.mean).then_with(|| a.name.cmp(&b.name)));
    if !rows.is_empty() {
        let height = 150 + 60 * rows.len() as u32;
        files.extend(render!(
            out,
            "rtb_distribution",
            (WIDTH + 140, height),
            |r| { distribution(r, &rows, true) }
        ));
    }
    Ok(files)
}

/// The charts of `differences_by_year.csv`: per metric, each proposal's mean paired difference
/// from the baseline by year with its 95% interval, and a line at zero
/// (`difference_<metric>`).
fn draw_differences(
    out: &Path,
    data: &ComparisonData,
    rows: &[data::DifferenceRow],
    markers: &[Marker],
    start_notes: &[String],
) -> Result<Vec<PathBuf>> {
    let mut metrics: Vec<&str> = Vec::new();
    for r in rows {
        if !metrics.contains(&r.metric.as_str()) {
            metrics.push(&r.metric);
        }
    }
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let baseline = names::scenario(&first.baseline);
    let mut notes = vec![
        format!(
            "line: mean of the paired differences (same seed in each replication); band: its 95% confidence interval over replications ({})",
            first.covers
        ),
        "above 0: higher than the baseline; below 0: lower".to_string(),
    ];
    notes.extend(start_notes.iter().cloned());
    let mut files = Vec::new();
    for metric in metrics {
        let m = names::metric(metric);
        // In the order and colours of the comparison's scenarios (0 is the baseline).
        let series: Vec<Series> = data
            .runs
            .iter()
            .enumerate()
            .skip(1)
            .map(|(k, run)| Series {
                name: names::scenario(&run.scenario),
                bands: rows
                    .iter()
                    .filter(|r| r.metric == metric && r.scenario == run.scenario)
                    .filter(|r| {
                        [r.year, r.mean, r.ci_low, r.ci_high]
                            .iter()
                            .all(|x| x.is_finite())
                    })
                    .map(|r| Band {
                        year: r.year,
                        mean: r.mean,
                        q05: r.ci_low,
                        q25: r.ci_low,
                        q50: r.mean,
                        q75: r.ci_high,
                        q95: r.ci_high,
                        ci_low: r.ci_low,
                        ci_high: r.ci_high,
                    })
                    .collect(),
                style: Style::of(k, true),
            })
            .filter(|s| !s.bands.is_empty())
            .collect();
        let spec = FanSpec {
            title: format!("{}: difference from {baseline}", m.name),
            y_desc: format!("{}, scenario minus baseline", axis(metric)),
            count: false,
            wide: false,
            zero: true,
            legend_heading: "Proposals",
            markers,
            notes: notes.clone(),
        };
        files.extend(render!(
            out,
            format!("difference_{metric}"),
            (WIDE, HEIGHT + 40),
            |r| fan(r, &spec, &series)
        ));
    }
    Ok(files)
}

/// A sweep read back from `sweep.csv`: parameter names, and per point the parameter values and
/// the columns by name.
struct SweepTable {
    keys: Vec<String>,
    rows: Vec<(Vec<f64>, std::collections::BTreeMap<String, f64>)>,
}

fn read_sweep(dir: &Path) -> Result<SweepTable> {
    let path = dir.join("sweep.csv");
    let mut r = csv::Reader::from_path(&path).map_err(|e| Error::Read {
        file: path.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let header: Vec<String> = r
        .headers()
        .map_err(|e| Error::Read {
            file: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let first_metric = header
        .iter()
        .position(|h| h.starts_with("rtb_"))
        .unwrap_or(header.len());
    let keys: Vec<String> = header[1..first_metric].to_vec();
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| Error::Read {
            file: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let v = |k: usize| {
            rec.get(k)
                .and_then(|s| s.parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        };
        let values = (1..first_metric).map(v).collect();
        let columns = (first_metric..header.len())
            .map(|k| (header[k].clone(), v(k)))
            .collect();
        rows.push((values, columns));
    }
    Ok(SweepTable { keys, rows })
}

/// The words of a sweep's metric: its display name, and the note on its sign for the RTB index.
fn sweep_metric(metric: &str) -> (String, Vec<String>) {
    let m = names::metric(metric);
    let notes = if metric.starts_with("rtb") {
        vec![names::RTB_SIGN_SHORT.to_string()]
    } else {
        Vec::new()
    };
    (m.name, notes)
}

/// One swept parameter: the metric's mean with its 95% CI band and 90% band of replications,
/// ticks at the values run.
fn sweep_line<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    table: &SweepTable,
    metric: &str,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (label, mut notes) = sweep_metric(metric);
    notes.insert(
        0,
        "line: mean across replications; dark band: its 95% CI; light band: 5-95% of replications; ticks: the values run"
            .to_string(),
    );
    let mut rows: Vec<(f64, f64, f64, f64, f64, f64)> = table
        .rows
        .iter()
        .map(|(v, c)| {
            let g = |s: &str| c.get(&format!("{metric}_{s}")).copied().unwrap_or(f64::NAN);
            (
                v[0],
                g("mean"),
                g("ci95_low"),
                g("ci95_high"),
                g("q05"),
                g("q95"),
            )
        })
        .filter(|r| r.1.is_finite())
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (x0, x1) = padded(
        rows.iter().map(|r| r.0).fold(f64::INFINITY, f64::min),
        rows.iter().map(|r| r.0).fold(f64::NEG_INFINITY, f64::max),
    );
    let (y0, y1) = padded(
        rows.iter().map(|r| r.4).fold(f64::INFINITY, f64::min),
        rows.iter().map(|r| r.5).fold(f64::NEG_INFINITY, f64::max),
    );
    let mut xt: Vec<f64> = rows.iter().map(|r| r.0).collect();
    xt.dedup();
    if xt.len() > 12 {
        xt = layout::ticks(x0, x1, 10, false);
    }
    let yt = layout::ticks(y0, y1, 8, false);
    let yd = layout::decimals(&yt);
    let mut chart = ChartBuilder::on(root)
        .caption(format!("{label} across the sweep"), (FONT, 22))
        .margin(12)
        .margin_bottom(notes_height(notes.len()))
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(ticked(x0, x1, xt), ticked(y0, y1, yt))?;
    chart
        .configure_mesh()
        .x_desc(names::parameter(&table.keys[0]))
        .y_desc(label.as_str())
        .x_label_formatter(&|x| layout::short(*x))
        .y_label_formatter(&|y| format!("{y:.yd$}"))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .bold_line_style(BLACK.mix(0.08))
        .draw()?;
    let c = colour(0);
    for (lo, hi, alpha) in [(4usize, 5usize, 0.12), (2, 3, 0.35)] {
        let pick = |r: &(f64, f64, f64, f64, f64, f64), k: usize| match k {
            2 => r.2,
            3 => r.3,
            4 => r.4,
            _ => r.5,
        };
        let mut pts: Vec<(f64, f64)> = rows.iter().map(|r| (r.0, pick(r, hi))).collect();
        pts.extend(rows.iter().rev().map(|r| (r.0, pick(r, lo))));
        if pts.len() >= 3 {
            chart.draw_series(std::iter::once(Polygon::new(pts, c.mix(alpha).filled())))?;
        }
    }
    chart.draw_series(LineSeries::new(
        rows.iter().map(|r| (r.0, r.1)),
        c.stroke_width(2),
    ))?;
    chart.draw_series(rows.iter().map(|r| Circle::new((r.0, r.1), 3, c.filled())))?;
    footnotes(root, &notes, 20)?;
    Ok(())
}

/// Blue (low) to white to red (high).
fn diverging(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let (a, b, u) = if t < 0.5 {
        ((33.0, 102.0, 172.0), (247.0, 247.0, 247.0), t * 2.0)
    } else {
        ((247.0, 247.0, 247.0), (178.0, 24.0, 43.0), t * 2.0 - 1.0)
    };
    let mix = |x: f64, y: f64| (x + (y - x) * u).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Light to dark blue, for a level (where no value is a natural centre).
fn sequential(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let mix = |x: f64, y: f64| (x + (y - x) * t).round() as u8;
    RGBColor(mix(239.0, 8.0), mix(243.0, 48.0), mix(255.0, 107.0))
}

/// A colour scale: a value's colour.
type Paint = Box<dyn Fn(f64) -> RGBColor>;

/// The colour scale of a heat map: for a quantity whose 0 means no change (the RTB index, a
/// difference) diverging and centred at 0 (blue below, red above, white at 0); for a level
/// sequential over its range. Returns the range of the colour bar and the colour of a value.
fn colour_scale(metric: &str, z0: f64, z1: f64) -> ((f64, f64), Paint) {
    if metric.starts_with("rtb") || metric.contains("difference") {
        let m = z0.abs().max(z1.abs()).max(1e-12);
        ((-m, m), Box::new(move |z| diverging((z + m) / (2.0 * m))))
    } else {
        let (a, b) = padded(z0, z1);
        ((a, b), Box::new(move |z| sequential((z - a) / (b - a))))
    }
}

/// Two swept parameters: the metric's mean as a heat map (a grid, ticks at the values run) or
/// coloured points (a Latin hypercube), with a labelled colour bar.
fn sweep_heat<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    table: &SweepTable,
    metric: &str,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (label, mut notes) = sweep_metric(metric);
    let (w, _) = root.dim_in_pixel();
    let (main, bar) = root.split_horizontally(w - 200);
    let cells: Vec<(f64, f64, f64)> = table
        .rows
        .iter()
        .map(|(v, c)| {
            (
                v[0],
                v[1],
                c.get(&format!("{metric}_mean"))
                    .copied()
                    .unwrap_or(f64::NAN),
            )
        })
        .filter(|c| c.2.is_finite())
        .collect();
    let ((z0, z1), paint) = colour_scale(
        metric,
        cells.iter().map(|c| c.2).fold(f64::INFINITY, f64::min),
        cells.iter().map(|c| c.2).fold(f64::NEG_INFINITY, f64::max),
    );
    let distinct = |k: usize| {
        let mut v: Vec<f64> = cells
            .iter()
            .map(|c| if k == 0 { c.0 } else { c.1 })
            .collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    let (xs, ys) = (distinct(0), distinct(1));
    let is_grid = xs.len() * ys.len() == cells.len() && xs.len() > 1 && ys.len() > 1;
    let half = |v: &[f64]| {
        if v.len() > 1 {
            (v[v.len() - 1] - v[0]) / (v.len() - 1) as f64 / 2.0
        } else {
            0.5
        }
    };
    let (hx, hy) = if is_grid {
        (half(&xs), half(&ys))
    } else {
        (0.0, 0.0)
    };
    let (x0, x1) = padded(
        xs.first().copied().unwrap_or(0.0) - hx,
        xs.last().copied().unwrap_or(1.0) + hx,
    );
    let (y0, y1) = padded(
        ys.first().copied().unwrap_or(0.0) - hy,
        ys.last().copied().unwrap_or(1.0) + hy,
    );
    // Ticks at the grid points (the values run); a Latin hypercube's many values get round ones.
    let (xt, yt) = if is_grid {
        (xs.clone(), ys.clone())
    } else {
        (
            layout::ticks(x0, x1, 8, false),
            layout::ticks(y0, y1, 8, false),
        )
    };
    notes.insert(
        0,
        if is_grid {
            "each cell: the mean across replications at one grid point (ticks: the values run)"
        } else {
            "each dot: the mean across replications at one design point"
        }
        .to_string(),
    );
    let mut chart = ChartBuilder::on(&main)
        .caption(format!("{label}: mean across replications"), (FONT, 22))
        .margin(12)
        .margin_bottom(notes_height(notes.len()))
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(ticked(x0, x1, xt), ticked(y0, y1, yt))?;
    chart
        .configure_mesh()
        .x_desc(names::parameter(&table.keys[0]))
        .y_desc(names::parameter(&table.keys[1]))
        .x_label_formatter(&|x| layout::short(*x))
        .y_label_formatter(&|y| layout::short(*y))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 15))
        .disable_mesh()
        .draw()?;
    if is_grid {
        chart.draw_series(cells.iter().map(|&(x, y, z)| {
            Rectangle::new([(x - hx, y - hy), (x + hx, y + hy)], paint(z).filled())
        }))?;
        // Each cell's value, in white on a dark cell.
        if cells.len() <= 100 {
            use plotters::style::text_anchor::{HPos, Pos, VPos};
            let centre = Pos::new(HPos::Center, VPos::Center);
            let cd = layout::decimals(&layout::ticks(z0, z1, 8, false)) + 1;
            chart.draw_series(cells.iter().map(|&(x, y, z)| {
                let RGBColor(r, g, b) = paint(z);
                let light = 0.299 * r as f64 + 0.587 * g as f64 + 0.114 * b as f64 > 140.0;
                let ink: &'static RGBColor = if light { &BLACK } else { &WHITE };
                Text::new(
                    format!("{z:.cd$}"),
                    (x, y),
                    TextStyle::from((FONT, 14).into_font())
                        .color(ink)
                        .pos(centre),
                )
            }))?;
        }
    } else {
        chart.draw_series(
            cells
                .iter()
                .map(|&(x, y, z)| Circle::new((x, y), 6, paint(z).filled())),
        )?;
    }
    let zt = layout::ticks(z0, z1, 8, false);
    let zd = layout::decimals(&zt);
    let mut legend = ChartBuilder::on(&bar)
        .margin(12)
        .margin_top(60)
        .margin_bottom(60 + notes_height(notes.len()))
        .margin_right(40)
        .y_label_area_size(60)
        .caption(
            if metric.starts_with("rtb") {
                "0 = no change"
            } else {
                ""
            },
            (FONT, 13),
        )
        .build_cartesian_2d(0.0..1.0, ticked(z0, z1, zt))?;
    legend
        .configure_mesh()
        .disable_x_axis()
        .disable_x_mesh()
        .disable_y_mesh()
        .y_desc(label.as_str())
        .y_label_formatter(&|z| format!("{z:.zd$}"))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()?;
    let steps = 60;
    legend.draw_series((0..steps).map(|k| {
        let a = z0 + (z1 - z0) * k as f64 / steps as f64;
        let b = z0 + (z1 - z0) * (k + 1) as f64 / steps as f64;
        Rectangle::new([(0.0, a), (1.0, b)], paint((a + b) / 2.0).filled())
    }))?;
    footnotes(root, &notes, 20)?;
    Ok(())
}

/// Draws the charts of a sweep folder (`sweep.csv`) into `dir/charts/`.
pub fn draw_sweep(dir: &Path) -> Result<Vec<PathBuf>> {
    register_font();
    let table = read_sweep(dir)?;
    let out = dir.join("charts");
    std::fs::create_dir_all(&out).map_err(|source| Error::Write {
        path: out.clone(),
        source,
    })?;
    let mut files = Vec::new();
    for metric in ["rtb", "protection_mean_end"] {
        match table.keys.len() {
            1 => files.extend(render!(
                out,
                format!("sweep_{metric}"),
                (WIDTH, HEIGHT),
                |r| { sweep_line(r, &table, metric) }
            )),
            2 => files.extend(render!(
                out,
                format!("sweep_{metric}"),
                (WIDTH + 100, HEIGHT + 40),
                |r| { sweep_heat(r, &table, metric) }
            )),
            _ => {}
        }
    }
    Ok(files)
}

/// Redraws the charts and the report of a result folder: a sweep, sensitivity analysis or
/// calibration ([`analysis::plot`]), a comparison if it holds `comparison.csv`, else a single
/// run.
pub fn plot(dir: &Path) -> Result<Vec<PathBuf>> {
    let files = if let Some(files) = analysis::plot(dir)? {
        files
    } else if dir.join("comparison.csv").exists() {
        // The folder is read once, for the charts and the report.
        let data = ComparisonData::read(dir)?;
        let files = draw_comparison(dir, &data)?;
        report::comparison_report(dir, &data)?;
        files
    } else {
        let run = RunData::read(dir)?;
        let files = draw_run(&run)?;
        report::run_report(&run)?;
        files
    };
    remove_stale(dir, &files)?;
    Ok(files)
}

/// Removes the charts (`.png`, `.svg`) of an earlier drawing that this one did not draw again
/// from the chart folders of `dir`, so that no chart of other data is left beside the new ones.
/// Other files are left alone.
fn remove_stale(dir: &Path, drawn: &[PathBuf]) -> Result<()> {
    let mut folders: Vec<PathBuf> = drawn
        .iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    folders.push(dir.join("charts"));
    folders.sort();
    folders.dedup();
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let chart = path.extension().is_some_and(|x| x == "png" || x == "svg");
            if chart && path.is_file() && !drawn.contains(&path) {
                std::fs::remove_file(&path).map_err(Error::write(&path))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn band(year: f64, v: f64) -> Band {
        Band {
            year,
            mean: v,
            q05: v - 0.1,
            q25: v - 0.05,
            q50: v,
            q75: v + 0.05,
            q95: v + 0.1,
            ci_low: v - 0.01,
            ci_high: v + 0.01,
        }
    }

    fn spec() -> FanSpec<'static> {
        FanSpec {
            title: "title".into(),
            y_desc: "level".into(),
            count: false,
            wide: true,
            zero: false,
            legend_heading: "Scenarios",
            markers: &[],
            notes: vec!["note".into()],
        }
    }

    fn series(named: &[(&str, Vec<Band>)]) -> Vec<Series> {
        named
            .iter()
            .enumerate()
            .map(|(k, (name, bands))| Series {
                name: name.to_string(),
                bands: bands.clone(),
                style: Style::of(k, true),
            })
            .collect()
    }

    fn draw_fan_with(spec: &FanSpec, named: &[(&str, Vec<Band>)], width: u32) -> Drawn {
        register_font();
        let mut buffer = vec![0u8; (width * HEIGHT * 3) as usize];
        let drawn;
        {
            let root = BitMapBackend::with_buffer(&mut buffer, (width, HEIGHT)).into_drawing_area();
            drawn = fan(&root, spec, &series(named)).expect("draws");
            root.present().expect("presents");
        }
        assert!(buffer.iter().any(|&b| b != 255), "something was drawn");
        drawn
    }

    fn draw_fan(named: &[(&str, Vec<Band>)]) {
        draw_fan_with(&spec(), named, WIDTH);
    }

    #[test]
    fn fan_handles_one_year_constant_series_empty_and_nan() {
        draw_fan(&[("one year", vec![band(2007.0, 0.5)])]);
        let constant = Band {
            q05: 0.3,
            q25: 0.3,
            q50: 0.3,
            q75: 0.3,
            q95: 0.3,
            ..band(2007.0, 0.3)
        };
        draw_fan(&[(
            "constant",
            vec![
                constant,
                Band {
                    year: 2008.0,
                    ..constant
                },
            ],
        )]);
        draw_fan(&[("empty", Vec::new())]);
        draw_fan(&[]);
        let nan = Band {
            q50: f64::NAN,
            ..band(2009.0, 0.5)
        };
        let cleaned = finite(&[band(2007.0, 0.5), nan, band(2010.0, 0.4)]);
        assert_eq!(cleaned.len(), 2);
        draw_fan(&[("a", cleaned.clone()), ("b", cleaned)]);
    }

    #[test]
    fn distribution_handles_one_replication_and_identical_values() {
        register_font();
        let rows: Vec<Spread> = [
            spread("one", 0, &[0.1]),
            spread("same", 1, &[0.2, 0.2, 0.2]),
            spread("zero", 2, &[0.0, 0.0]),
        ]
        .into_iter()
        .flatten()
        .collect();
        assert_eq!(rows.len(), 3);
        assert!(spread("none", 0, &[f64::NAN]).is_none());
        let mut buffer = vec![0u8; (WIDTH * 320 * 3) as usize];
        let root = BitMapBackend::with_buffer(&mut buffer, (WIDTH, 320)).into_drawing_area();
        distribution(&root, &rows, true).expect("draws");
        root.present().expect("presents");
    }

    /// The legend of a comparison's fan chart stands beside the plot: no band edge or line of
    /// any series falls inside its box, even where the series end high at the right (where the
    /// legend used to be drawn over them).
    #[test]
    fn the_legend_covers_no_plotted_point() {
        let rising = |top: f64| -> Vec<Band> {
            (0..50)
                .map(|k| band(2007.0 + k as f64, 0.3 + top * k as f64 / 49.0))
                .collect()
        };
        let named: Vec<(&str, Vec<Band>)> = [
            "Status quo",
            "UN platform on migrants' rights",
            "Regular High-Level Dialogues",
            "Protection mandate for secretariats",
            "Firewalls between services and enforcement",
            "Civil-society capacity",
            "Open legal channels",
            "All proposals together",
        ]
        .iter()
        .enumerate()
        .map(|(k, n)| (*n, rising(0.08 * k as f64)))
        .collect();
        let drawn = draw_fan_with(&spec(), &named, WIDE);
        let legend = drawn.legend.expect("a legend for eight series");
        assert!(drawn.points.len() > 8 * 50);
        for p in &drawn.points {
            assert!(
                !legend.contains(*p),
                "{p:?} lies under the legend {legend:?}"
            );
        }
        // Every entry fits in the chart.
        assert!(legend.y1 < HEIGHT as i32 && legend.x1 <= WIDE as i32);
    }

    #[test]
    fn the_baseline_is_black_and_thicker_and_the_others_are_distinct() {
        let base = Style::of(0, true);
        assert_eq!(base.colour, BLACK);
        assert!(base.baseline && base.width() > Style::of(1, true).width());
        let others: Vec<RGBColor> = (1..8).map(|k| Style::of(k, true).colour).collect();
        for (i, a) in others.iter().enumerate() {
            assert_ne!(*a, BLACK);
            assert!(others[i + 1..].iter().all(|b| b != a), "colour {i} repeats");
        }
        // Colours repeat only from the eighth proposal on, and then dashed.
        assert!(Style::of(8, true).dashed && !Style::of(7, true).dashed);
    }

    #[test]
    fn a_scale_whose_zero_means_no_change_is_centred_at_zero() {
        let ((lo, hi), paint) = colour_scale("rtb", -0.13, -0.05);
        assert_eq!((lo, hi), (-0.13, 0.13));
        assert_eq!(paint(0.0), RGBColor(247, 247, 247));
        assert_ne!(paint(-0.05), paint(0.05));
        let ((lo, hi), _) = colour_scale("protection_mean_end", 0.49, 0.53);
        assert!(lo > 0.4 && hi < 0.6, "a level keeps its own range");
    }

    #[test]
    fn padded_ranges_are_never_empty() {
        assert_eq!(padded(f64::INFINITY, f64::NEG_INFINITY), (0.0, 1.0));
        let (a, b) = padded(0.0, 0.0);
        assert!(a < b);
        let (a, b) = padded(2.0, 2.0);
        assert!(a < 2.0 && b > 2.0);
    }
}
