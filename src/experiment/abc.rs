//! Calibration with uncertainty: approximate Bayesian computation by sequential Monte Carlo
//! (ABC-SMC) over the uncertain behavioural parameters, against every calibration target at once.
//!
//! The algorithm is the replenishment ABC-SMC of Drovandi and Pettitt (2011), with the adaptive
//! tolerances of Del Moral, Doucet and Jasra (2012): a population of N parameter sets is drawn
//! from the prior (a Latin hypercube over its box); each generation the tolerance becomes the
//! distance ([`super::calibration::distance`]) of the particle at the (1 − α) quantile, the worst α
//! of the population are dropped and replaced by copies of survivors, and each copy is moved by a
//! few Metropolis–Hastings steps with a Gaussian kernel of twice the survivors' covariance, a move
//! being accepted when it stays in the prior's box and within the tolerance. The number of steps
//! adapts to the acceptance rate (enough for a copy to move with probability 0.99, at most
//! `max_moves`); the run stops when the acceptance rate falls below `min_acceptance` or after
//! `max_generations`. The particles of the last generation are the posterior (equal weights;
//! copies merged, their weights added).
//!
//! Why this and not history matching: every target is computed by the simulator itself in a
//! replication (about 5 ms for 2007-2016), so thousands of evaluations fit in minutes, and
//! ABC-SMC needs no emulator whose error would have to be modelled; replenishment keeps the number
//! of evaluations per generation fixed, so a run's cost is known in advance.
//!
//! Every draw comes from a ChaCha stream keyed by the master seed, the generation and the chain;
//! every evaluation's replications from their own seeds (sweep point = the evaluation's id), so a
//! run is the same for any thread count.
//!
//! # References
//! Drovandi, C. C. and Pettitt, A. N. (2011), Estimation of parameters for macroparasite
//! population evolution using approximate Bayesian computation, Biometrics 67(1). Del Moral, P.,
//! Doucet, A. and Jasra, A. (2012), An adaptive sequential Monte Carlo method for approximate
//! Bayesian computation, Statistics and Computing 22(5). Beaumont, M. A., Cornuet, J.-M., Marin,
//! J.-M. and Robert, C. P. (2009), Adaptive approximate Bayesian computation, Biometrika 96(4).

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::calibration::{Context, TargetResult, distance, observe_replication, targets};
use super::design::{Design, Sweep, SweepParam};
use super::seeds;
use crate::error::{Error, Result};
use crate::scenario::Scenario;
use crate::world::Facts;

pub use crate::scenario::posterior::Prior;

/// The uncertain behavioural parameters calibrated by default, with their prior ranges and the
/// reason for each (`docs/ODD.md`, section 7.3).
pub const DEFAULT_PRIORS: [(&str, f64, f64, &str); 12] = [
    (
        "flows.beta_far",
        2.0,
        5.0,
        "distance cost: corridor and refugee fits",
    ),
    (
        "flows.beta_network",
        0.3,
        0.7,
        "diaspora pull: corridor fits",
    ),
    (
        "admission.mu",
        0.01,
        0.05,
        "return and mortality: stock growth",
    ),
    (
        "admission.kappa_quota",
        0.005,
        0.02,
        "legal quota: the irregular share",
    ),
    (
        "forum_dynamics.attend_base",
        -1.2,
        -0.2,
        "attendance: GFMD counts",
    ),
    (
        "treaty_dynamics.b_peer",
        0.5,
        2.0,
        "regional peers: treaty parties",
    ),
    (
        "treaty_dynamics.withdraw_prob",
        0.0,
        0.03,
        "withdrawal: treaty parties",
    ),
    (
        "bilateral.consider_prob",
        0.1,
        0.4,
        "bilateral deals: signatures per year",
    ),
    (
        "policy.noise",
        0.02,
        0.5,
        "noise of choice: the spread of recognition rates",
    ),
    (
        "policy.delta",
        0.01,
        0.04,
        "speed of policy change: recognition rates 2007-2012",
    ),
    (
        "pressure.a_irregular",
        0.04,
        0.16,
        "push of arrivals on pressure",
    ),
    ("policy.c_rights", 0.5, 2.0, "value of rights"),
];

