//! Calibration of the status quo against the targets of MODEL.md section 9: GFMD attendance per
//! summit, parties of the migrant-workers convention and the trafficking protocol by 2015, the
//! irregular share of migrant workers, the 2015 corridor pattern and migrant-stock growth
//! 2010-2015. Each target is reported with the model's mean and 90% interval across replications
//! and a tolerance band that the default parameters must meet (a test checks it).

use rayon::prelude::*;

use super::observe::metric_names;
use super::simulate_with;
use crate::error::{Error, Result};
use crate::scenario::Scenario;
use crate::stats::summarize;
use crate::world::{Facts, IncomeGroup, World};

const GFMD_COUNTS: &str = include_str!("../../data/gfmd_counts.csv");

/// Migrant stock of UN members, 2010 and 2015 (UN DESA 2019/2020, `data/stocks.csv`).
pub const STOCK_2010: f64 = 216_229_155.0;
pub const STOCK_2015: f64 = 243_051_991.0;

/// One target beside the model.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetResult {
    pub target: String,
    pub year: i32,
    pub observed: f64,
    pub source: String,
    pub n: usize,
    pub mean: f64,
    pub q05: f64,
    pub q95: f64,
    /// The band the model mean must lie in.
    pub tolerance: (f64, f64),
}

impl TargetResult {
    pub fn within(&self) -> bool {
        self.mean >= self.tolerance.0 && self.mean <= self.tolerance.1
    }
}

/// GFMD summits with a State count: (year, count).
pub fn gfmd_counts() -> Vec<(i32, f64)> {
    let mut out = Vec::new();
    let mut reader = csv::Reader::from_reader(GFMD_COUNTS.as_bytes());
    for rec in reader.records().flatten() {
        if let (Some(Ok(year)), Some(Ok(count))) = (
            rec.get(0).map(str::parse::<i32>),
            rec.get(2).map(str::parse::<f64>),
        ) {
            out.push((year, count));
        }
    }
    out
}

/// Pearson correlation of log stock shares, model against the 2015 corridor table, over the
/// (origin group, destination) pairs with a positive stock in the data.
pub fn corridor_fit(world: &World, facts: &Facts) -> f64 {
    let nr = world.n_regions;
    let ng = facts.corridor_groups.len();
    if ng == 0 || facts.corridors.is_empty() {
        return f64::NAN;
    }
    let group_of: Vec<usize> = facts
        .region_group
        .iter()
        .map(|g| {
            facts
                .corridor_groups
                .iter()
                .position(|x| x == g)
                .unwrap_or(0)
        })
        .collect();
    let mut model = vec![0.0; ng * world.n_states];
    for j in 0..world.n_states {
        for r in 0..nr {
            model[group_of[r] * world.n_states + j] += world.network[r * world.n_states + j];
        }
    }
    let model_total: f64 = model.iter().sum();
    let data_total: f64 = facts.corridors.iter().map(|c| c.2).sum();
    let pairs: Vec<(f64, f64)> = facts
        .corridors
        .iter()
        .filter(|c| c.2 > 0.0)
        .map(|&(g, j, stock)| {
            let m = model[g * world.n_states + j as usize].max(1.0);
            ((stock / data_total).ln(), (m / model_total).ln())
        })
        .collect();
    let n = pairs.len() as f64;
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx).powi(2);
        syy += (y - my).powi(2);
    }
    sxy / (sxx * syy).sqrt()
}

