//! `forumsim rerun`: what is needed to reproduce one replication of a finished run from its
//! folder alone (`scenario.toml` and `manifest.json`), checked so that the replication rerun is
//! the one the run recorded.

use std::path::Path;

use crate::error::{Error, Result};
use crate::scenario::Scenario;

/// A replication of a finished run, ready to simulate.
#[derive(Debug)]
pub struct Rerun {
    pub scenario: Scenario,
    pub seed: u64,
    pub point: u64,
    pub replication: u64,
}

/// Reads result folder `dir` for replication `replication`: the scenario must be the one the
/// run ran (its hash the manifest's `scenario_hash`), and the replication one of the run's.
pub fn prepare(dir: &Path, replication: u64) -> Result<Rerun> {
    if !dir.join("scenario.toml").exists() {
        let folders: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join("scenario.toml").is_file())
            .map(|e| e.path().display().to_string())
            .collect();
        let message = if dir.join("comparison.csv").exists() && !folders.is_empty() {
            let mut folders = folders;
            folders.sort();
            format!(
                "is a comparison, which holds one result folder per scenario: rerun one of them ({})",
                folders.join(", ")
            )
        } else if dir.join("sweep.csv").exists() {
            "is a sweep, which keeps no per-point scenario file: rerun a point as a run of its own (forumsim run SCENARIO --set KEY=VALUE for the point's values of sweep.csv, the same --seed), whose replications are those of the sweep".into()
        } else {
            "holds no scenario.toml: expected the result folder of forumsim run".into()
        };
        return Err(Error::Invalid {
            file: dir.to_path_buf(),
            key: "rerun".into(),
            message,
        });
    }
    let scenario = Scenario::load(&dir.join("scenario.toml"))?;
    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path).map_err(|source| Error::Read {
        file: manifest_path.clone(),
        source,
    })?;
    let manifest: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Invalid {
        file: manifest_path.clone(),
        key: "manifest".into(),
        message: e.to_string(),
    })?;
    let field = |key: &str, what: &str| Error::Invalid {
        file: manifest_path.clone(),
        key: key.into(),
        message: format!("expected {what}, found {}", manifest[key]),
    };
    let whole_number = |key: &str, what: &str| {
        manifest[key]
            .as_u64()
            .ok_or_else(|| field(key, &format!("{what} (a whole number)")))
    };
    let recorded = manifest["scenario_hash"]
        .as_str()
        .ok_or_else(|| field("scenario_hash", "the hash of the run's scenario (a string)"))?;
    let hash = scenario.content_hash();
    if hash != recorded {
        return Err(Error::Invalid {
            file: dir.join("scenario.toml"),
            key: "scenario_hash".into(),
            message: format!(
                "the scenario has hash {hash} but the run recorded {recorded}: it was edited after the run, so a rerun would not reproduce the run's replication"
            ),
        });
    }
    let seed = whole_number("master_seed", "the run's master seed")?;
    let point = whole_number("sweep_point", "the run's design point")?;
    // The run's replications are those kept and those that failed.
    let replications = whole_number("replications", "the run's number of replications")?
        + whole_number(
            "failed_replications",
            "the run's number of failed replications",
        )?;
    if replication >= replications {
        return Err(Error::Invalid {
            file: dir.to_path_buf(),
            key: "--replication".into(),
            message: format!(
                "expected a replication of this run, 0 to {}, found {replication}",
                replications.saturating_sub(1)
            ),
        });
    }
    Ok(Rerun {
        scenario,
        seed,
        point,
        replication,
    })
}
