//! Charts of a calibration with uncertainty: the marginal posterior of every parameter against
//! its prior range, and the posterior predictive check of every target, each in units of its
//! tolerance band so that all targets share one axis.

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{FONT, plot_err, register_font};
use crate::error::{Error, Result};
use crate::experiment::abc::Posterior;
use crate::experiment::calibration::TargetResult;

const BINS: usize = 20;

/// Draws `charts/posterior_marginals.png` and `charts/posterior_check.png` into `dir`.
pub fn draw(dir: &Path, posterior: &Posterior, check: &[TargetResult]) -> Result<Vec<PathBuf>> {
    register_font();
    let charts = dir.join("charts");
    std::fs::create_dir_all(&charts).map_err(Error::write(&charts))?;
    let marginals = charts.join("posterior_marginals.png");
    draw_marginals(&marginals, posterior)?;
    let checked = charts.join("posterior_check.png");
    draw_check(&checked, check)?;
    Ok(vec![marginals, checked])
}

fn draw_marginals(path: &Path, posterior: &Posterior) -> Result<()> {
    let k = posterior.priors.len().max(1);
    let columns = 3usize.min(k);
    let rows = k.div_ceil(columns);
    let (w, h) = (360 * columns as u32, 80 + 240 * rows as u32);
    let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
    let err = plot_err(path);
    root.fill(&WHITE).map_err(&err)?;
    let (title, body) = root.split_vertically(60);
    title
        .draw_text(
            "Posterior of each calibrated parameter (bars) over its prior range (the x axis)",
            &(FONT, 22).into_font().color(&BLACK),
            (16, 18),
        )
        .map_err(&err)?;
    let panels = body.split_evenly((rows, columns));
    for (p, (prior, panel)) in posterior.priors.iter().zip(panels.iter()).enumerate() {
        let width = (prior.high - prior.low) / BINS as f64;
        let mut counts = [0.0; BINS];
        for theta in &posterior.particles {
            let b = (((theta[p] - prior.low) / width) as usize).min(BINS - 1);
            counts[b] += 1.0 / posterior.particles.len() as f64;
        }
        let top = counts.iter().cloned().fold(0.0, f64::max).max(1e-9) * 1.15;
        let mut chart = ChartBuilder::on(panel)
            .caption(&prior.key, (FONT, 16))
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(prior.low..prior.high, 0.0..top)
            .map_err(&err)?;
        chart
            .configure_mesh()
            .x_labels(4)
            .y_labels(4)
            .y_desc("share of particles")
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 12))
            .draw()
            .map_err(&err)?;
        chart
            .draw_series(counts.iter().enumerate().map(|(b, &c)| {
                let x0 = prior.low + b as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, c)], RGBColor(0, 114, 178).filled())
            }))
            .map_err(&err)?;
        let median = posterior.quantile(p, 0.5);
        chart
            .draw_series(LineSeries::new(
                [(median, 0.0), (median, top)],
                RGBColor(213, 94, 0).stroke_width(2),
            ))
            .map_err(&err)?;
    }
    root.present().map_err(&err)?;
    Ok(())
}

