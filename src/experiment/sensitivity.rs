//! Global sensitivity analysis: Sobol indices (Saltelli sampling; first-order by the Saltelli 2010
//! estimator, total by Jansen's) with bootstrap confidence intervals, and Morris elementary
//! effects (mu*, sigma). Pure functions of a model given as a closure on the unit cube, so they are
//! checked against functions with known answers (the Ishigami function) as well as run on the
//! simulator.
//!
//! # References
//! Saltelli, Annoni, Azzini, Campolongo, Ratto and Tarantola (2010), "Variance based sensitivity
//! analysis of model output", Computer Physics Communications 181. Jansen (1999), "Analysis of
//! variance designs for model output", CPC 117. Morris (1991), "Factorial sampling plans for
//! preliminary computational experiments", Technometrics 33. Campolongo, Cariboni and Saltelli
//! (2007), mu*.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::stats::quantile_sorted;

/// Sobol indices of one factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SobolIndex {
    pub first: f64,
    pub first_ci: (f64, f64),
    pub total: f64,
    pub total_ci: (f64, f64),
}

/// Morris statistics of one factor (elementary effects in units of the factor's range).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MorrisIndex {
    pub mu: f64,
    pub mu_star: f64,
    pub sigma: f64,
}

/// The Saltelli design for `k` factors and base sample size `n`: the rows of A (n), then B (n),
/// then for each factor i the rows of A with column i taken from B (n each); points in [0, 1)^k.
pub fn saltelli_design(n: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
    let a: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..k).map(|_| rng.random()).collect())
        .collect();
    let b: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..k).map(|_| rng.random()).collect())
        .collect();
    let mut points = Vec::with_capacity(n * (k + 2));
    points.extend(a.iter().cloned());
    points.extend(b.iter().cloned());
    for i in 0..k {
        for j in 0..n {
            let mut row = a[j].clone();
            row[i] = b[j][i];
            points.push(row);
        }
    }
    points
}

fn sobol_point(f_a: &[f64], f_b: &[f64], f_ab: &[f64], idx: &[usize]) -> (f64, f64) {
    let n = idx.len() as f64;
    let mut all_mean = 0.0;
    for &j in idx {
        all_mean += f_a[j] + f_b[j];
    }
    all_mean /= 2.0 * n;
    let mut var = 0.0;
    for &j in idx {
        var += (f_a[j] - all_mean).powi(2) + (f_b[j] - all_mean).powi(2);
    }
    var /= 2.0 * n - 1.0;
    if var <= 0.0 {
        return (0.0, 0.0);
    }
    let (mut first, mut total) = (0.0, 0.0);
    for &j in idx {
        // Centring f_B on the sample mean leaves the estimator's expectation unchanged and cuts
        // its variance when the output has a large mean level.
        first += (f_b[j] - all_mean) * (f_ab[j] - f_a[j]);
        total += (f_a[j] - f_ab[j]).powi(2);
    }
    (first / n / var, total / (2.0 * n) / var)
}

