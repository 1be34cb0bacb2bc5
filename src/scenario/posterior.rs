//! A posterior a scenario runs over (`[calibration] posterior = "FILE.csv"`, or
//! `--posterior FILE.csv`): parameter sets with weights, as `forumsim calibrate --posterior`
//! writes them. Each replication draws one set by weight from a stream of its own seed, so every
//! scenario of a comparison meets the same draw in the same replication; values a user sets
//! explicitly (`--set`, a sweep, a design point) stay pinned and are not drawn.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::error::{Error, Result};

/// A uniform prior on a parameter: its key path and range (`[calibration.priors]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Prior {
    pub key: String,
    pub low: f64,
    pub high: f64,
}

/// Parameter sets and their weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Draws {
    pub keys: Vec<String>,
    pub thetas: Vec<Vec<f64>>,
    /// Cumulative weights, normalised to end at 1.
    pub cumulative: Vec<f64>,
    /// Where it was read from.
    pub source: String,
    /// FNV-1a 64 of its text.
    pub hash: String,
}

impl Draws {
    /// Parses a posterior table: `particle`, `weight`, `distance`, then one column per key path.
    pub fn parse(text: &str, source: &str) -> Result<Draws> {
        let bad = |key: String, message: String| Error::Invalid {
            file: source.into(),
            key,
            message,
        };
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| bad("header".into(), e.to_string()))?
            .iter()
            .map(str::to_string)
            .collect();
        let weight_col = header
            .iter()
            .position(|h| h == "weight")
            .ok_or_else(|| bad("header".into(), "expected a weight column".into()))?;
        let fixed: BTreeSet<&str> = ["particle", "weight", "distance"].into();
        let key_cols: Vec<usize> = (0..header.len())
            .filter(|&c| !fixed.contains(header[c].as_str()))
            .collect();
        if key_cols.is_empty() {
            return Err(bad(
                "header".into(),
                "expected at least one parameter column (a key path such as flows.beta_far)".into(),
            ));
        }
        let mut thetas = Vec::new();
        let mut weights = Vec::new();
        for (row, rec) in reader.records().enumerate() {
            let rec = rec.map_err(|e| bad(format!("row {}", row + 1), e.to_string()))?;
            let number = |c: usize| -> Result<f64> {
                let s = rec.get(c).unwrap_or("");
                let x: f64 = s.trim().parse().map_err(|_| {
                    bad(
                        format!("row {}, {}", row + 1, header[c]),
                        format!("expected a number, found {s:?}"),
                    )
                })?;
                if !x.is_finite() {
                    return Err(bad(
                        format!("row {}, {}", row + 1, header[c]),
                        "expected a finite number".into(),
                    ));
                }
                Ok(x)
            };
            let w = number(weight_col)?;
            if w < 0.0 {
                return Err(bad(
                    format!("row {}, weight", row + 1),
                    "expected a weight of at least 0".into(),
                ));
            }
            weights.push(w);
            thetas.push(
                key_cols
                    .iter()
                    .map(|&c| number(c))
                    .collect::<Result<Vec<_>>>()?,
            );
        }
        let total: f64 = weights.iter().sum();
        if thetas.is_empty() || total <= 0.0 {
            return Err(bad(
                "rows".into(),
                "expected at least one parameter set of positive weight".into(),
            ));
        }
        let mut cum = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                cum += w / total;
                cum
            })
            .collect();
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Ok(Draws {
            keys: key_cols.iter().map(|&c| header[c].clone()).collect(),
            thetas,
            cumulative,
            source: source.into(),
            hash: format!("{h:016x}"),
        })
    }

    /// Reads a posterior file.
    pub fn read(path: &std::path::Path) -> Result<Arc<Draws>> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            file: path.to_path_buf(),
            source,
        })?;
        Ok(Arc::new(Draws::parse(&text, &path.display().to_string())?))
    }

    /// Gives every scenario the posterior of `file` (`--posterior FILE`), or takes every
    /// scenario's away (`none`, `--no-posterior`); with neither, each keeps its own
    /// `[calibration] posterior`. The file is recorded by its absolute path, so the
    /// `scenario.toml` of a result folder finds it from anywhere.
    pub fn choose(
        scenarios: &mut [crate::scenario::Scenario],
        file: Option<&std::path::Path>,
        none: bool,
    ) -> Result<()> {
        if none {
            scenarios.iter_mut().for_each(|s| s.posterior = None);
        }
        let Some(file) = file else {
            return Ok(());
        };
        let path = std::fs::canonicalize(file).map_err(|source| Error::Read {
            file: file.to_path_buf(),
            source,
        })?;
        let draws = Draws::read(&path)?;
        for s in scenarios {
            s.attach_posterior(draws.clone())
                .map_err(|message| Error::Invalid {
                    file: file.to_path_buf(),
                    key: "--posterior".into(),
                    message: format!("for scenario {}: {message}", s.name),
                })?;
        }
        Ok(())
    }

    /// The set drawn by a uniform `u` in [0, 1): by weight.
    pub fn pick(&self, u: f64) -> usize {
        self.cumulative
            .partition_point(|&c| c <= u)
            .min(self.thetas.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_parse_pick_by_weight_and_refuse_bad_tables() {
        let text = "particle,weight,distance,flows.beta_far,policy.noise\n0,0.25,0.1,2.5,0.1\n1,0.75,0.2,3.5,0.2\n";
        let d = Draws::parse(text, "p.csv").expect("parses");
        assert_eq!(d.keys, ["flows.beta_far", "policy.noise"]);
        assert_eq!(d.pick(0.0), 0);
        assert_eq!(d.pick(0.2499), 0);
        assert_eq!(d.pick(0.25), 1);
        assert_eq!(d.pick(0.9999), 1);
        assert!(
            Draws::parse("weight\n1\n", "p.csv").is_err(),
            "no parameter"
        );
        assert!(
            Draws::parse("weight,a.b\n0,1\n", "p.csv").is_err(),
            "no weight"
        );
        assert!(
            Draws::parse("weight,a.b\n1,nan\n", "p.csv").is_err(),
            "not finite"
        );
        assert!(
            Draws::parse("weight,a.b\n-1,1\n", "p.csv").is_err(),
            "negative weight"
        );
    }

    #[test]
    fn a_draw_into_a_reused_copy_equals_a_fresh_draw() {
        // Two sets, one key changed by year among them (a draw adds a timeline entry) and one
        // pinned: each draw into the one copy leaves exactly what a fresh copy gets, whatever
        // was drawn into it before.
        let text = "weight,flows.beta_far,forums.GFMD.rights_agenda@2012,policy.noise\n1,2.5,0.2,0.1\n1,3.5,0.6,0.2\n";
        let mut s = crate::scenario::Scenario::builtin_default().expect("scenario");
        s.attach_posterior(Arc::new(Draws::parse(text, "p.csv").expect("parses")))
            .expect("attaches");
        s.set("policy.noise", 0.3).expect("pins");
        assert_ne!(s.with_draw(0.1), s.with_draw(0.9), "the two sets differ");
        let mut copy = s.at_point_values();
        for u in [0.9, 0.1, 0.1, 0.7, 0.2] {
            s.draw_into(u, &mut copy);
            assert_eq!(copy, s.with_draw(u), "u = {u}");
        }
        assert_eq!(copy.policy.noise, 0.3);
    }
}