/// Runs the scenario to 2016 and compares it with the targets.
pub fn calibrate(
    scenario: &Scenario,
    facts: &Facts,
    replications: u64,
    seed: u64,
    threads: usize,
) -> Result<Vec<TargetResult>> {
    let mut s = scenario.clone();
    s.run.end_year = s.run.end_year.min(2016);
    if s.run.start_year > 2010 || s.run.end_year < 2015 {
        return Err(Error::Invalid {
            file: s.source.clone().into(),
            key: "run".into(),
            message: "calibration needs a run covering 2010-2015".into(),
        });
    }
    let pool = super::thread_pool(threads)?;
    let icrmw = s.treaties.iter().position(|t| t.name == "ICRMW");
    // Large destination States of the North: high income and at least a million immigrants.
    let large_destination: Vec<usize> = (0..facts.n_states())
        .filter(|&i| facts.income_group[i] == IncomeGroup::High && facts.immigrants[i] >= 1e6)
        .collect();
    let outputs: Vec<Result<(Vec<f64>, f64, f64)>> = pool.install(|| {
        (0..replications)
            .into_par_iter()
            .map(|r| {
                let (mut fit, mut large) = (f64::NAN, f64::NAN);
                let out = simulate_with(&s, facts, seed, 0, r, &mut |w| {
                    if w.year - 1 == 2015 {
                        fit = corridor_fit(w, facts);
                        if let Some(t) = icrmw {
                            large = large_destination
                                .iter()
                                .filter(|&&i| w.treaties[t].party[i])
                                .count() as f64;
                        }
                    }
                })?;
                Ok((out.trace, fit, large))
            })
            .collect()
    });
    let mut traces = Vec::with_capacity(outputs.len());
    let mut fits = Vec::with_capacity(outputs.len());
    let mut large = Vec::with_capacity(outputs.len());
    for o in outputs {
        let (trace, fit, l) = o?;
        traces.push(trace);
        fits.push(fit);
        large.push(l);
    }
    let names = metric_names(&s, &facts.region_names);
    let nm = names.len();
    let start = s.run.start_year;
    let series = |metric: &str, year: i32| -> Option<Vec<f64>> {
        let m = names.iter().position(|n| n == metric)?;
        let t = (year - start) as usize;
        Some(traces.iter().map(|tr| tr[t * nm + m]).collect())
    };
    let mut results = Vec::new();
    let mut scratch = Vec::new();
    let mut push =
        |target: &str, year: i32, observed: f64, source: &str, values: &[f64], tol: (f64, f64)| {
            if let Some(sm) = summarize(values, &mut scratch) {
                results.push(TargetResult {
                    target: target.into(),
                    year,
                    observed,
                    source: source.into(),
                    n: sm.n,
                    mean: sm.mean,
                    q05: sm.q05,
                    q95: sm.q95,
                    tolerance: tol,
                });
            }
        };
    for (year, count) in gfmd_counts() {
        if (start..=s.run.end_year).contains(&year)
            && let Some(v) = series("attendance_GFMD", year)
        {
            push(
                "gfmd_attendance",
                year,
                count,
                "data/gfmd_counts.csv",
                &v,
                (count - 30.0, count + 30.0),
            );
        }
    }
    if let Some(v) = series("parties_ICRMW", 2015) {
        push(
            "icrmw_parties",
            2015,
            48.0,
            "UN Treaty Collection (48 parties, 2015)",
            &v,
            (36.0, 60.0),
        );
    }
    if let Some(v) = series("parties_high_income_ICRMW", 2015) {
        push(
            "icrmw_high_income_parties",
            2015,
            3.0,
            "UN Treaty Collection (Chile, Uruguay, Seychelles; approximate)",
            &v,
            (0.0, 10.0),
        );
    }
    if large.iter().any(|x| x.is_finite()) {
        push(
            "icrmw_large_destination_parties",
            2015,
            0.0,
            "UN Treaty Collection (no high-income State with over 1 million immigrants)",
            &large,
            (0.0, 1.0),
        );
    }
    if let Some(v) = series("parties_Trafficking_Protocol", 2015) {
        push(
            "trafficking_protocol_parties",
            2015,
            159.0,
            "MODEL.md section 9 (about 159)",
            &v,
            (140.0, 180.0),
        );
    }
    if let Some(v) = series("irregular_share_workers", 2015) {
        push(
            "irregular_share_workers",
            2015,
            0.15,
            "ILO estimate (about 15%)",
            &v,
            (0.10, 0.20),
        );
    }
    if let (Some(a), Some(b)) = (
        series("migrant_stock_millions", 2010),
        series("migrant_stock_millions", 2015),
    ) {
        let growth: Vec<f64> = a.iter().zip(&b).map(|(x, y)| y / x).collect();
        push(
            "migrant_stock_growth_2010_2015",
            2015,
            STOCK_2015 / STOCK_2010,
            "UN DESA 2019/2020 (216 to 243 million)",
            &growth,
            (1.07, 1.18),
        );
    }
    if fits.iter().any(|f| f.is_finite()) {
        push(
            "corridor_log_share_correlation",
            2015,
            1.0,
            "data/corridors_2015.csv (perfect fit = 1)",
            &fits,
            (0.8, 1.0),
        );
    }
    Ok(results)
}