/// Sobol indices from the outputs of [`saltelli_design`] (same order), with percentile bootstrap
/// intervals (95%) from `resamples` resamples of the base rows.
pub fn sobol_indices(
    outputs: &[f64],
    n: usize,
    k: usize,
    resamples: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<SobolIndex> {
    let f_a = &outputs[..n];
    let f_b = &outputs[n..2 * n];
    let all: Vec<usize> = (0..n).collect();
    let boot: Vec<Vec<usize>> = (0..resamples)
        .map(|_| (0..n).map(|_| rng.random_range(0..n)).collect())
        .collect();
    (0..k)
        .map(|i| {
            let f_ab = &outputs[(2 + i) * n..(3 + i) * n];
            let (first, total) = sobol_point(f_a, f_b, f_ab, &all);
            let mut firsts = Vec::with_capacity(resamples);
            let mut totals = Vec::with_capacity(resamples);
            for idx in &boot {
                let (s1, st) = sobol_point(f_a, f_b, f_ab, idx);
                firsts.push(s1);
                totals.push(st);
            }
            firsts.sort_by(f64::total_cmp);
            totals.sort_by(f64::total_cmp);
            SobolIndex {
                first,
                first_ci: (
                    quantile_sorted(&firsts, 0.025),
                    quantile_sorted(&firsts, 0.975),
                ),
                total,
                total_ci: (
                    quantile_sorted(&totals, 0.025),
                    quantile_sorted(&totals, 0.975),
                ),
            }
        })
        .collect()
}

/// Morris design: `r` trajectories of `k + 1` points on a grid of `levels` levels, each factor
/// moved once by $\Delta = p / (2(p - 1))$ in a random order and direction.
pub fn morris_design(r: usize, k: usize, levels: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
    let p = levels.max(2) as f64;
    let delta = p / (2.0 * (p - 1.0));
    let mut points = Vec::with_capacity(r * (k + 1));
    for _ in 0..r {
        // Start on a level from which both directions stay in [0, 1].
        let starts = ((p - 1.0) * (1.0 - delta)).floor() as usize + 1;
        let mut x: Vec<f64> = (0..k)
            .map(|_| rng.random_range(0..starts) as f64 / (p - 1.0))
            .collect();
        let mut order: Vec<usize> = (0..k).collect();
        for i in (1..k).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let up: Vec<bool> = (0..k).map(|_| rng.random::<bool>()).collect();
        // Where a factor goes down, start it one step up so it ends on the grid.
        for i in 0..k {
            if !up[i] {
                x[i] += delta;
            }
        }
        points.push(x.clone());
        for &i in &order {
            x[i] += if up[i] { delta } else { -delta };
            points.push(x.clone());
        }
    }
    points
}

/// Morris statistics from the outputs of [`morris_design`] (same order).
pub fn morris_indices(points: &[Vec<f64>], outputs: &[f64], k: usize) -> Vec<MorrisIndex> {
    let mut effects: Vec<Vec<f64>> = vec![Vec::new(); k];
    for (t, traj) in points.chunks(k + 1).enumerate() {
        let out = &outputs[t * (k + 1)..(t + 1) * (k + 1)];
        for s in 0..k {
            let (from, to) = (&traj[s], &traj[s + 1]);
            if let Some(i) = (0..k).find(|&i| from[i] != to[i]) {
                effects[i].push((out[s + 1] - out[s]) / (to[i] - from[i]));
            }
        }
    }
    effects
        .iter()
        .map(|e| {
            let n = e.len().max(1) as f64;
            let mu = e.iter().sum::<f64>() / n;
            let mu_star = e.iter().map(|x| x.abs()).sum::<f64>() / n;
            let sigma = if e.len() > 1 {
                (e.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
            } else {
                0.0
            };
            MorrisIndex { mu, mu_star, sigma }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::f64::consts::PI;

    fn ishigami(x: &[f64], a: f64, b: f64) -> f64 {
        let (x1, x2, x3) = (
            -PI + 2.0 * PI * x[0],
            -PI + 2.0 * PI * x[1],
            -PI + 2.0 * PI * x[2],
        );
        x1.sin() + a * x2.sin().powi(2) + b * x3.powi(4) * x1.sin()
    }

    /// Analytic first-order and total indices of the Ishigami function.
    fn ishigami_truth(a: f64, b: f64) -> ([f64; 3], [f64; 3]) {
        let pi4 = PI.powi(4);
        let pi8 = PI.powi(8);
        let v = a * a / 8.0 + b * pi4 / 5.0 + b * b * pi8 / 18.0 + 0.5;
        let v1 = 0.5 * (1.0 + b * pi4 / 5.0).powi(2);
        let v2 = a * a / 8.0;
        let v13 = 8.0 * b * b * pi8 / 225.0;
        ([v1 / v, v2 / v, 0.0], [(v1 + v13) / v, v2 / v, v13 / v])
    }

    #[test]
    fn sobol_recovers_the_ishigami_indices_within_the_bootstrap_interval() {
        let (a, b) = (7.0, 0.1);
        let (s1, st) = ishigami_truth(a, b);
        assert!((s1[0] - 0.314).abs() < 1e-3 && (s1[1] - 0.442).abs() < 1e-3);
        assert!((st[0] - 0.558).abs() < 1e-3 && (st[2] - 0.244).abs() < 1e-3);
        let n = 8192;
        let mut rng = ChaCha8Rng::seed_from_u64(2024);
        let points = saltelli_design(n, 3, &mut rng);
        let outputs: Vec<f64> = points.iter().map(|x| ishigami(x, a, b)).collect();
        let indices = sobol_indices(&outputs, n, 3, 500, &mut rng);
        for (i, idx) in indices.iter().enumerate() {
            assert!(
                idx.first_ci.0 <= s1[i] && s1[i] <= idx.first_ci.1,
                "S1[{i}] = {} not in {:?} (estimate {})",
                s1[i],
                idx.first_ci,
                idx.first
            );
            assert!(
                idx.total_ci.0 <= st[i] && st[i] <= idx.total_ci.1,
                "ST[{i}] = {} not in {:?} (estimate {})",
                st[i],
                idx.total_ci,
                idx.total
            );
            // And the intervals are informative, not trivially wide.
            assert!(idx.first_ci.1 - idx.first_ci.0 < 0.1);
            assert!(idx.total_ci.1 - idx.total_ci.0 < 0.1);
        }
    }

    #[test]
    fn morris_ranks_the_ishigami_factors_and_sees_the_linear_one() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let points = morris_design(200, 3, 4, &mut rng);
        assert_eq!(points.len(), 200 * 4);
        assert!(points.iter().flatten().all(|x| (0.0..=1.0).contains(x)));
        let outputs: Vec<f64> = points.iter().map(|x| ishigami(x, 7.0, 0.1)).collect();
        let m = morris_indices(&points, &outputs, 3);
        // x3 acts only through its interaction with x1: mu near 0 but mu* and sigma large.
        assert!(m[0].mu_star > 0.0 && m[1].mu_star > 0.0 && m[2].mu_star > 0.0);
        assert!(m[2].mu.abs() < 0.5 * m[2].mu_star);
        // A linear function has constant effects: sigma 0, mu* = |slope|.
        let lin: Vec<f64> = points.iter().map(|x| 3.0 * x[0] - 2.0 * x[1]).collect();
        let m = morris_indices(&points, &lin, 3);
        assert!((m[0].mu - 3.0).abs() < 1e-9 && m[0].sigma < 1e-9);
        assert!((m[1].mu_star - 2.0).abs() < 1e-9);
        assert!(m[2].mu_star.abs() < 1e-12);
    }
}

/// A factor of a sensitivity analysis: a parameter's key path and the range it is varied over.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    pub key: String,
    pub low: f64,
    pub high: f64,
}

/// Parses `--params` (`KEY=LOW:HIGH,...`; a key alone: half to one and a half times the
/// scenario's value within its valid range, or the first tenth of the range for a value of 0)
/// into factors checked against `scenario`.
pub fn parse_factors(
    text: &str,
    scenario: &crate::scenario::Scenario,
) -> crate::error::Result<Vec<Factor>> {
    parse_factors_with(text, scenario, &|_, value, spec| {
        if value != 0.0 {
            (
                (value * 0.5).max(spec.min).min(spec.max),
                (value * 1.5).max(spec.min).min(spec.max),
            )
        } else {
            (spec.min, spec.min + (spec.max - spec.min) * 0.1)
        }
    })
}

/// [`parse_factors`], with `default_range(key, value, spec)` giving the range of a key named
/// without one.
pub fn parse_factors_with(
    text: &str,
    scenario: &crate::scenario::Scenario,
    default_range: &dyn Fn(&str, f64, &crate::scenario::ParamSpec) -> (f64, f64),
) -> crate::error::Result<Vec<Factor>> {
    use crate::command::cli_number;
    use crate::error::Error;
    let mut factors = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, range) = match item.split_once('=') {
            Some((k, r)) => (k.trim(), Some(r)),
            None => (item, None),
        };
        let (value, spec) = scenario
            .parameter(key)
            .map_err(Error::invalid("--params", key))?;
        let (low, high) = match range {
            Some(r) => {
                let (a, b) = r.split_once(':').ok_or_else(|| Error::Invalid {
                    file: "--params".into(),
                    key: key.into(),
                    message: format!("expected LOW:HIGH, found {r:?}"),
                })?;
                (
                    cli_number("--params", key, a)?,
                    cli_number("--params", key, b)?,
                )
            }
            None => default_range(key, value, spec),
        };
        for x in [low, high] {
            spec.check(x).map_err(Error::invalid("--params", key))?;
        }
        if low >= high {
            return Err(Error::Invalid {
                file: "--params".into(),
                key: key.into(),
                message: format!("expected LOW below HIGH, found {low}:{high}"),
            });
        }
        factors.push(Factor {
            key: key.into(),
            low,
            high,
        });
    }
    if factors.is_empty() {
        return Err(Error::Invalid {
            file: "--params".into(),
            key: text.into(),
            message: "expected at least one parameter".into(),
        });
    }
    Ok(factors)
}

