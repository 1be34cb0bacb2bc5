//! Charts and reports of the analyses: a sweep (`sweep.csv`), a sensitivity analysis
//! (`sensitivity.csv`: a bar chart of the Sobol indices per output) and a calibration
//! (`calibration.csv`; the posterior charts of `calibrate --posterior` are drawn from the
//! posterior in memory by [`super::posterior`], and kept as they are by a redraw).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::Table;
use super::{DrawResult, FONT, WIDTH, colour, plot_err, register_font, report};
use crate::error::{Error, Result};
use crate::names;

/// Draws the charts and writes the report of an analysis folder; `None` when `dir` is not one
/// (a run or a comparison).
pub fn plot(dir: &Path) -> Result<Option<Vec<PathBuf>>> {
    let files = if dir.join("sweep.csv").exists() {
        let files = super::draw_sweep(dir)?;
        report::sweep_report(dir)?;
        files
    } else if dir.join("sensitivity.csv").exists() {
        let files = draw_sensitivity(dir)?;
        report::sensitivity_report(dir)?;
        files
    } else if dir.join("calibration.csv").exists() {
        let files = existing_charts(dir);
        report::calibration_report(dir)?;
        files
    } else {
        return Ok(None);
    };
    Ok(Some(files))
}

/// The charts already in `dir/charts` (drawn from memory, not from the files: kept by a redraw).
fn existing_charts(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("charts"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "png" || x == "svg"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// One parameter's Sobol indices: (parameter, S1, its interval, ST, its interval).
type Indices = (String, f64, (f64, f64), f64, (f64, f64));

/// Draws `charts/sensitivity_<output>.png` (and .svg) for each output of a Sobol analysis: S1
/// and ST per parameter as bars with their intervals, the most influential on top. A Morris
/// analysis draws none (its table says it all).
pub fn draw_sensitivity(dir: &Path) -> Result<Vec<PathBuf>> {
    register_font();
    let table = Table::read(&dir.join("sensitivity.csv"))?;
    let out = dir.join("charts");
    let mut files = Vec::new();
    let mut outputs: Vec<String> = Vec::new();
    for r in &table.rows {
        let o = table.text(r, "output").to_string();
        if table.text(r, "method") == "sobol" && !outputs.contains(&o) {
            outputs.push(o);
        }
    }
    if outputs.is_empty() {
        return Ok(files);
    }
    std::fs::create_dir_all(&out).map_err(Error::write(&out))?;
    for output in outputs {
        let mut rows: Vec<Indices> = table
            .rows
            .iter()
            .filter(|r| table.text(r, "output") == output)
            .map(|r| {
                let n = |c: &str| table.number(r, c);
                (
                    table.text(r, "parameter").to_string(),
                    n("first_order"),
                    (n("first_order_ci95_low"), n("first_order_ci95_high")),
                    n("total"),
                    (n("total_ci95_low"), n("total_ci95_high")),
                )
            })
            .collect();
        rows.sort_by(|a, b| b.3.total_cmp(&a.3).then_with(|| a.0.cmp(&b.0)));
        let height = 150 + 56 * rows.len() as u32;
        let title = names::metric(&output).name;
        files.extend(super::render!(
            out,
            format!("sensitivity_{output}"),
            (WIDTH, height),
            |r| bars(r, &title, &rows)
        ));
    }
    Ok(files)
}

fn bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    rows: &[Indices],
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let lo = rows
        .iter()
        .map(|r| r.2.0.min(r.1))
        .filter(|x| x.is_finite())
        .fold(0.0f64, f64::min);
    let hi = rows
        .iter()
        .map(|r| r.4.1.max(r.3))
        .filter(|x| x.is_finite())
        .fold(1.0f64, f64::max);
    let n = rows.len().max(1) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("Sensitivity of {}", title.to_lowercase()),
            (FONT, 22),
        )
        .margin(12)
        .margin_right(24)
        .x_label_area_size(44)
        .y_label_area_size(300)
        .build_cartesian_2d(lo..hi, 0.0..n)?;
    let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    chart
        .configure_mesh()
        .x_desc("share of the output's variance (0 = none, 1 = all)")
        .y_labels(rows.len() * 2 + 1)
        .y_label_formatter(&|y| {
            let k = (n - y - 0.5).round();
            if (n - y - 0.5 - k).abs() < 0.01 && k >= 0.0 {
                labels.get(k as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .disable_y_mesh()
        .draw()?;
    for (k, r) in rows.iter().enumerate() {
        let y = n - k as f64 - 0.5;
        for (offset, value, ci, c) in [(0.17, r.1, r.2, colour(0)), (-0.17, r.3, r.4, colour(1))] {
            if !value.is_finite() {
                continue;
            }
            let (y0, y1) = (y + offset - 0.13, y + offset + 0.13);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, y0), (value, y1)],
                c.mix(0.8).filled(),
            )))?;
            if ci.0.is_finite() && ci.1.is_finite() {
                let yc = y + offset;
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(ci.0, yc), (ci.1, yc)],
                    BLACK.stroke_width(2),
                )))?;
            }
        }
    }
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(0.0, 0.0), (0.0, n)],
        BLACK.stroke_width(1),
    )))?;
    for (k, (label, c)) in [
        ("S1: the parameter alone", colour(0)),
        ("ST: with its interactions", colour(1)),
    ]
    .into_iter()
    .enumerate()
    {
        let x = 330 + 260 * k as i32;
        root.draw(&Rectangle::new(
            [(x, 40), (x + 18, 54)],
            c.mix(0.8).filled(),
        ))?;
        root.draw(&Text::new(label, (x + 24, 38), (FONT, 15)))?;
    }
    Ok(())
}