fn draw_check(path: &Path, check: &[TargetResult]) -> Result<()> {
    let n = check.len().max(1);
    let (w, h) = (960u32, 120 + 22 * n as u32);
    let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
    let err = plot_err(path);
    root.fill(&WHITE).map_err(&err)?;
    let scale = |r: &TargetResult, x: f64| {
        let half = 0.5 * (r.tolerance.1 - r.tolerance.0);
        if half > 0.0 {
            (x - r.observed) / half
        } else {
            0.0
        }
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Posterior predictive check: the model's 90% interval (bar) and mean (dot) beside the record (0)",
            (FONT, 18),
        )
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(300)
        .build_cartesian_2d(-3.0..3.0, 0.0..n as f64)
        .map_err(&err)?;
    let labels: Vec<String> = check
        .iter()
        .map(|r| format!("{} {}", r.target, r.year))
        .collect();
    chart
        .configure_mesh()
        .x_desc("deviation from the record, in half-widths of the target's tolerance band (the band is -1 to 1)")
        .y_labels(n)
        .y_label_formatter(&|y: &f64| {
            let i = y.floor() as usize;
            labels.get(i).cloned().unwrap_or_default()
        })
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .disable_y_mesh()
        .draw()
        .map_err(&err)?;
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(-1.0, 0.0), (1.0, n as f64)],
            RGBColor(230, 230, 230).filled(),
        )))
        .map_err(&err)?;
    for (i, r) in check.iter().enumerate() {
        let y = i as f64 + 0.5;
        let (lo, hi) = (
            scale(r, r.q05).clamp(-3.0, 3.0),
            scale(r, r.q95).clamp(-3.0, 3.0),
        );
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(lo, y), (hi, y)],
                RGBColor(0, 114, 178).stroke_width(4),
            )))
            .map_err(&err)?;
        chart
            .draw_series(std::iter::once(Circle::new(
                (scale(r, r.mean).clamp(-3.0, 3.0), y),
                4,
                RGBColor(213, 94, 0).filled(),
            )))
            .map_err(&err)?;
    }
    root.present().map_err(&err)?;
    Ok(())
}

/// Draws `charts/explain.png`: each channel's part of the effect with its 95% interval, the
/// rest and the total, as horizontal bars on one axis.
pub fn draw_explanation(
    dir: &Path,
    e: &crate::experiment::explain::Explanation,
) -> Result<PathBuf> {
    register_font();
    let charts = dir.join("charts");
    std::fs::create_dir_all(&charts).map_err(Error::write(&charts))?;
    let path = charts.join("explain.png");
    let mut rows: Vec<(String, crate::experiment::explain::Share)> = e
        .channels
        .iter()
        .map(|c| (c.name.clone(), c.share))
        .collect();
    rows.push(("other".into(), e.rest));
    rows.push(("total effect".into(), e.total));
    let lo = rows.iter().map(|r| r.1.low).fold(0.0, f64::min);
    let hi = rows.iter().map(|r| r.1.high).fold(0.0, f64::max);
    let pad = 0.05 * (hi - lo).max(1e-6);
    let n = rows.len();
    let root = BitMapBackend::new(&path, (960, 140 + 30 * n as u32)).into_drawing_area();
    let err = plot_err(&path);
    root.fill(&WHITE).map_err(&err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "Why {} differs from {}: the effect on the RTB index by channel",
                e.variant, e.base
            ),
            (FONT, 18),
        )
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(260)
        .build_cartesian_2d((lo - pad)..(hi + pad), 0.0..n as f64)
        .map_err(&err)?;
    let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    chart
        .configure_mesh()
        .x_desc("effect on the RTB index (negative: the variant holds protection up)")
        .y_labels(0)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 13))
        .disable_y_mesh()
        .draw()
        .map_err(&err)?;
    for (i, (_, s)) in rows.iter().enumerate() {
        let y = i as f64;
        let colour = if i + 1 == n {
            RGBColor(80, 80, 80)
        } else {
            RGBColor(0, 114, 178)
        };
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(0.0, y + 0.2), (s.mean, y + 0.8)],
                colour.filled(),
            )))
            .map_err(&err)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(s.low, y + 0.5), (s.high, y + 0.5)],
                BLACK.stroke_width(2),
            )))
            .map_err(&err)?;
    }
    // Row names drawn by hand, centred on their bars: the mesh's own labels sit on ticks that
    // plotters chooses, which need not be the rows.
    let style = TextStyle::from((FONT, 13).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (i, label) in labels.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(lo - pad, i as f64 + 0.5));
        root.draw(&Text::new(label.clone(), (x - 8, y), style.clone()))
            .map_err(&err)?;
    }
    root.present().map_err(&err)?;
    drop(chart);
    drop(root);
    drop(err);
    Ok(path)
}