/// Which analysis to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Sobol,
    Morris,
}

/// The model outputs analysed.
pub const OUTPUTS: [&str; 2] = ["rtb", "protection_mean_end"];

/// One row of `sensitivity.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct SensitivityRow {
    pub output: String,
    pub factor: Factor,
    pub sobol: Option<SobolIndex>,
    pub morris: Option<MorrisIndex>,
}

/// Results of a sensitivity analysis.
#[derive(Debug, Clone)]
pub struct SensitivityOutput {
    pub method: Method,
    pub rows: Vec<SensitivityRow>,
    /// Model evaluations (design points) and replications per point.
    pub points: usize,
    pub replications: u64,
    pub wall_seconds: f64,
    /// The base sample (`--samples`).
    pub samples: usize,
    /// Outputs left out because they repeat another ([`affine`]), in `OUTPUTS` order.
    pub dropped: Vec<Dropped>,
}

/// An output left out of an analysis: at every design point it is an affine function of an
/// earlier output (`repeats`), so its indices would repeat that output's.
#[derive(Debug, Clone, PartialEq)]
pub struct Dropped {
    pub output: String,
    pub repeats: String,
}

/// Whether `y` is an affine function `a + b x` of `x` at every point, up to rounding (the
/// squared correlation within 1e-9 of 1): Sobol and Morris indices are the same for both. A
/// constant series is not (its indices are undefined, and say so themselves).
pub fn affine(x: &[f64], y: &[f64]) -> bool {
    let n = x.len().min(y.len());
    if n < 3 {
        return false;
    }
    let mean = |v: &[f64]| v[..n].iter().sum::<f64>() / n as f64;
    let (mx, my) = (mean(x), mean(y));
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for (a, b) in x[..n].iter().zip(&y[..n]) {
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
        sxy += (a - mx) * (b - my);
    }
    if !(sxx > 0.0 && syy > 0.0) {
        return false;
    }
    1.0 - sxy * sxy / (sxx * syy) < 1e-9
}