/// The default priors.
pub fn default_priors() -> Vec<Prior> {
    DEFAULT_PRIORS
        .iter()
        .map(|&(key, low, high, _)| Prior {
            key: key.into(),
            low,
            high,
        })
        .collect()
}

/// How the ABC-SMC runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Population size N.
    pub particles: usize,
    /// Share of the population dropped and replenished each generation.
    pub drop: f64,
    /// Replications averaged per evaluation.
    pub reps: u64,
    pub max_generations: usize,
    /// Stop when the share of accepted moves falls below this.
    pub min_acceptance: f64,
    /// Most Metropolis–Hastings steps per replenished particle and generation.
    pub max_moves: usize,
    pub seed: u64,
    pub threads: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            particles: 600,
            drop: 0.5,
            reps: 2,
            max_generations: 10,
            min_acceptance: 0.1,
            max_moves: 6,
            seed: 20_160_209,
            threads: 2,
        }
    }
}

/// What one generation did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Generation {
    pub generation: usize,
    /// The tolerance the generation's population meets.
    pub epsilon: f64,
    /// Share of the moves accepted (1 for the first generation).
    pub acceptance: f64,
    /// Effective sample size of the population, copies merged: (Σw)² / Σw².
    pub ess: f64,
    /// Evaluations (each `reps` replications) made in the generation.
    pub evaluations: usize,
    pub wall_seconds: f64,
}

/// The result of an ABC-SMC run.
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    pub priors: Vec<Prior>,
    /// The last generation's particles and their distances.
    pub particles: Vec<Vec<f64>>,
    pub distances: Vec<f64>,
    pub generations: Vec<Generation>,
    pub settings: Settings,
}

impl Posterior {
    /// The distinct parameter sets with their weights (shares of the population), in the order
    /// they first appear.
    pub fn weighted(&self) -> Vec<(Vec<f64>, f64, f64)> {
        let n = self.particles.len() as f64;
        let mut out: Vec<(Vec<f64>, f64, f64)> = Vec::new();
        for (theta, &d) in self.particles.iter().zip(&self.distances) {
            match out.iter_mut().find(|x| &x.0 == theta) {
                Some(x) => x.1 += 1.0 / n,
                None => out.push((theta.clone(), 1.0 / n, d)),
            }
        }
        out
    }

    /// The `q` quantile of parameter `k` over the population.
    pub fn quantile(&self, k: usize, q: f64) -> f64 {
        let mut v: Vec<f64> = self.particles.iter().map(|t| t[k]).collect();
        v.sort_by(f64::total_cmp);
        crate::stats::quantile_sorted(&v, q)
    }
}

fn effective_sample_size(particles: &[Vec<f64>]) -> f64 {
    let n = particles.len() as f64;
    let mut counts: Vec<(&Vec<f64>, f64)> = Vec::new();
    for p in particles {
        match counts.iter_mut().find(|c| c.0 == p) {
            Some(c) => c.1 += 1.0,
            None => counts.push((p, 1.0)),
        }
    }
    let sum_sq: f64 = counts.iter().map(|c| (c.1 / n).powi(2)).sum();
    1.0 / sum_sq
}

