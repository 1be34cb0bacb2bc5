//! Robustness of a comparison to the behavioural parameters: every scenario of a comparison run
//! at every point of a design over uncertain parameters (a Latin hypercube, or a Saltelli design
//! for Sobol indices), with the same seeds at every point and in every scenario, so that each
//! proposal's effect is a paired difference at each point. It answers: in what share of the
//! plausible parameter space does each proposal lower the RTB index, how far, does the ranking of
//! the proposals hold, and (with Sobol) which parameters decide each effect.

use rayon::prelude::*;

use super::design::{Design, Sweep, SweepParam};
use super::sensitivity::{Factor, SobolIndex, saltelli_design, sobol_indices};
use crate::error::{Error, Result};
use crate::scenario::{Kind, Scenario};
use crate::stats::{quantile_sorted, t_975};

/// The behavioural parameters varied by default, with their plausible ranges and the reason for
/// each range (`docs/ODD.md`, section 7.2).
pub const DEFAULT_FACTORS: [(&str, f64, f64, &str); 12] = [
    (
        "policy.noise",
        0.02,
        0.5,
        "a fifth to five times the default noise of choice",
    ),
    (
        "policy.delta",
        0.01,
        0.04,
        "half to twice the yearly step of policy",
    ),
    (
        "policy.c_rights",
        0.5,
        2.0,
        "half to twice the value of rights",
    ),
    (
        "policy.c_irregular",
        0.5,
        2.0,
        "half to twice the cost of irregular arrivals",
    ),
    (
        "policy.c_protection_cost",
        0.2,
        0.8,
        "half to twice the running cost of protection",
    ),
    (
        "policy.w_reputation",
        0.5,
        2.0,
        "half to twice the norm cost of a forum's statement",
    ),
    (
        "pressure.a_irregular",
        0.04,
        0.16,
        "half to twice the push of arrivals on pressure",
    ),
    (
        "pressure.rho",
        0.1,
        0.4,
        "half to twice the reversion of pressure",
    ),
    (
        "pressure.kappa_discourse",
        0.025,
        0.1,
        "half to twice the calming by discourse",
    ),
    (
        "forum_dynamics.eta",
        0.25,
        1.0,
        "half to twice the adoption of peers' practices",
    ),
    (
        "forum_dynamics.peer_audience",
        0.0,
        0.5,
        "no audience behind closed doors to twice it",
    ),
    (
        "flows.beta_protection_forced",
        1.0,
        3.0,
        "half to one and a half times the pull of asylum",
    ),
];

/// The default factors.
pub fn default_factors() -> Vec<Factor> {
    DEFAULT_FACTORS
        .iter()
        .map(|&(key, low, high, _)| Factor {
            key: key.into(),
            low,
            high,
        })
        .collect()
}

/// How the points are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A Latin hypercube of `samples` points.
    Lhs { samples: usize },
    /// A full grid of `samples` evenly spaced values per parameter, both ends included (for
    /// studying one or two parameters, such as the step and the noise of policy choice).
    Grid { samples: usize },
    /// The Saltelli design of base size `samples` (samples × (k + 2) points), for Sobol indices of
    /// each proposal's effect.
    Sobol { samples: usize },
}

/// A paired effect of a scenario against the base at one point: mean, sd and 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effect {
    pub mean: f64,
    pub sd: f64,
    pub low: f64,
    pub high: f64,
}