/// The outputs of `OUTPUTS` to keep, given each design point's values (`values[p][o]`), and
/// those dropped because they repeat an earlier kept one: the first of a repeating pair stays,
/// so the choice depends on `OUTPUTS`' order alone.
pub fn distinct_outputs(values: &[[f64; 2]]) -> (Vec<usize>, Vec<Dropped>) {
    let column = |o: usize| values.iter().map(|v| v[o]).collect::<Vec<f64>>();
    let mut kept: Vec<usize> = Vec::new();
    let mut dropped = Vec::new();
    for (o, name) in OUTPUTS.iter().enumerate() {
        let y = column(o);
        match kept.iter().find(|&&k| affine(&column(k), &y)) {
            Some(&k) => dropped.push(Dropped {
                output: name.to_string(),
                repeats: OUTPUTS[k].to_string(),
            }),
            None => kept.push(o),
        }
    }
    (kept, dropped)
}

impl SensitivityOutput {
    /// What makes the estimates hard to read, one line each: a Sobol base sample below 256, and
    /// estimates outside what they can be (S1 above ST, a negative S1, intervals beyond [0, 1]);
    /// outputs whose indices repeat an earlier output's (the RTB index and final protection move
    /// together when no factor changes the start).
    pub fn warnings(&self) -> Vec<String> {
        let samples = self.samples;
        let mut w = Vec::new();
        let odd: Vec<String> = self
            .rows
            .iter()
            .filter_map(|r| r.sobol.map(|s| (r, s)))
            .filter(|(_, s)| {
                s.first > s.total + 0.05
                    || s.first < -0.05
                    || s.first_ci.0 < -0.05
                    || s.total_ci.1 > 1.05
            })
            .map(|(r, _)| format!("{} of {}", r.factor.key, r.output))
            .collect();
        if self.method == Method::Sobol && (samples < 256 || !odd.is_empty()) {
            w.push(format!(
                "--samples {samples} is too small for Sobol indices to mean much{}: use 512 or more (the intervals shrink as 1/sqrt(N))",
                if odd.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (S1 above ST, negative S1 or intervals beyond [0, 1] for {})",
                        odd.join(", ")
                    )
                }
            ));
        }
        for d in &self.dropped {
            w.push(format!(
                "{} left out: at every design point it is an affine function of {} (no parameter changes the start, so the two move together), and its indices would repeat those of {}",
                d.output, d.repeats, d.repeats
            ));
        }
        w
    }

    /// The outputs analysed (those not dropped), in `OUTPUTS` order.
    pub fn outputs(&self) -> Vec<&'static str> {
        OUTPUTS
            .iter()
            .copied()
            .filter(|o| !self.dropped.iter().any(|d| d.output == *o))
            .collect()
    }
}