/// Checks priors against the scenario: known key paths, ranges inside the parameters' own, low
/// below high, and nothing that would change the world's facts.
pub fn check_priors(priors: &[Prior], scenario: &Scenario, origin: &str) -> Result<()> {
    if priors.is_empty() {
        return Err(Error::Invalid {
            file: origin.into(),
            key: "calibration.priors".into(),
            message: "expected at least one parameter with a prior range".into(),
        });
    }
    for p in priors {
        let bad = |message: String| Error::Invalid {
            file: origin.into(),
            key: format!("calibration.priors.{}", p.key),
            message,
        };
        if p.key.starts_with("world.n_") {
            return Err(bad("the size of the world cannot be calibrated".into()));
        }
        let (_, spec) = scenario.parameter(&p.key).map_err(&bad)?;
        for v in [p.low, p.high] {
            spec.check(v).map_err(&bad)?;
        }
        if p.low >= p.high {
            return Err(bad(format!(
                "expected [LOW, HIGH] with LOW below HIGH, found [{}, {}]",
                p.low, p.high
            )));
        }
    }
    Ok(())
}

/// The model's targets for parameter values `theta` (evaluation `id`: its replications' seeds),
/// with the observed values replaced by `observed` if given (a known-answer test).
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    ctx: &Context,
    facts: &Facts,
    priors: &[Prior],
    theta: &[f64],
    settings: &Settings,
    id: u64,
    observed: Option<&[f64]>,
) -> Result<(f64, Vec<TargetResult>)> {
    let scenario = ctx.scenario.with_values(
        "calibration.priors",
        priors
            .iter()
            .map(|p| p.key.as_str())
            .zip(theta.iter().copied()),
    )?;
    let observations = (0..settings.reps)
        .map(|r| observe_replication(ctx, &scenario, facts, settings.seed, id, r))
        .collect::<Result<Vec<_>>>()?;
    let mut results = targets(ctx, facts, &observations);
    if let Some(observed) = observed {
        for (r, &o) in results.iter_mut().zip(observed) {
            r.observed = o;
        }
    }
    Ok((distance(&results), results))
}

/// The id of an evaluation: its generation, chain and step (unique within a run).
fn evaluation_id(generation: usize, chain: usize, step: usize) -> u64 {
    ((generation as u64) << 40) | ((chain as u64) << 8) | step as u64 | (1 << 62)
}

/// The random stream of one chain of one generation.
fn chain_rng(seed: u64, generation: usize, chain: usize) -> ChaCha8Rng {
    let key = seeds::splitmix64(seeds::splitmix64(seed) ^ seeds::fnv1a64("abc-smc"));
    seeds::stream(key, ((generation as u64) << 32) | chain as u64)
}

/// Cholesky factor (lower triangular) of a symmetric positive definite matrix, row-major;
/// `None` if it is not positive definite.
fn cholesky(a: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..=i {
            let mut sum = a[i * k + j];
            for m in 0..j {
                sum -= l[i * k + m] * l[j * k + m];
            }
            if i == j {
                if sum <= 0.0 {
                    return None;
                }
                l[i * k + i] = sum.sqrt();
            } else {
                l[i * k + j] = sum / l[j * k + j];
            }
        }
    }
    Some(l)
}

/// The Gaussian kernel of a generation's Metropolis–Hastings moves: the survivors' covariance
/// scaled by 2.38² / k, the scale of an efficient random-walk proposal in k dimensions (Roberts and
/// Rosenthal 2001), with a small ridge so that a population of copies can still move. Returns its
/// Cholesky factor.
fn kernel(survivors: &[Vec<f64>], priors: &[Prior]) -> Vec<f64> {
    let k = priors.len();
    let n = survivors.len() as f64;
    let mean: Vec<f64> = (0..k)
        .map(|c| survivors.iter().map(|t| t[c]).sum::<f64>() / n)
        .collect();
    let mut cov = vec![0.0; k * k];
    for t in survivors {
        for i in 0..k {
            for j in 0..k {
                cov[i * k + j] += (t[i] - mean[i]) * (t[j] - mean[j]) / (n - 1.0).max(1.0);
            }
        }
    }
    let scale = 2.38f64.powi(2) / k as f64;
    for (i, p) in priors.iter().enumerate() {
        let range = p.high - p.low;
        for j in 0..k {
            cov[i * k + j] *= scale;
        }
        cov[i * k + i] += 1e-6 * range * range;
    }
    cholesky(&cov, k).unwrap_or_else(|| {
        // Fall back to the diagonal.
        let mut l = vec![0.0; k * k];
        for i in 0..k {
            l[i * k + i] = cov[i * k + i].max(1e-12).sqrt();
        }
        l
    })
}

