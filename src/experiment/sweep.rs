//! Sweeps: a scenario run at every point of a design, every point with the same replications
//! (seed streams of sweep point 0: the same crises and elections at every point, as in
//! `sensitivity`), so that points differ by their parameters and not by their luck, and their
//! differences against the first point are paired.

use std::time::Instant;

use super::design::{Design, Sweep};
use super::{ReplicationRecord, RunConfig, run};
use crate::error::Result;
use crate::scenario::Scenario;

/// Results of a sweep, by design point.
#[derive(Debug, Clone)]
pub struct SweepOutput {
    pub design: String,
    pub keys: Vec<String>,
    pub points: Vec<Vec<f64>>,
    pub records: Vec<Vec<ReplicationRecord>>,
    pub threads: usize,
    pub wall_seconds: f64,
}

/// The design's name as written to the manifest.
pub fn design_name(sweep: &Sweep) -> String {
    match sweep.design {
        Design::Grid => "grid".into(),
        Design::Lhs { samples } => format!("lhs ({samples} samples)"),
    }
}

/// The scenario of one design point; errors name the key path and the value.
pub fn point_scenario(base: &Scenario, sweep: &Sweep, values: &[f64]) -> Result<Scenario> {
    base.with_values(
        "sweep",
        sweep
            .params
            .iter()
            .map(|p| p.key.as_str())
            .zip(values.iter().copied()),
    )
}

/// Runs every design point. Points are checked before any is run.
pub fn run_sweep(
    base: &Scenario,
    sweep: &Sweep,
    config: &RunConfig,
    progress: &mut dyn FnMut(u64),
) -> Result<SweepOutput> {
    let started = Instant::now();
    let points = sweep.points(config.seed);
    let scenarios: Vec<Scenario> = points
        .iter()
        .map(|v| point_scenario(base, sweep, v))
        .collect::<Result<_>>()?;
    let mut records = Vec::with_capacity(points.len());
    for (k, scenario) in scenarios.iter().enumerate() {
        let facts = scenario.facts()?;
        // Common random numbers: every point runs the replications of point 0.
        let c = config.clone();
        let done_before = k as u64 * config.replications;
        let out = run(scenario, &facts, &c, &mut |d| progress(done_before + d))?;
        records.push(out.records.into_vec()?);
    }
    Ok(SweepOutput {
        design: design_name(sweep),
        keys: sweep.params.iter().map(|p| p.key.clone()).collect(),
        points,
        records,
        threads: config.threads,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Paired differences of every design point against point 0 (the baseline point): for each
/// quantity of `output::SWEEP_METRICS`, the mean of the replication-by-replication differences
/// and its 95% interval, pairing replications by index.
pub fn paired_against_first(
    out: &SweepOutput,
) -> Vec<(usize, &'static str, crate::stats::Summary)> {
    let mut rows = Vec::new();
    let Some(base) = out.records.first() else {
        return rows;
    };
    let mut scratch = Vec::new();
    for (k, records) in out.records.iter().enumerate().skip(1) {
        for m in crate::output::SWEEP_METRICS {
            let diffs: Vec<f64> = records
                .iter()
                .filter_map(|r| {
                    base.iter()
                        .find(|b| b.replication == r.replication)
                        .map(|b| {
                            crate::output::sweep_metric(r, m) - crate::output::sweep_metric(b, m)
                        })
                })
                .filter(|d| d.is_finite())
                .collect();
            if let Some(s) = crate::stats::summarize(&diffs, &mut scratch) {
                rows.push((k, m, s));
            }
        }
    }
    rows
}
