//! Experimental designs over scenario parameters: full factorial grids and Latin hypercubes.
//! Points are drawn from a ChaCha stream of the master seed, so a design is reproducible.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::seeds::{fnv1a64, splitmix64};

/// One swept parameter: a key path and its range (`steps` values for a grid).
#[derive(Debug, Clone, PartialEq)]
pub struct SweepParam {
    pub key: String,
    pub from: f64,
    pub to: f64,
    pub steps: usize,
}

/// How design points are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Design {
    /// Every combination of each parameter's `steps` evenly spaced values (first parameter slowest).
    Grid,
    /// `samples` points, one per stratum of each parameter (McKay, Beckman and Conover 1979).
    Lhs { samples: usize },
}

/// A sweep: a design over parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub design: Design,
    pub params: Vec<SweepParam>,
}

/// The stream of the design, from the master seed only.
pub fn design_rng(seed: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(splitmix64(seed));
    rng.set_stream(fnv1a64("design") | (1 << 63));
    rng
}

impl Sweep {
    /// The design points: one row of parameter values per point.
    pub fn points(&self, seed: u64) -> Vec<Vec<f64>> {
        match self.design {
            Design::Grid => {
                let mut points: Vec<Vec<f64>> = vec![Vec::new()];
                for p in &self.params {
                    let values: Vec<f64> = (0..p.steps.max(1))
                        .map(|s| {
                            if p.steps <= 1 {
                                p.from
                            } else {
                                p.from + (p.to - p.from) * s as f64 / (p.steps - 1) as f64
                            }
                        })
                        .collect();
                    points = points
                        .into_iter()
                        .flat_map(|row| {
                            values.iter().map(move |&v| {
                                let mut r = row.clone();
                                r.push(v);
                                r
                            })
                        })
                        .collect();
                }
                points
            }
            Design::Lhs { samples } => {
                let n = samples.max(1);
                let mut rng = design_rng(seed);
                let mut columns = Vec::with_capacity(self.params.len());
                for p in &self.params {
                    let mut strata: Vec<usize> = (0..n).collect();
                    for i in (1..n).rev() {
                        strata.swap(i, rng.random_range(0..=i));
                    }
                    let column: Vec<f64> = strata
                        .iter()
                        .map(|&s| {
                            let u: f64 = rng.random();
                            p.from + (p.to - p.from) * (s as f64 + u) / n as f64
                        })
                        .collect();
                    columns.push(column);
                }
                (0..n)
                    .map(|j| columns.iter().map(|c| c[j]).collect())
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(key: &str, from: f64, to: f64, steps: usize) -> SweepParam {
        SweepParam {
            key: key.into(),
            from,
            to,
            steps,
        }
    }

    #[test]
    fn grid_covers_every_combination_and_both_ends() {
        let s = Sweep {
            design: Design::Grid,
            params: vec![param("a", 0.0, 1.0, 3), param("b", 10.0, 20.0, 2)],
        };
        let p = s.points(1);
        assert_eq!(p.len(), 6);
        assert_eq!(p[0], vec![0.0, 10.0]);
        assert_eq!(p[1], vec![0.0, 20.0]);
        assert_eq!(p[5], vec![1.0, 20.0]);
        assert!(p.iter().any(|r| r[0] == 0.5));
    }

    #[test]
    fn lhs_has_one_sample_per_stratum_of_each_parameter() {
        let n = 50;
        let s = Sweep {
            design: Design::Lhs { samples: n },
            params: vec![param("a", 0.0, 1.0, 0), param("b", -2.0, 2.0, 0)],
        };
        let p = s.points(7);
        assert_eq!(p.len(), n);
        for (k, (from, to)) in [(0.0, 1.0), (-2.0, 2.0)].into_iter().enumerate() {
            let mut strata: Vec<usize> = p
                .iter()
                .map(|r| (((r[k] - from) / (to - from)) * n as f64).floor() as usize)
                .collect();
            strata.sort();
            assert_eq!(strata, (0..n).collect::<Vec<_>>(), "parameter {k}");
        }
        assert_eq!(p, s.points(7), "reproducible");
        assert_ne!(p, s.points(8));
    }
}