/// `x` reflected into [lo, hi] (as often as it takes).
fn reflect(mut x: f64, lo: f64, hi: f64) -> f64 {
    let width = hi - lo;
    if width.is_nan() || width <= 0.0 || !x.is_finite() {
        return lo;
    }
    // Fold onto a period of twice the width, then mirror the upper half.
    x = (x - lo).rem_euclid(2.0 * width);
    if x > width {
        x = 2.0 * width - x;
    }
    lo + x
}

/// A standard normal draw (Box–Muller), from two uniforms of the stream.
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Runs the ABC-SMC. `observed`, if given, replaces the record's values (a known-answer test);
/// `progress` is told of each generation as it ends.
pub fn run(
    base: &Scenario,
    facts: &Facts,
    priors: &[Prior],
    settings: &Settings,
    observed: Option<&[f64]>,
    progress: &mut dyn FnMut(&Generation),
) -> Result<Posterior> {
    // The posterior is what is estimated: the scenario's own, if it has one, plays no part.
    let scenario = base.at_point_values();
    check_priors(priors, &scenario, &scenario.source)?;
    let ctx = Context::new(&scenario, facts)?;
    let pool = super::thread_pool(settings.threads)?;
    let n = settings.particles.max(4);
    let started = std::time::Instant::now();
    // Generation 0: a Latin hypercube over the prior's box.
    let sweep = Sweep {
        design: Design::Lhs { samples: n },
        params: priors
            .iter()
            .map(|p| SweepParam {
                key: p.key.clone(),
                from: p.low,
                to: p.high,
                steps: 0,
            })
            .collect(),
    };
    let mut particles = sweep.points(seeds::splitmix64(settings.seed ^ 0xabc));
    let evaluated: Vec<Result<f64>> = pool.install(|| {
        particles
            .par_iter()
            .enumerate()
            .map(|(c, theta)| {
                evaluate(
                    &ctx,
                    facts,
                    priors,
                    theta,
                    settings,
                    evaluation_id(0, c, 0),
                    observed,
                )
                .map(|x| x.0)
            })
            .collect()
    });
    let mut distances = evaluated.into_iter().collect::<Result<Vec<f64>>>()?;
    let mut generations = vec![Generation {
        generation: 0,
        epsilon: distances.iter().cloned().fold(0.0, f64::max),
        acceptance: 1.0,
        ess: effective_sample_size(&particles),
        evaluations: n,
        wall_seconds: started.elapsed().as_secs_f64(),
    }];
    progress(&generations[0]);
    let n_drop = ((settings.drop * n as f64).round() as usize).clamp(1, n - 2);
    let mut moves = 2usize.min(settings.max_moves.max(1));
    for generation in 1..=settings.max_generations {
        let begun = std::time::Instant::now();
        // Sort by distance (index breaks ties, for determinism) and drop the worst.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| distances[a].total_cmp(&distances[b]).then(a.cmp(&b)));
        let keep = n - n_drop;
        let epsilon = distances[order[keep - 1]];
        let survivors: Vec<Vec<f64>> = order[..keep]
            .iter()
            .map(|&i| particles[i].clone())
            .collect();
        let survivor_d: Vec<f64> = order[..keep].iter().map(|&i| distances[i]).collect();
        let chol = kernel(&survivors, priors);
        // Each dropped particle is replaced by a copy of a survivor, moved by a few steps.
        let chains: Vec<Result<(Vec<f64>, f64, usize)>> = pool.install(|| {
            (0..n_drop)
                .into_par_iter()
                .map(|c| {
                    let mut rng = chain_rng(settings.seed, generation, c);
                    let pick = rng.random_range(0..keep);
                    let start = (survivors[pick].clone(), survivor_d[pick]);
                    let walk = Walk {
                        ctx: &ctx,
                        facts,
                        priors,
                        settings,
                        observed,
                        chol: &chol,
                        epsilon,
                    };
                    walk.moves(start, moves, generation, c, &mut rng)
                })
                .collect()
        });
        let mut new_particles = survivors;
        let mut new_distances = survivor_d;
        let mut accepted = 0;
        for chain in chains {
            let (theta, d, a) = chain?;
            new_particles.push(theta);
            new_distances.push(d);
            accepted += a;
        }
        particles = new_particles;
        distances = new_distances;
        let evaluations = n_drop * moves;
        let acceptance = accepted as f64 / evaluations.max(1) as f64;
        let g = Generation {
            generation,
            epsilon,
            acceptance,
            ess: effective_sample_size(&particles),
            evaluations,
            wall_seconds: begun.elapsed().as_secs_f64(),
        };
        generations.push(g);
        progress(&g);
        if acceptance < settings.min_acceptance {
            break;
        }
        // Enough steps for a copy to move with probability 0.99 at this acceptance rate.
        moves = if acceptance >= 1.0 {
            1
        } else {
            ((0.01f64.ln() / (1.0 - acceptance).ln()).ceil() as usize).clamp(1, settings.max_moves)
        };
    }
    // A last round of moves for every particle at the final tolerance restores the diversity the
    // resampling took (copies of a survivor move apart), without changing the target.
    let begun = std::time::Instant::now();
    let generation = generations.len();
    let epsilon = distances.iter().cloned().fold(0.0, f64::max);
    let chol = kernel(&particles, priors);
    let moved: Vec<Result<(Vec<f64>, f64, usize)>> = pool.install(|| {
        (0..n)
            .into_par_iter()
            .map(|c| {
                let mut rng = chain_rng(settings.seed, generation, c);
                let walk = Walk {
                    ctx: &ctx,
                    facts,
                    priors,
                    settings,
                    observed,
                    chol: &chol,
                    epsilon,
                };
                walk.moves(
                    (particles[c].clone(), distances[c]),
                    settings.max_moves,
                    generation,
                    c,
                    &mut rng,
                )
            })
            .collect()
    });
    let mut accepted = 0;
    for (c, m) in moved.into_iter().enumerate() {
        let (theta, d, a) = m?;
        particles[c] = theta;
        distances[c] = d;
        accepted += a;
    }
    let evaluations = n * settings.max_moves;
    let g = Generation {
        generation,
        epsilon,
        acceptance: accepted as f64 / evaluations.max(1) as f64,
        ess: effective_sample_size(&particles),
        evaluations,
        wall_seconds: begun.elapsed().as_secs_f64(),
    };
    generations.push(g);
    progress(&g);
    Ok(Posterior {
        priors: priors.to_vec(),
        particles,
        distances,
        generations,
        settings: settings.clone(),
    })
}

