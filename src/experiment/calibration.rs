//! Calibration of the status quo against its targets (`docs/ODD.md`, section 7): GFMD attendance
//! per summit, treaty parties by 2015, the irregular share of migrant workers, migrant-stock growth,
//! the corridor pattern, and the record's recognition rates, refugees by host, bilateral stocks,
//! IMPIC levels and bilateral agreements, each only up to its table's cut-off. Each target is
//! reported with the model's mean and 90% interval across replications and a tolerance band that
//! the default parameters must meet (a test checks it); [`distance`] puts them on one scale for
//! the approximate Bayesian computation of `experiment::abc`.

use rayon::prelude::*;

use super::observe::metric_names;
use super::simulate_with;
use crate::error::{Error, Result};
use crate::scenario::Scenario;
use crate::stats::summarize;
use std::collections::BTreeMap;

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

/// Targets with one value per year of the record whose year-to-year swings the model has no
/// reason for (the GFMD's host and venue): their distance counts the mean deviation over the years.
pub const POOLED: &[&str] = &["gfmd_attendance"];

/// The distance of the model from the record over every target at once, the one approximate
/// Bayesian computation minimises: each target's deviation z = (model mean − observed) / h in
/// units of the half-width h of its tolerance band; per target name the mean of z² over its years
/// (for [`POOLED`] targets the square of the mean z); the root of the mean over names. 0 is a
/// perfect fit; 1 puts every target at the edge of its band.
pub fn distance(results: &[TargetResult]) -> f64 {
    let mut groups: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in results {
        let h = 0.5 * (r.tolerance.1 - r.tolerance.0);
        if h > 0.0 && r.mean.is_finite() && r.observed.is_finite() {
            groups
                .entry(r.target.as_str())
                .or_default()
                .push((r.mean - r.observed) / h);
        }
    }
    if groups.is_empty() {
        return f64::INFINITY;
    }
    let total: f64 = groups
        .iter()
        .map(|(name, z)| {
            let n = z.len() as f64;
            if POOLED.contains(name) {
                (z.iter().sum::<f64>() / n).powi(2)
            } else {
                z.iter().map(|x| x * x).sum::<f64>() / n
            }
        })
        .sum();
    (total / groups.len() as f64).sqrt()
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

/// What a calibration needs of a scenario and its world, computed once: the scenario cut to
/// 2016, the record's side of every target, and the States some targets count.
pub struct Context {
    pub scenario: Scenario,
    record: Record,
    icrmw: Option<usize>,
    large_destination: Vec<usize>,
}

impl Context {
    /// The calibration context of `scenario` (its run cut to end in 2016); the run must cover
    /// 2010-2015.
    pub fn new(scenario: &Scenario, facts: &Facts) -> Result<Context> {
        let mut s = scenario.clone();
        s.run.end_year = s.run.end_year.min(2016);
        if s.run.start_year > 2010 || s.run.end_year < 2015 {
            return Err(Error::Invalid {
                file: s.source.clone().into(),
                key: "run".into(),
                message: "calibration needs a run covering 2010-2015".into(),
            });
        }
        let icrmw = s.treaties.iter().position(|t| t.name == "ICRMW");
        // Large destination States of the North: high income and at least a million immigrants.
        let large_destination: Vec<usize> = (0..facts.n_states())
            .filter(|&i| facts.income_group[i] == IncomeGroup::High && facts.immigrants[i] >= 1e6)
            .collect();
        Ok(Context {
            scenario: s,
            record: Record::of(facts),
            icrmw,
            large_destination,
        })
    }
}

/// One replication as the calibration sees it: its trace and its readings.
#[derive(Debug, Clone)]
pub struct Observation {
    trace: Vec<f64>,
    readings: Readings,
}

/// Runs replication `r` of sweep point `point` of `scenario` (which must have the context's
/// years: use `Context::scenario` or a copy of it with other parameter values) and reads what the
/// targets need.
pub fn observe_replication(
    ctx: &Context,
    scenario: &Scenario,
    facts: &Facts,
    seed: u64,
    point: u64,
    r: u64,
) -> Result<Observation> {
    let mut reading = Reading::new(facts.n_states());
    let out = simulate_with(scenario, facts, seed, point, r, &mut |w| {
        let year = w.year - 1;
        reading.observe(w, year, &ctx.record);
        if year == 2015 {
            reading
                .values
                .insert("corridor_fit", corridor_fit(w, facts));
            if let Some(t) = ctx.icrmw {
                let large = ctx
                    .large_destination
                    .iter()
                    .filter(|&&i| w.treaties[t].party[i])
                    .count() as f64;
                reading.values.insert("large_destination", large);
            }
        }
    })?;
    Ok(Observation {
        trace: out.trace,
        readings: reading.finish(&ctx.record),
    })
}

/// Runs the scenario to 2016 and compares it with the targets.
pub fn calibrate(
    scenario: &Scenario,
    facts: &Facts,
    replications: u64,
    seed: u64,
    threads: usize,
) -> Result<Vec<TargetResult>> {
    let ctx = Context::new(scenario, facts)?;
    let pool = super::thread_pool(threads)?;
    let outputs: Vec<Result<Observation>> = pool.install(|| {
        (0..replications)
            .into_par_iter()
            .map(|r| observe_replication(&ctx, &ctx.scenario, facts, seed, 0, r))
            .collect()
    });
    let observations = outputs.into_iter().collect::<Result<Vec<_>>>()?;
    Ok(targets(&ctx, facts, &observations))
}

/// The targets beside the model, from observations of replications (of one parameter set, or of
/// draws from a posterior: then the model's mean and interval are over both).
pub fn targets(ctx: &Context, facts: &Facts, observations: &[Observation]) -> Vec<TargetResult> {
    let s = &ctx.scenario;
    let record = &ctx.record;
    let traces: Vec<&Vec<f64>> = observations.iter().map(|o| &o.trace).collect();
    let readings: Vec<&Readings> = observations.iter().map(|o| &o.readings).collect();
    let column = |key: &str| -> Vec<f64> {
        readings
            .iter()
            .map(|r| r.get(key).copied().unwrap_or(f64::NAN))
            .collect()
    };
    let names = metric_names(s, &facts.region_names);
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
    let large = column("large_destination");
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
    if let Some(v) = series("parties_Refugee_Convention", 2015) {
        push(
            "refugee_regime_parties",
            2015,
            148.0,
            "UNHCR, States parties to the 1951 Convention and/or its 1967 Protocol (148 in 2015)",
            &v,
            (140.0, 156.0),
        );
    }
    if let Some(v) = series("parties_Trafficking_Protocol", 2015) {
        push(
            "trafficking_protocol_parties",
            2015,
            159.0,
            "UN Treaty Collection, status of the Trafficking Protocol (about 159 parties by 2015; docs/ODD.md section 7)",
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
    let fits = column("corridor_fit");
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
    if record.recognition_states > 0 {
        push(
            "recognition_rate_mean",
            2012,
            record.recognition_mean,
            "data/asylum_decisions_2000_2012.csv (UNHCR): mean over the States with at least 200 decisions in 2007-2012 of their decision-weighted recognition rate",
            &column("recognition_mean"),
            (
                record.recognition_mean - 0.08,
                record.recognition_mean + 0.08,
            ),
        );
        push(
            "recognition_rate_spread",
            2012,
            record.recognition_sd,
            "the same States: standard deviation of their recognition rates",
            &column("recognition_sd"),
            (record.recognition_sd - 0.08, record.recognition_sd + 0.08),
        );
    }
    let fits = [
        (
            "refugees_by_host_log_correlation",
            ["refugee_fit_2010", "refugee_fit_2015"],
            "data/refugees_by_host_2000_2015.csv (UNHCR; perfect fit = 1)",
            0.7,
        ),
        (
            "bilateral_stock_log_correlation",
            ["bilateral_fit_2010", "bilateral_fit_2015"],
            "data/bilateral_stock_1990_2015.csv (UN DESA, by origin region and destination; perfect fit = 1)",
            0.8,
        ),
    ];
    for (target, keys, source, lowest) in fits {
        for (year, key) in [2010, 2015].into_iter().zip(keys) {
            let v = column(key);
            if v.iter().any(|x| x.is_finite()) {
                push(target, year, 1.0, source, &v, (lowest, 1.0));
            }
        }
    }
    if record.impic_states > 0 {
        for (key, observed, name) in [
            (
                "impic_enforcement",
                record.impic_enforcement,
                "impic_enforcement_2007",
            ),
            (
                "impic_legal",
                record.impic_legal,
                "impic_legal_channels_2007",
            ),
        ] {
            push(
                name,
                2007,
                observed,
                "data/impic_1980_2007.csv: mean over the 33 IMPIC States (enforcement = overall control; legal channels = 1 - labour entry restrictiveness)",
                &column(key),
                (observed - 0.03, observed + 0.03),
            );
        }
    }
    if record.agreements_per_year > 0.0 {
        push(
            "labour_agreements_signed_per_year",
            2016,
            record.agreements_per_year,
            "data/bilateral_labour_agreements_to_2007.csv: agreements between UN members signed per year 2000-2007 (the rate the model's 2008-2016 signatures are held to)",
            &column("signed_per_year"),
            (
                0.5 * record.agreements_per_year,
                1.5 * record.agreements_per_year,
            ),
        );
    }
    results
}

/// What the record says for the targets, computed once.
struct Record {
    /// States with at least 200 substantive decisions in 2007-2012, and their recognition rates.
    recognition: Vec<(usize, f64)>,
    recognition_states: usize,
    recognition_mean: f64,
    recognition_sd: f64,
    /// UNHCR refugees per host in 2010 and 2015.
    refugees: [Vec<f64>; 2],
    /// Bilateral stock by origin region and destination in 2010 and 2015 (`j * nr + r`).
    bilateral: [Vec<f64>; 2],
    n_regions: usize,
    impic: Vec<(usize, f64, f64)>,
    impic_states: usize,
    impic_enforcement: f64,
    impic_legal: f64,
    agreements_per_year: f64,
}

impl Record {
    fn of(facts: &Facts) -> Record {
        let h = &facts.history;
        let n = facts.n_states();
        let nr = facts.n_regions();
        let recognition: Vec<(usize, f64)> = if h.asylum.is_empty() {
            Vec::new()
        } else {
            (0..n)
                .filter_map(|i| {
                    let (rate, decisions) = h.recognition(i, 2007, 2012);
                    (decisions >= crate::world::history::MIN_DECISIONS).then_some((i, rate))
                })
                .collect()
        };
        let rates: Vec<f64> = recognition.iter().map(|x| x.1).collect();
        let (mean, sd) = mean_sd(&rates);
        let refugees_at = |year: i32| -> Vec<f64> {
            if h.refugees.is_empty() {
                return Vec::new();
            }
            (0..n)
                .map(|i| {
                    h.refugees[i]
                        .iter()
                        .find(|x| x.0 == year)
                        .map_or(f64::NAN, |x| x.1)
                })
                .collect()
        };
        let bilateral_at = |year: i32| -> Vec<f64> {
            let Some(table) = h.bilateral.get(&year) else {
                return Vec::new();
            };
            let mut out = vec![0.0; n * nr];
            for &(o, j, s) in table {
                out[j as usize * nr + facts.region[o as usize] as usize] += s;
            }
            out
        };
        let impic: Vec<(usize, f64, f64)> = (0..n)
            .filter_map(|i| {
                h.impic_at(i, 2007)
                    .filter(|x| x.year == 2007)
                    .map(|x| (i, x.control_overall, 1.0 - x.external_labour))
            })
            .collect();
        let (impic_enforcement, _) = mean_sd(&impic.iter().map(|x| x.1).collect::<Vec<_>>());
        let (impic_legal, _) = mean_sd(&impic.iter().map(|x| x.2).collect::<Vec<_>>());
        let signed = h
            .labour_agreements
            .iter()
            .filter(|a| (2000..=2007).contains(&a.year))
            .count();
        Record {
            recognition_states: recognition.len(),
            recognition,
            recognition_mean: mean,
            recognition_sd: sd,
            refugees: [refugees_at(2010), refugees_at(2015)],
            bilateral: [bilateral_at(2010), bilateral_at(2015)],
            n_regions: nr,
            impic_states: impic.len(),
            impic,
            impic_enforcement,
            impic_legal,
            agreements_per_year: signed as f64 / 8.0,
        }
    }
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    (mean, sd)
}

/// Pearson correlation of log(1 + x) over the pairs where the record has a positive value.
fn log_correlation(model: &[f64], data: &[f64]) -> f64 {
    let pairs: Vec<(f64, f64)> = model
        .iter()
        .zip(data)
        .filter(|(_, d)| d.is_finite() && **d > 0.0)
        .map(|(m, d)| (d.ln_1p(), m.max(0.0).ln_1p()))
        .collect();
    if pairs.len() < 3 {
        return f64::NAN;
    }
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

/// Named values read off one replication.
type Readings = BTreeMap<&'static str, f64>;

/// What one replication is observed for, year by year.
struct Reading {
    values: Readings,
    recognised: Vec<f64>,
    forced: Vec<f64>,
    signed_2007: f64,
}

impl Reading {
    fn new(n: usize) -> Reading {
        Reading {
            values: BTreeMap::new(),
            recognised: vec![0.0; n],
            forced: vec![0.0; n],
            signed_2007: f64::NAN,
        }
    }

    fn observe(&mut self, w: &World, year: i32, record: &Record) {
        if (2007..=2012).contains(&year) {
            for &(i, _) in &record.recognition {
                self.recognised[i] += w.arrivals_refugee[i];
                self.forced[i] += w.inflow[crate::world::FORCED][i];
            }
        }
        for (k, y) in [2010, 2015].into_iter().enumerate() {
            if year != y {
                continue;
            }
            if !record.refugees[k].is_empty() {
                let key = ["refugee_fit_2010", "refugee_fit_2015"][k];
                self.values
                    .insert(key, log_correlation(&w.stock_refugee, &record.refugees[k]));
            }
            if !record.bilateral[k].is_empty() {
                let nr = record.n_regions;
                let mut model = vec![0.0; w.n_states * nr];
                for r in 0..nr {
                    for j in 0..w.n_states {
                        model[j * nr + r] = w.network[r * w.n_states + j];
                    }
                }
                let key = ["bilateral_fit_2010", "bilateral_fit_2015"][k];
                self.values
                    .insert(key, log_correlation(&model, &record.bilateral[k]));
            }
        }
        if year == 2007 {
            let mean = |f: &dyn Fn(usize) -> f64| -> f64 {
                record.impic.iter().map(|x| f(x.0)).sum::<f64>() / record.impic.len().max(1) as f64
            };
            if !record.impic.is_empty() {
                self.values
                    .insert("impic_enforcement", mean(&|i| w.enforcement[i]));
                self.values.insert("impic_legal", mean(&|i| w.legal[i]));
            }
            self.signed_2007 = w.signed[0] as f64;
        }
        if year == 2016 && self.signed_2007.is_finite() {
            self.values.insert(
                "signed_per_year",
                (w.signed[0] as f64 - self.signed_2007) / 9.0,
            );
        }
    }

    fn finish(mut self, record: &Record) -> Readings {
        let rates: Vec<f64> = record
            .recognition
            .iter()
            .filter(|&&(i, _)| self.forced[i] > 0.0)
            .map(|&(i, _)| self.recognised[i] / self.forced[i])
            .collect();
        if !rates.is_empty() {
            let (mean, sd) = mean_sd(&rates);
            self.values.insert("recognition_mean", mean);
            self.values.insert("recognition_sd", sd);
        }
        self.values
    }
}

/// Refuses to calibrate a synthetic world: its States are generated, so the record's targets
/// (GFMD attendance, treaty parties, corridors) say nothing about it.
pub fn check_world(scenario: &Scenario) -> Result<()> {
    if scenario.world_kind == crate::scenario::WorldKind::Synthetic {
        return Err(crate::error::Error::Invalid {
            file: scenario.source.clone().into(),
            key: "world.kind".into(),
            message: "is \"synthetic\": calibration compares the UN-193 world with the record, which a generated world does not describe; expected world.kind = \"un193\"".into(),
        });
    }
    Ok(())
}