fn factor_value(spec: &crate::scenario::ParamSpec, f: &Factor, u: f64) -> f64 {
    let v = f.low + (f.high - f.low) * u;
    if spec.kind == crate::scenario::Kind::Int {
        v.round()
    } else {
        v
    }
}

/// Runs the analysis on the simulator. Every design point runs replications 0..`replications`
/// of sweep point 0, so all points meet the same crises and elections (common random numbers),
/// and the model output is the mean over those replications.
#[allow(clippy::too_many_arguments)]
pub fn analyse(
    base: &crate::scenario::Scenario,
    factors: &[Factor],
    method: Method,
    samples: usize,
    replications: u64,
    seed: u64,
    threads: usize,
    progress: &mut dyn FnMut(u64),
) -> crate::error::Result<SensitivityOutput> {
    use crate::error::Error;
    use rayon::prelude::*;
    let started = std::time::Instant::now();
    // The design spans the parameters itself: a posterior the scenario runs over plays no part
    // (every other parameter stays at its point value).
    let base = &base.at_point_values();
    let k = factors.len();
    let mut rng = super::design::design_rng(seed);
    let unit = match method {
        Method::Sobol => saltelli_design(samples, k, &mut rng),
        Method::Morris => morris_design(samples, k, 4, &mut rng),
    };
    let mut specs = Vec::with_capacity(k);
    for f in factors {
        // The world's facts are built once for all design points.
        if f.key == "world.n_states" || f.key == "world.n_regions" {
            return Err(Error::Invalid {
                file: "--params".into(),
                key: f.key.clone(),
                message: "the size of the world cannot vary within a sensitivity analysis; sweep it instead".into(),
            });
        }
        let (_, spec) = base
            .parameter(&f.key)
            .map_err(Error::invalid("--params", f.key.as_str()))?;
        specs.push(spec);
    }
    let scenarios: Vec<crate::scenario::Scenario> = unit
        .iter()
        .map(|u| {
            base.with_values(
                "--params",
                factors
                    .iter()
                    .zip(&specs)
                    .zip(u)
                    .map(|((f, spec), &x)| (f.key.as_str(), factor_value(spec, f, x))),
            )
        })
        .collect::<crate::error::Result<_>>()?;
    let facts = base.facts()?;
    let pool = super::thread_pool(threads)?;
    let reps = replications.max(1);
    let total = scenarios.len() as u64 * reps;
    let mut outputs = vec![[0.0; 2]; scenarios.len()];
    // Chunks of points keep progress visible; results are reduced in index order.
    let chunk = 8 * threads.max(1);
    let mut done = 0;
    for start in (0..scenarios.len()).step_by(chunk) {
        let end = (start + chunk).min(scenarios.len());
        let results: Vec<crate::error::Result<[f64; 2]>> = pool.install(|| {
            (start..end)
                .into_par_iter()
                .map(|p| {
                    let mut sum = [0.0; 2];
                    for r in 0..reps {
                        let out = super::simulate(&scenarios[p], &facts, seed, 0, r)?;
                        sum[0] += out.record.rtb;
                        sum[1] += out.record.end.mean;
                    }
                    Ok([sum[0] / reps as f64, sum[1] / reps as f64])
                })
                .collect()
        });
        for (p, r) in (start..end).zip(results) {
            outputs[p] = r?;
        }
        done += (end - start) as u64 * reps;
        progress(done.min(total));
    }
    let mut rows = Vec::new();
    let (kept, dropped) = distinct_outputs(&outputs);
    for o in kept {
        let name = OUTPUTS[o];
        let y: Vec<f64> = outputs.iter().map(|v| v[o]).collect();
        match method {
            Method::Sobol => {
                let idx = sobol_indices(&y, samples, k, 1000, &mut rng);
                for (f, i) in factors.iter().zip(idx) {
                    rows.push(SensitivityRow {
                        output: name.to_string(),
                        factor: f.clone(),
                        sobol: Some(i),
                        morris: None,
                    });
                }
            }
            Method::Morris => {
                let idx = morris_indices(&unit, &y, k);
                for (f, i) in factors.iter().zip(idx) {
                    // Effects per unit of the factor's own range.
                    rows.push(SensitivityRow {
                        output: name.to_string(),
                        factor: f.clone(),
                        sobol: None,
                        morris: Some(i),
                    });
                }
            }
        }
    }
    Ok(SensitivityOutput {
        method,
        rows,
        points: scenarios.len(),
        replications: reps,
        wall_seconds: started.elapsed().as_secs_f64(),
        samples,
        dropped,
    })
}