/// The Metropolis–Hastings moves of one particle at a tolerance.
struct Walk<'a> {
    ctx: &'a Context,
    facts: &'a Facts,
    priors: &'a [Prior],
    settings: &'a Settings,
    observed: Option<&'a [f64]>,
    chol: &'a [f64],
    epsilon: f64,
}

impl Walk<'_> {
    /// Moves `start` by `steps` proposals; returns where it ends, its distance and the number of
    /// moves accepted.
    fn moves(
        &self,
        start: (Vec<f64>, f64),
        steps: usize,
        generation: usize,
        chain: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<(Vec<f64>, f64, usize)> {
        let k = self.priors.len();
        let (mut theta, mut d) = start;
        let mut accepted = 0;
        for step in 0..steps {
            let z: Vec<f64> = (0..k).map(|_| normal(rng)).collect();
            // Reflected at the prior's bounds: a symmetric proposal on the box, so with a
            // uniform prior the move is accepted whenever it meets the tolerance.
            let proposal: Vec<f64> = (0..k)
                .map(|i| {
                    let x = theta[i] + (0..=i).map(|j| self.chol[i * k + j] * z[j]).sum::<f64>();
                    reflect(x, self.priors[i].low, self.priors[i].high)
                })
                .collect();
            let (dp, _) = evaluate(
                self.ctx,
                self.facts,
                self.priors,
                &proposal,
                self.settings,
                evaluation_id(generation, chain, step),
                self.observed,
            )?;
            if dp <= self.epsilon {
                theta = proposal;
                d = dp;
                accepted += 1;
            }
        }
        Ok((theta, d, accepted))
    }
}

