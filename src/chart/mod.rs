//! Charts (PNG and SVG) and the HTML report of a finished run or comparison, drawn with plotters
//! from the CSV files alone, so `forumsim plot DIR` redraws them without running the model.
//!
//! Text is drawn with Noto Sans embedded in the binary (registered once), so charts render on a
//! machine with no fonts installed. The same CSV files give byte-identical PNG and SVG files: no
//! clock, no randomness, and points are spread by a fixed sequence.

pub mod data;
pub mod posterior;
pub mod report;

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::experiment::observe::region_slug;
use data::{Band, ComparisonData, RunData};

/// Headline metrics drawn as fan charts: (metric, title, axis label).
pub const FAN_METRICS: [(&str, &str, &str); 9] = [
    (
        "protection_mean",
        "Mean rights protection",
        "protection level (0-1)",
    ),
    (
        "protection_migrant_weighted",
        "Migrant-weighted rights protection",
        "protection level (0-1)",
    ),
    (
        "protection_asylum",
        "Asylum protection",
        "protection level (0-1)",
    ),
    (
        "protection_labour",
        "Labour protection",
        "protection level (0-1)",
    ),
    (
        "protection_trafficking",
        "Protection against trafficking",
        "protection level (0-1)",
    ),
    (
        "enforcement_mean",
        "Enforcement and border control",
        "level (0-1)",
    ),
    (
        "legal_channels_mean",
        "Openness of legal channels",
        "level (0-1)",
    ),
    (
        "pressure_mean",
        "Domestic political pressure",
        "level (0-1)",
    ),
    (
        "irregular_share",
        "Irregular share of the migrant stock",
        "share of the stock",
    ),
];

const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

const FONT: &str = "sans-serif";
const WIDTH: u32 = 960;
const HEIGHT: u32 = 560;

fn colour(k: usize) -> RGBColor {
    PALETTE[k % PALETTE.len()]
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

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

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

/// Fan chart: median line, 50% and 90% bands of each series, one colour per series.
fn fan<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    y_desc: &str,
    series: &[(String, Vec<Band>)],
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let all: Vec<&Band> = series.iter().flat_map(|(_, b)| b.iter()).collect();
    let (x0, x1) = padded(
        all.iter().map(|b| b.year).fold(f64::INFINITY, f64::min),
        all.iter().map(|b| b.year).fold(f64::NEG_INFINITY, f64::max),
    );
    let (y0, y1) = padded(
        all.iter().map(|b| b.q05).fold(f64::INFINITY, f64::min),
        all.iter().map(|b| b.q95).fold(f64::NEG_INFINITY, f64::max),
    );
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 24))
        .margin(12)
        .margin_bottom(26)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc("year")
        .y_desc(y_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    if all.is_empty() {
        let (w, h) = root.dim_in_pixel();
        root.draw(&Text::new(
            "no data",
            (w as i32 / 2 - 30, h as i32 / 2),
            (FONT, 20),
        ))?;
        return Ok(());
    }
    for (k, (name, bands)) in series.iter().enumerate() {
        let c = colour(k);
        if bands.is_empty() {
            continue;
        }
        for (lo, hi, alpha) in [(0usize, 1usize, 0.15), (2, 3, 0.3)] {
            let pick = |b: &Band, which: usize| match which {
                0 => b.q05,
                1 => b.q95,
                2 => b.q25,
                _ => b.q75,
            };
            let mut points: Vec<(f64, f64)> = bands.iter().map(|b| (b.year, pick(b, hi))).collect();
            points.extend(bands.iter().rev().map(|b| (b.year, pick(b, lo))));
            chart.draw_series(std::iter::once(Polygon::new(points, c.mix(alpha).filled())))?;
        }
        let line = chart.draw_series(LineSeries::new(
            bands.iter().map(|b| (b.year, b.q50)),
            c.stroke_width(2),
        ))?;
        if series.len() > 1 {
            line.label(name.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], c.filled()));
        }
    }
    if series.len() > 1 {
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    }
    footnote(root, "line: median; bands: 50% and 90% of replications", 76)?;
    Ok(())
}

/// The grey note under a chart, `x` pixels from the left.
fn footnote<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: &str,
    x: i32,
) -> DrawResult<DB> {
    let (_, h) = root.dim_in_pixel();
    root.draw(&Text::new(
        text,
        (x, h as i32 - 18),
        (FONT, 13).into_font().color(&BLACK.mix(0.6)),
    ))?;
    Ok(())
}