impl Effect {
    fn of(diffs: &[f64]) -> Effect {
        let n = diffs.len() as f64;
        let mean = diffs.iter().sum::<f64>() / n;
        let sd = if diffs.len() > 1 {
            (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        let half = if diffs.len() > 1 {
            t_975(diffs.len() - 1) * sd / n.sqrt()
        } else {
            0.0
        };
        Effect {
            mean,
            sd,
            low: mean - half,
            high: mean + half,
        }
    }
}

/// What the design says of one proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposalSummary {
    pub scenario: String,
    /// Its effect on the RTB index at the default parameters.
    pub at_default: Effect,
    /// Share of the points at which it lowers the RTB index (mean effect below zero).
    pub share_lowering: f64,
    /// Share of the points at which it lowers it with a 95% interval below zero.
    pub share_lowering_clearly: f64,
    /// Share of the points at which it raises it with a 95% interval above zero.
    pub share_raising_clearly: f64,
    /// Median, 5% and 95% of its mean effect across the points.
    pub median: f64,
    pub q05: f64,
    pub q95: f64,
    /// Sobol indices of its effect, per factor (Sobol method only).
    pub sobol: Option<Vec<SobolIndex>>,
}

/// Results of a robustness analysis.
#[derive(Debug, Clone)]
pub struct RobustnessOutput {
    pub method: Method,
    pub factors: Vec<Factor>,
    /// Scenario names; the first is the base.
    pub scenarios: Vec<String>,
    /// Parameter values of each point.
    pub points: Vec<Vec<f64>>,
    /// Mean RTB index per point and scenario.
    pub rtb: Vec<Vec<f64>>,
    /// Effect per point and proposal (scenarios after the first).
    pub effects: Vec<Vec<Effect>>,
    /// The base's mean RTB index at the default parameters.
    pub base_at_default: f64,
    pub proposals: Vec<ProposalSummary>,
    /// Points at which the proposals rank as at the default parameters (by mean effect).
    pub rank_agreement: usize,
    /// Points at which the best proposal is the default's best.
    pub best_agreement: usize,
    pub replications: u64,
    pub seed: u64,
    pub wall_seconds: f64,
}

/// Parses `KEY=LOW:HIGH,...` (a key alone takes its default range of [`DEFAULT_FACTORS`], or
/// half to one and a half times the scenario's value) into factors checked against `scenario`.
pub fn parse_factors(text: &str, scenario: &Scenario) -> Result<Vec<Factor>> {
    super::sensitivity::parse_factors_with(
        text,
        scenario,
        &|key, value, spec| match DEFAULT_FACTORS.iter().find(|f| f.0 == key) {
            Some(&(_, low, high, _)) => (low, high),
            None => (
                (value * 0.5).clamp(spec.min, spec.max),
                (value * 1.5).clamp(spec.min, spec.max),
            ),
        },
    )
}

/// Runs every scenario at every point of the design, and at the default parameters, with
/// replications 0..`replications` of sweep point 0 at every point (the same crises and elections
/// everywhere). The first scenario is the base.
#[allow(clippy::too_many_arguments)]
pub fn analyse(
    scenarios: &[Scenario],
    factors: &[Factor],
    method: Method,
    replications: u64,
    seed: u64,
    threads: usize,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RobustnessOutput> {
    let started = std::time::Instant::now();
    // The design spans the parameters itself: a posterior the scenarios run over plays no part
    // (every other parameter stays at its point value).
    let scenarios: Vec<Scenario> = scenarios.iter().map(Scenario::at_point_values).collect();
    let scenarios = &scenarios[..];
    if scenarios.len() < 2 {
        return Err(Error::Invalid {
            file: "robustness".into(),
            key: "scenarios".into(),
            message: "expected a base and at least one scenario to compare with it".into(),
        });
    }
    let facts = scenarios[0].facts()?;
    for s in &scenarios[1..] {
        if s.world_kind != scenarios[0].world_kind
            || s.run.start_year != scenarios[0].run.start_year
            || s.run.end_year != scenarios[0].run.end_year
            || s.world.n_states != scenarios[0].world.n_states
        {
            return Err(Error::Invalid {
                file: s.source.clone().into(),
                key: "run".into(),
                message: format!(
                    "{} must have the same world and years as {} to be compared with it",
                    s.name, scenarios[0].name
                ),
            });
        }
    }
    for f in factors {
        if f.key == "world.n_states" || f.key == "world.n_regions" {
            return Err(Error::Invalid {
                file: "--params".into(),
                key: f.key.clone(),
                message: "the size of the world cannot vary within one analysis".into(),
            });
        }
    }
    let k = factors.len();
    let unit: Vec<Vec<f64>> = match method {
        Method::Lhs { samples } | Method::Grid { samples } => {
            let design = match method {
                Method::Grid { .. } => Design::Grid,
                _ => Design::Lhs { samples },
            };
            let sweep = Sweep {
                design,
                params: (0..k)
                    .map(|i| SweepParam {
                        key: i.to_string(),
                        from: 0.0,
                        to: 1.0,
                        steps: samples,
                    })
                    .collect(),
            };
            sweep.points(seed)
        }
        Method::Sobol { samples } => {
            saltelli_design(samples, k, &mut super::design::design_rng(seed))
        }
    };
    let points: Vec<Vec<f64>> = unit
        .iter()
        .map(|u| {
            factors
                .iter()
                .zip(u)
                .map(|(f, &x)| {
                    let v = f.low + (f.high - f.low) * x;
                    let integer = scenarios[0]
                        .parameter(&f.key)
                        .is_ok_and(|(_, spec)| spec.kind == Kind::Int);
                    if integer { v.round() } else { v }
                })
                .collect()
        })
        .collect();
    // Every (point, scenario) pair, the default parameters last.
    let mut variants: Vec<Vec<Scenario>> = Vec::with_capacity(points.len() + 1);
    for values in &points {
        let row = scenarios
            .iter()
            .map(|s| {
                s.with_values(
                    "--params",
                    factors
                        .iter()
                        .map(|f| f.key.as_str())
                        .zip(values.iter().copied()),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        variants.push(row);
    }
    variants.push(scenarios.to_vec());
    let pool = super::thread_pool(threads)?;
    let reps = replications.max(1);
    let n_scen = scenarios.len();
    let total = variants.len() as u64 * n_scen as u64 * reps;
    let mut rtb_reps: Vec<Vec<Vec<f64>>> = Vec::with_capacity(variants.len());
    let chunk = (4 * threads.max(1)).div_ceil(n_scen).max(1);
    let mut done = 0;
    for start in (0..variants.len()).step_by(chunk) {
        let end = (start + chunk).min(variants.len());
        let tasks: Vec<(usize, usize)> = (start..end)
            .flat_map(|p| (0..n_scen).map(move |s| (p, s)))
            .collect();
        let results: Vec<Result<Vec<f64>>> = pool.install(|| {
            tasks
                .par_iter()
                .map(|&(p, s)| {
                    (0..reps)
                        .map(|r| {
                            Ok(super::simulate(&variants[p][s], &facts, seed, 0, r)?
                                .record
                                .rtb)
                        })
                        .collect()
                })
                .collect()
        });
        let mut results = results.into_iter();
        for _ in start..end {
            let row = (0..n_scen)
                .map(|_| results.next().expect("one result per task"))
                .collect::<Result<Vec<_>>>()?;
            rtb_reps.push(row);
        }
        done += (end - start) as u64 * n_scen as u64 * reps;
        progress(done.min(total), total);
    }
    let effect_at = |row: &[Vec<f64>], s: usize| {
        let diffs: Vec<f64> = row[s].iter().zip(&row[0]).map(|(a, b)| a - b).collect();
        Effect::of(&diffs)
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let default_row = rtb_reps.pop().expect("the default point");
    let rtb: Vec<Vec<f64>> = rtb_reps
        .iter()
        .map(|row| row.iter().map(|v| mean(v)).collect())
        .collect();
    let effects: Vec<Vec<Effect>> = rtb_reps
        .iter()
        .map(|row| (1..n_scen).map(|s| effect_at(row, s)).collect())
        .collect();
    let at_default: Vec<Effect> = (1..n_scen).map(|s| effect_at(&default_row, s)).collect();
    let ranking = |e: &[Effect]| {
        let mut order: Vec<usize> = (0..e.len()).collect();
        order.sort_by(|&a, &b| e[a].mean.total_cmp(&e[b].mean));
        order
    };
    let default_rank = ranking(&at_default);
    let rank_agreement = effects
        .iter()
        .filter(|e| ranking(e) == default_rank)
        .count();
    let best_agreement = effects
        .iter()
        .filter(|e| ranking(e)[0] == default_rank[0])
        .count();
    let n_points = points.len() as f64;
    let mut sobol_rng = super::design::design_rng(seed ^ 0x50b01);
    let proposals = (1..n_scen)
        .map(|s| {
            let column: Vec<Effect> = effects.iter().map(|e| e[s - 1]).collect();
            let mut means: Vec<f64> = column.iter().map(|e| e.mean).collect();
            let sobol = match method {
                Method::Sobol { samples } => {
                    Some(sobol_indices(&means, samples, k, 1000, &mut sobol_rng))
                }
                Method::Lhs { .. } | Method::Grid { .. } => None,
            };
            means.sort_by(f64::total_cmp);
            ProposalSummary {
                scenario: scenarios[s].name.clone(),
                at_default: at_default[s - 1],
                share_lowering: column.iter().filter(|e| e.mean < 0.0).count() as f64 / n_points,
                share_lowering_clearly: column.iter().filter(|e| e.high < 0.0).count() as f64
                    / n_points,
                share_raising_clearly: column.iter().filter(|e| e.low > 0.0).count() as f64
                    / n_points,
                median: quantile_sorted(&means, 0.5),
                q05: quantile_sorted(&means, 0.05),
                q95: quantile_sorted(&means, 0.95),
                sobol,
            }
        })
        .collect();
    Ok(RobustnessOutput {
        method,
        factors: factors.to_vec(),
        scenarios: scenarios.iter().map(|s| s.name.clone()).collect(),
        points,
        base_at_default: mean(&default_row[0]),
        rtb,
        effects,
        proposals,
        rank_agreement,
        best_agreement,
        replications: reps,
        seed,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

/// The headline for a reader: the base's RTB index across the points, and for each proposal the
/// share of the points at which it lowers the RTB index, its effect there and at the defaults.
pub fn headline(out: &RobustnessOutput) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let n = out.points.len();
    let design = match out.method {
        Method::Lhs { .. } => format!("a Latin hypercube of {n} points"),
        Method::Grid { samples } => format!("a grid of {n} points ({samples} values each)"),
        Method::Sobol { samples } => format!("a Saltelli design of {n} points (base {samples})"),
    };
    let base = &out.scenarios[0];
    let mut base_rtb: Vec<f64> = out.rtb.iter().map(|r| r[0]).collect();
    base_rtb.sort_by(f64::total_cmp);
    let falls = base_rtb.iter().filter(|&&x| x > 0.0).count();
    let _ = writeln!(
        s,
        "robustness: {} scenarios against {base} over {design} of {} behavioural parameters, {} paired replications at every point (the same seeds everywhere), seed {}, {:.1} s",
        out.scenarios.len() - 1,
        out.factors.len(),
        out.replications,
        out.seed,
        out.wall_seconds
    );
    let _ = writeln!(
        s,
        "{base}: RTB index {:+.4} at the defaults; across the points median {:+.4}, 5-95% [{:+.4}, {:+.4}], a fall (positive) at {falls} of {n}",
        out.base_at_default,
        quantile_sorted(&base_rtb, 0.5),
        quantile_sorted(&base_rtb, 0.05),
        quantile_sorted(&base_rtb, 0.95),
    );
    let _ = writeln!(
        s,
        "effect on the RTB index against {base} (negative: the proposal holds protection up):"
    );
    let _ = writeln!(
        s,
        "  {:<24} {:>10} {:>14} {:>14} {:>10} {:>26}",
        "scenario", "lowers at", "clearly lower", "clearly higher", "median", "5-95% of points"
    );
    for p in &out.proposals {
        let _ = writeln!(
            s,
            "  {:<24} {:>9.0}% {:>13.0}% {:>13.0}% {:>+10.4}   [{:+.4}, {:+.4}]   (at the defaults {:+.4})",
            p.scenario,
            100.0 * p.share_lowering,
            100.0 * p.share_lowering_clearly,
            100.0 * p.share_raising_clearly,
            p.median,
            p.q05,
            p.q95,
            p.at_default.mean
        );
    }
    let _ = writeln!(
        s,
        "the proposals rank as at the defaults at {} of {n} points; the best at the defaults is the best at {} of {n}",
        out.rank_agreement, out.best_agreement
    );
    if matches!(out.method, Method::Sobol { .. }) {
        let _ = writeln!(
            s,
            "parameters that decide each effect (Sobol total index ST, first-order S1):"
        );
        for p in &out.proposals {
            if let Some(idx) = &p.sobol {
                let mut order: Vec<usize> = (0..idx.len()).collect();
                order.sort_by(|&a, &b| idx[b].total.total_cmp(&idx[a].total));
                let top: Vec<String> = order
                    .iter()
                    .take(3)
                    .map(|&i| {
                        format!(
                            "{} ST {:.2} S1 {:.2}",
                            out.factors[i].key, idx[i].total, idx[i].first
                        )
                    })
                    .collect();
                let _ = writeln!(s, "  {:<24} {}", p.scenario, top.join("; "));
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_factor_is_a_parameter_within_its_range() {
        let s = Scenario::builtin_default().expect("scenario");
        for (key, low, high, _) in DEFAULT_FACTORS {
            let (value, spec) = s.parameter(key).expect(key);
            assert!(spec.check(low).is_ok() && spec.check(high).is_ok(), "{key}");
            assert!(
                low <= value && value <= high,
                "{key}: default {value} outside"
            );
        }
        let parsed = parse_factors("policy.noise,flows.beta_far=1:3", &s).expect("parses");
        assert_eq!((parsed[0].low, parsed[0].high), (0.02, 0.5));
        assert_eq!((parsed[1].low, parsed[1].high), (1.0, 3.0));
        assert!(parse_factors("policy.noise=1", &s).is_err());
        assert!(parse_factors("nope.x", &s).is_err());
        assert!(parse_factors("policy.noise=0.5:0.1", &s).is_err());
    }

    /// A scenario against itself has an effect of exactly zero at every point; a real lever
    /// gives the same signs as its direct paired comparison.
    #[test]
    fn a_scenario_against_itself_is_exactly_zero_at_every_point() {
        let mut s = Scenario::builtin_default().expect("scenario");
        s.run.end_year = 2012;
        let factors = parse_factors("policy.noise,pressure.rho", &s).expect("factors");
        let out = analyse(
            &[s.clone(), s.clone()],
            &factors,
            Method::Lhs { samples: 4 },
            3,
            5,
            2,
            &mut |_, _| {},
        )
        .expect("runs");
        assert_eq!(out.points.len(), 4);
        for e in out.effects.iter().flatten() {
            assert_eq!((e.mean, e.sd, e.low, e.high), (0.0, 0.0, 0.0, 0.0));
        }
        assert_eq!(out.rank_agreement, 4);
    }
}