/// The posterior predictive check: every target with the model's mean and 90% interval over the
/// posterior (each particle of the population run for `reps` replications of its own seeds), so
/// the interval covers both the noise between replications and the parameters' uncertainty.
pub fn predictive_check(
    base: &Scenario,
    facts: &Facts,
    posterior: &Posterior,
    reps: u64,
    seed: u64,
    threads: usize,
) -> Result<Vec<TargetResult>> {
    let scenario = base.at_point_values();
    let ctx = Context::new(&scenario, facts)?;
    let pool = super::thread_pool(threads)?;
    let keys: Vec<&str> = posterior.priors.iter().map(|p| p.key.as_str()).collect();
    let observations: Vec<Result<Vec<super::calibration::Observation>>> = pool.install(|| {
        posterior
            .particles
            .par_iter()
            .enumerate()
            .map(|(c, theta)| {
                let s = ctx
                    .scenario
                    .with_values("posterior", keys.iter().copied().zip(theta.iter().copied()))?;
                (0..reps)
                    .map(|r| {
                        observe_replication(&ctx, &s, facts, seed, evaluation_id(0, c, 255), r)
                    })
                    .collect()
            })
            .collect()
    });
    let mut all = Vec::new();
    for o in observations {
        all.extend(o?);
    }
    Ok(targets(&ctx, facts, &all))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_recovers_a_known_factor() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let l = cholesky(&a, 2).expect("positive definite");
        assert!((l[0] - 2.0).abs() < 1e-12 && (l[2] - 1.0).abs() < 1e-12);
        assert!((l[3] - 2f64.sqrt()).abs() < 1e-12 && l[1] == 0.0);
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }

    #[test]
    fn reflection_keeps_a_move_inside_the_box() {
        assert_eq!(reflect(0.5, 0.0, 1.0), 0.5);
        assert!((reflect(1.2, 0.0, 1.0) - 0.8).abs() < 1e-12);
        assert!((reflect(-0.3, 0.0, 1.0) - 0.3).abs() < 1e-12);
        assert!((reflect(2.7, 0.0, 1.0) - 0.7).abs() < 1e-12);
        assert!((reflect(-1.6, 0.0, 1.0) - 0.4).abs() < 1e-12);
    }

    #[test]
    fn effective_sample_size_merges_copies() {
        let p = vec![vec![1.0], vec![1.0], vec![2.0], vec![3.0]];
        // Weights 1/2, 1/4, 1/4: ESS = 1 / (1/4 + 1/16 + 1/16) = 8/3.
        assert!((effective_sample_size(&p) - 8.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn every_default_prior_is_a_parameter_and_holds_its_default() {
        let s = Scenario::builtin_default().expect("scenario");
        check_priors(&default_priors(), &s, "test").expect("valid priors");
        for (key, low, high, _) in DEFAULT_PRIORS {
            let (value, _) = s.parameter(key).expect(key);
            assert!(
                low <= value && value <= high,
                "{key}: default {value} outside"
            );
        }
    }
}