/// The legend box of the labelled series.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> DrawResult<DB> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.5))
        .draw()?;
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
/// the mean and its 95% confidence interval.
fn distribution<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rows: &[Spread],
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
    let mut chart = ChartBuilder::on(root)
        .caption("Race-to-the-bottom index across replications", (FONT, 24))
        .margin(12)
        .margin_bottom(26)
        .x_label_area_size(44)
        .y_label_area_size(190)
        .build_cartesian_2d(x0..x1, -0.5..n - 0.5)?;
    let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    chart
        .configure_mesh()
        .x_desc("RTB index: (P(0) - P(T)) / P(0), mean protection")
        .y_labels(rows.len().max(1))
        .y_label_formatter(&|y| {
            let k = y.round();
            if (y - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < names.len() {
                names[k as usize].clone()
            } else {
                String::new()
            }
        })
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(0.0, -0.5), (0.0, n - 0.5)],
        BLACK.mix(0.4),
    )))?;
    for (k, r) in rows.iter().enumerate() {
        let y = k as f64;
        let c = colour(r.colour);
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
    footnote(
        root,
        "box: 25-75%, whiskers: 5-95%; black dot and bar: mean and its 95% CI; dots: replications",
        200,
    )?;
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

fn breadth_depth<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    items: &[Institution],
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let x1 = items.iter().map(|i| i.participants).fold(10.0, f64::max) * 1.1;
    let ys: Vec<f64> = items
        .iter()
        .flat_map(|i| [i.depth, i.others])
        .filter(|y| y.is_finite())
        .collect();
    let (y0, y1) = padded(
        ys.iter().copied().fold(f64::INFINITY, f64::min),
        ys.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let mut chart = ChartBuilder::on(root)
        .caption("Breadth versus depth", (FONT, 24))
        .margin(12)
        .margin_bottom(26)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc("participation (States: parties, or attendees per meeting)")
        .y_desc("final mean protection (0-1)")
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let forum_c = colour(0);
    let treaty_c = colour(3);
    for it in items.iter().filter(|i| i.depth.is_finite()) {
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
        chart.draw_series(std::iter::once(
            EmptyElement::at((it.participants, it.depth))
                + Text::new(
                    it.name.clone(),
                    (8, -14),
                    (FONT, 12).into_font().color(&BLACK.mix(0.8)),
                ),
        ))?;
    }
    // Empty series carry the legend entries.
    chart
        .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
        .label("forum: attendees")
        .legend(move |(x, y)| Circle::new((x + 8, y), 5, forum_c.filled()));
    chart
        .draw_series(std::iter::empty::<TriangleMarker<(f64, f64), i32>>())?
        .label("treaty: parties")
        .legend(move |(x, y)| TriangleMarker::new((x + 8, y), 6, treaty_c.filled()));
    legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    footnote(
        root,
        "filled: participants; hollow on the same line: everyone else (reference)",
        76,
    )?;
    Ok(())
}

fn regions<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panels: &[(String, Vec<Band>)],
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (title_area, body) = root.split_vertically(44);
    title_area.draw(&Text::new(
        "Mean protection by region: level 0-1 by year (median and 50% band across replications)",
        (12, 10),
        (FONT, 22),
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
    for (metric, title, y) in FAN_METRICS {
        let bands = finite(run.summary.get(metric).map(Vec::as_slice).unwrap_or(&[]));
        let series = vec![(run.name.clone(), bands)];
        files.extend(render!(
            out,
            format!("fan_{metric}"),
            (WIDTH, HEIGHT),
            |r| fan(r, title, y, &series)
        ));
    }
    // Ratifications: one fan per treaty.
    let treaties: Vec<(String, Vec<Band>)> = run
        .summary
        .iter()
        .filter(|(m, _)| m.starts_with("parties_") && !m.starts_with("parties_high_income_"))
        .map(|(m, b)| (m.trim_start_matches("parties_").to_string(), finite(b)))
        .collect();
    if !treaties.is_empty() {
        files.extend(render!(out, "fan_ratifications", (WIDTH, HEIGHT), |r| fan(
            r,
            "Ratifications per treaty",
            "parties (States)",
            &treaties
        )));
    }
    if let Some(rows) = spread(
        &run.name,
        0,
        run.replications
            .get("rtb")
            .map(Vec::as_slice)
            .unwrap_or(&[]),
    ) {
        let rows = vec![rows];
        files.extend(render!(out, "rtb_distribution", (WIDTH, 320), |r| {
            distribution(r, &rows)
        }));
    }
    let items = institutions(run);
    if !items.is_empty() {
        files.extend(render!(out, "breadth_depth", (WIDTH, HEIGHT), |r| {
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
            name: name.to_string(),
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
    for (metric, title, y) in FAN_METRICS {
        let series: Vec<(String, Vec<Band>)> = data
            .runs
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    finite(r.summary.get(metric).map(Vec::as_slice).unwrap_or(&[])),
                )
            })
            .collect();
        files.extend(render!(
            out,
            format!("fan_{metric}"),
            (WIDTH, HEIGHT),
            |r| fan(r, title, y, &series)
        ));
    }
    let mut rows: Vec<Spread> = data
        .runs
        .iter()
        .enumerate()
        .filter_map(|(k, r)| {
            spread(
                &r.name,
                k,
                r.replications.get("rtb").map(Vec::as_slice).unwrap_or(&[]),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.mean.total_cmp(&b.mean).then_with(|| a.name.cmp(&b.name)));
    if !rows.is_empty() {
        let height = 120 + 60 * rows.len() as u32;
        files.extend(render!(out, "rtb_distribution", (WIDTH, height), |r| {
            distribution(r, &rows)
        }));
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

/// One swept parameter: the metric's mean with its 95% CI band and 90% band of replications.
fn sweep_line<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    table: &SweepTable,
    metric: &str,
    label: &str,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
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
    let mut chart = ChartBuilder::on(root)
        .caption(format!("{label} across the sweep"), (FONT, 24))
        .margin(12)
        .margin_bottom(26)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc(table.keys[0].as_str())
        .y_desc(label)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
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
    footnote(
        root,
        "line: mean across replications; dark band: its 95% CI; light band: 5-95% of replications",
        76,
    )?;
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

/// Two swept parameters: the metric's mean as a heat map (a grid) or coloured points (a Latin
/// hypercube), with a colour scale.
fn sweep_heat<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    table: &SweepTable,
    metric: &str,
    label: &str,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (main, bar) = root.split_horizontally(WIDTH - 130);
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
    let (z0, z1) = padded(
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
    let mut chart = ChartBuilder::on(&main)
        .caption(format!("{label}: mean across replications"), (FONT, 22))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc(table.keys[0].as_str())
        .y_desc(table.keys[1].as_str())
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let scale = |z: f64| (z - z0) / (z1 - z0);
    if is_grid {
        chart.draw_series(cells.iter().map(|&(x, y, z)| {
            Rectangle::new(
                [(x - hx, y - hy), (x + hx, y + hy)],
                diverging(scale(z)).filled(),
            )
        }))?;
    } else {
        chart.draw_series(
            cells
                .iter()
                .map(|&(x, y, z)| Circle::new((x, y), 6, diverging(scale(z)).filled())),
        )?;
    }
    let mut legend = ChartBuilder::on(&bar)
        .margin(12)
        .margin_top(60)
        .margin_bottom(60)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..1.0, z0..z1)?;
    legend
        .configure_mesh()
        .disable_x_axis()
        .disable_x_mesh()
        .y_desc(label)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()?;
    let steps = 50;
    legend.draw_series((0..steps).map(|k| {
        let a = z0 + (z1 - z0) * k as f64 / steps as f64;
        let b = z0 + (z1 - z0) * (k + 1) as f64 / steps as f64;
        Rectangle::new(
            [(0.0, a), (1.0, b)],
            diverging(scale((a + b) / 2.0)).filled(),
        )
    }))?;
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
    for (metric, label) in [
        ("rtb", "RTB index"),
        ("protection_mean_end", "final mean protection (0-1)"),
    ] {
        match table.keys.len() {
            1 => files.extend(render!(
                out,
                format!("sweep_{metric}"),
                (WIDTH, HEIGHT),
                |r| { sweep_line(r, &table, metric, label) }
            )),
            2 => files.extend(render!(
                out,
                format!("sweep_{metric}"),
                (WIDTH, HEIGHT),
                |r| { sweep_heat(r, &table, metric, label) }
            )),
            _ => {}
        }
    }
    Ok(files)
}

/// Redraws the charts and the report of a result folder: a comparison if it holds
/// `comparison.csv`, a sweep if it holds `sweep.csv`, else a single run.
pub fn plot(dir: &Path) -> Result<Vec<PathBuf>> {
    let files = if dir.join("sweep.csv").exists() {
        draw_sweep(dir)?
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

    fn draw_fan(series: &[(String, Vec<Band>)]) {
        register_font();
        let mut buffer = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buffer, (WIDTH, HEIGHT)).into_drawing_area();
            fan(&root, "title", "level", series).expect("draws");
            root.present().expect("presents");
        }
        assert!(buffer.iter().any(|&b| b != 255), "something was drawn");
    }

    #[test]
    fn fan_handles_one_year_constant_series_empty_and_nan() {
        draw_fan(&[("one year".into(), vec![band(2007.0, 0.5)])]);
        let constant = Band {
            q05: 0.3,
            q25: 0.3,
            q50: 0.3,
            q75: 0.3,
            q95: 0.3,
            ..band(2007.0, 0.3)
        };
        draw_fan(&[(
            "constant".into(),
            vec![
                constant,
                Band {
                    year: 2008.0,
                    ..constant
                },
            ],
        )]);
        draw_fan(&[("empty".into(), Vec::new())]);
        draw_fan(&[]);
        let nan = Band {
            q50: f64::NAN,
            ..band(2009.0, 0.5)
        };
        let cleaned = finite(&[band(2007.0, 0.5), nan, band(2010.0, 0.4)]);
        assert_eq!(cleaned.len(), 2);
        draw_fan(&[("a".into(), cleaned.clone()), ("b".into(), cleaned)]);
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
        distribution(&root, &rows).expect("draws");
        root.present().expect("presents");
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
