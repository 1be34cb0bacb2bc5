//! Shards: a deterministic slice of the (design point, replication) tasks of a run, written to
//! its own folder, and the merge of all shards into the result one process would have written.
//!
//! Task t of a run with R replications per point is (point t / R, replication t mod R); shard i of
//! n runs tasks [T i / n, T (i + 1) / n). A shard folder holds the resolved scenario
//! (`scenario.toml`), every task's record, trace and per-State finals as little-endian f64
//! (`results.bin`), and `shard.json`, written last, which marks the shard complete. The merge
//! replays the tasks in order through the same reduction as a run in one process, so the merged
//! CSV files are byte-identical to it.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::design::Sweep;
use super::observe::{ProtectionLevels, metric_names};
use super::sweep::{SweepOutput, point_scenario};
use super::{
    Accumulator, ReplicationOutput, ReplicationRecord, RunConfig, RunOutput, STATE_COLUMNS,
    for_each_replication, thread_pool,
};
use crate::error::{Error, Result};
use crate::scenario::Scenario;
use crate::world::{Facts, N_DOMAINS};

/// Shard `index` of `count` (from `--shard i/n`, 0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    pub index: u64,
    pub count: u64,
}

impl ShardSpec {
    pub fn parse(text: &str) -> std::result::Result<ShardSpec, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("expected i/n (e.g. 0/3), found {text:?}"))?;
        let index: u64 = i
            .trim()
            .parse()
            .map_err(|_| format!("expected a whole number i, found {i:?}"))?;
        let count: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("expected a whole number n, found {n:?}"))?;
        if count == 0 || index >= count {
            return Err(format!("expected 0 <= i < n, found {index}/{count}"));
        }
        Ok(ShardSpec { index, count })
    }

    /// The tasks of this shard among `total`.
    pub fn range(&self, total: u64) -> Range<u64> {
        let lo = (u128::from(total) * u128::from(self.index) / u128::from(self.count)) as u64;
        let hi = (u128::from(total) * u128::from(self.index + 1) / u128::from(self.count)) as u64;
        lo..hi
    }
}

/// Sizes of one encoded task.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub(crate) treaties: usize,
    pub(crate) forums: usize,
    pub(crate) trace: usize,
    pub(crate) finals: usize,
}

impl Layout {
    pub(crate) fn of(scenario: &Scenario, facts: &Facts) -> Layout {
        let treaties = scenario.treaties.len();
        let forums = scenario.forums.len();
        Layout {
            treaties,
            forums,
            trace: scenario.n_years() * metric_names(scenario, &facts.region_names).len(),
            finals: facts.n_states() * (STATE_COLUMNS.len() + treaties + forums),
        }
    }

    pub(crate) fn len(&self) -> usize {
        2 + 2 * (N_DOMAINS + 2) + 6 + self.treaties + self.forums + self.trace + self.finals
    }
}

pub(crate) fn encode(point: u64, out: &ReplicationOutput, buf: &mut Vec<u8>) {
    let r = &out.record;
    let mut push = |x: f64| buf.extend_from_slice(&x.to_le_bytes());
    push(point as f64);
    push(r.replication as f64);
    for l in [&r.start, &r.end] {
        for d in l.domains {
            push(d);
        }
        push(l.mean);
        push(l.migrant_weighted);
    }
    for x in [
        r.rtb,
        r.rtb_migrant_weighted,
        r.drift_per_decade,
        r.years_to_floor.map_or(f64::NAN, f64::from),
        r.irregular_share_end,
        r.pressure_end,
    ] {
        push(x);
    }
    for &x in r
        .parties
        .iter()
        .chain(&r.attendance)
        .chain(&out.trace)
        .chain(&out.finals)
    {
        push(x);
    }
}

/// The little-endian `f64`s that [`encode`] wrote into `bytes`.
pub(crate) fn f64s(bytes: &[u8]) -> impl Iterator<Item = f64> + '_ {
    bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
}

pub(crate) fn decode(values: &[f64], layout: Layout) -> (u64, ReplicationOutput) {
    let mut k = 0;
    let mut next = |n: usize| {
        let s = &values[k..k + n];
        k += n;
        s
    };
    let head = next(2);
    let (point, replication) = (head[0] as u64, head[1] as u64);
    let mut levels = || {
        let v = next(N_DOMAINS + 2);
        ProtectionLevels {
            domains: [v[0], v[1], v[2]],
            mean: v[3],
            migrant_weighted: v[4],
        }
    };
    let start = levels();
    let end = levels();
    let s = next(6);
    let record = ReplicationRecord {
        replication,
        start,
        end,
        rtb: s[0],
        rtb_migrant_weighted: s[1],
        drift_per_decade: s[2],
        years_to_floor: if s[3].is_nan() {
            None
        } else {
            Some(s[3] as u32)
        },
        irregular_share_end: s[4],
        pressure_end: s[5],
        parties: next(layout.treaties).to_vec(),
        attendance: next(layout.forums).to_vec(),
    };
    let trace = next(layout.trace).to_vec();
    let finals = next(layout.finals).to_vec();
    (
        point,
        ReplicationOutput {
            record,
            trace,
            finals,
        },
    )
}

/// The scenario of every design point (one point for a run without a sweep).
fn point_scenarios(base: &Scenario, seed: u64) -> Result<Vec<Scenario>> {
    match &base.sweep {
        None => Ok(vec![base.clone()]),
        Some(sweep) => sweep
            .points(seed)
            .iter()
            .map(|v| point_scenario(base, sweep, v))
            .collect(),
    }
}

/// Runs one shard of `scenario` (whose `sweep`, if any, defines the design points) and writes its
/// folder. Returns the number of tasks run.
pub fn run_shard(
    scenario: &Scenario,
    config: &RunConfig,
    spec: ShardSpec,
    dir: &Path,
    force: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<u64> {
    let points = point_scenarios(scenario, config.seed)?;
    let reps = config.replications;
    let total = points.len() as u64 * reps;
    let tasks = spec.range(total);
    let pool = thread_pool(config.threads)?;
    let mut buf = Vec::new();
    let mut done = 0;
    let mut t = tasks.start;
    while t < tasks.end {
        let point = t / reps;
        let first = t % reps;
        let last = (tasks.end - point * reps).min(reps);
        let s = &points[point as usize];
        let facts = s.facts()?;
        for_each_replication(
            s,
            &facts,
            config.seed,
            // Every design point runs the replications of point 0 (common random numbers).
            config.point,
            first..last,
            &pool,
            super::chunk_size(config.threads),
            &mut |_, out| {
                // A shard is strict: a broken replication fails it (and its merge), naming it.
                encode(point, &out?, &mut buf);
                done += 1;
                progress(done);
                Ok(())
            },
        )?;
        t = point * reps + last;
    }
    crate::output::write_atomically(dir, force, |tmp| {
        let write = |name: &str, bytes: &[u8]| {
            let path = tmp.join(name);
            std::fs::write(&path, bytes).map_err(|source| Error::Write { path, source })
        };
        write("scenario.toml", scenario.resolved_toml().as_bytes())?;
        write("results.bin", &buf)?;
        let marker = Marker {
            program: "forumsim".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            shard: spec.index,
            shards: spec.count,
            scenario: scenario.name.clone(),
            scenario_hash: scenario.content_hash(),
            master_seed: config.seed,
            replications: reps,
            points: points.len() as u64,
            tasks: [tasks.start, tasks.end],
            results_crc32: crc32fast::hash(&buf),
            complete: true,
        };
        // Written last: its presence marks the shard complete.
        write(
            "shard.json",
            (serde_json::to_string_pretty(&marker).unwrap_or_default() + "\n").as_bytes(),
        )
    })?;
    Ok(tasks.end - tasks.start)
}

/// `shard.json`: which tasks of which run a shard folder holds. Written last, so its presence
/// marks the shard complete.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Marker {
    program: String,
    version: String,
    shard: u64,
    shards: u64,
    scenario: String,
    scenario_hash: String,
    master_seed: u64,
    replications: u64,
    points: u64,
    tasks: [u64; 2],
    /// CRC-32 of `results.bin`.
    results_crc32: u32,
    complete: bool,
}

impl Marker {
    /// What every shard of one run shares, by key.
    fn run(&self) -> [(&'static str, String); 5] {
        [
            ("scenario_hash", self.scenario_hash.clone()),
            ("master_seed", self.master_seed.to_string()),
            ("replications", self.replications.to_string()),
            ("points", self.points.to_string()),
            ("shards", self.shards.to_string()),
        ]
    }
}

/// What a merge produces: a plain run or a sweep, with the scenario and seed.
pub enum Merged {
    Run {
        scenario: Box<Scenario>,
        facts: Box<Facts>,
        output: Box<RunOutput>,
        seed: u64,
    },
    Sweep {
        scenario: Box<Scenario>,
        output: Box<SweepOutput>,
        seed: u64,
    },
}

fn merge_err(dir: &Path, message: impl Into<String>) -> Error {
    Error::Invalid {
        file: dir.to_path_buf(),
        key: "shard".into(),
        message: message.into(),
    }
}

/// Merges the shard folders `dirs` (in any order). Every shard of the run must be there, once and
/// complete; a missing or incomplete shard is an error that names it.
pub fn merge(dirs: &[PathBuf], threads: usize) -> Result<Merged> {
    let mut shards = Vec::new();
    for dir in dirs {
        let marker = dir.join("shard.json");
        if !marker.exists() {
            return Err(merge_err(
                dir,
                "incomplete or not a shard: shard.json (the completion marker) is missing",
            ));
        }
        let m: Marker = super::read_json(&marker, "shard.json is damaged: run this shard again")?;
        if !m.complete {
            return Err(merge_err(dir, "the shard is not complete"));
        }
        shards.push((dir.clone(), m));
    }
    let Some((first_dir, first)) = shards.first().cloned() else {
        return Err(Error::Invalid {
            file: "merge".into(),
            key: "DIR".into(),
            message: "expected at least one shard folder".into(),
        });
    };
    let count = first.shards;
    let run = first.run();
    for (dir, m) in &shards {
        for ((key, this), (_, theirs)) in m.run().into_iter().zip(&run) {
            if this != *theirs {
                return Err(merge_err(
                    dir,
                    format!("{key} is {this} but {} has {theirs}", first_dir.display()),
                ));
            }
        }
    }
    shards.sort_by_key(|(_, m)| m.shard);
    for i in 0..count {
        match shards.iter().filter(|(_, m)| m.shard == i).count() {
            1 => {}
            0 => {
                return Err(Error::Invalid {
                    file: "merge".into(),
                    key: format!("shard {i}/{count}"),
                    message: "missing: no folder holds this shard".into(),
                });
            }
            _ => {
                return Err(Error::Invalid {
                    file: "merge".into(),
                    key: format!("shard {i}/{count}"),
                    message: "given more than once".into(),
                });
            }
        }
    }
    if shards.len() as u64 != count {
        return Err(merge_err(
            &first_dir,
            format!("expected {count} shards, found {}", shards.len()),
        ));
    }
    let scenario = Scenario::load(&first_dir.join("scenario.toml"))?;
    // The scenario file must be the one the shards ran, not an edited copy.
    if scenario.content_hash() != first.scenario_hash {
        return Err(merge_err(
            &first_dir,
            format!(
                "scenario.toml has hash {} but the shards ran {}: it was edited after the run",
                scenario.content_hash(),
                first.scenario_hash
            ),
        ));
    }
    let (seed, reps) = (first.master_seed, first.replications);
    let points = point_scenarios(&scenario, seed)?;
    if points.len() as u64 != first.points {
        return Err(merge_err(
            &first_dir,
            format!(
                "the scenario has {} design points but the shards ran {}",
                points.len(),
                first.points
            ),
        ));
    }
    let facts = points[0].facts()?;
    let layout = Layout::of(&scenario, &facts);
    let mut outputs: Vec<Vec<ReplicationOutput>> = (0..points.len()).map(|_| Vec::new()).collect();
    let mut expected_task = 0u64;
    for (dir, m) in &shards {
        let path = dir.join("results.bin");
        let bytes = std::fs::read(&path).map_err(|source| Error::Read {
            file: path.clone(),
            source,
        })?;
        let block = layout.len() * 8;
        let [lo, hi] = m.tasks;
        if lo != expected_task || hi < lo || bytes.len() as u64 != (hi - lo) * block as u64 {
            return Err(merge_err(
                dir,
                "results.bin does not hold the shard's tasks: the shard is incomplete",
            ));
        }
        if crc32fast::hash(&bytes) != m.results_crc32 {
            return Err(merge_err(
                dir,
                "results.bin does not match the checksum in shard.json: it was damaged or edited; run this shard again",
            ));
        }
        for (chunk, task) in bytes.chunks(block).zip(lo..hi) {
            let values: Vec<f64> = f64s(chunk).collect();
            let (point, out) = decode(&values, layout);
            // Task t is (point t / R, replication t mod R); anything else is a damaged file.
            if reps == 0 || point != task / reps || out.record.replication != task % reps {
                return Err(merge_err(
                    dir,
                    format!(
                        "results.bin is damaged: task {task} does not hold its point and replication"
                    ),
                ));
            }
            if let Some(what) = not_a_result(&out, scenario.n_years()) {
                return Err(merge_err(
                    dir,
                    format!("results.bin is damaged: task {task} has {what}"),
                ));
            }
            if task == lo {
                // The seed and the scenario, checked against the data: the shard's first task
                // simulated again must give the same bytes.
                let s = &points[point as usize];
                let again = super::simulate(s, &s.facts()?, seed, 0, task % reps)?;
                let (mut a, mut b) = (Vec::new(), Vec::new());
                encode(point, &again, &mut a);
                encode(point, &out, &mut b);
                if a != b {
                    return Err(merge_err(
                        dir,
                        format!(
                            "task {task} simulated again from scenario.toml and master seed {seed} does not give the shard's results: the shard ran another seed or scenario than its shard.json says"
                        ),
                    ));
                }
            }
            outputs[point as usize].push(out);
        }
        expected_task = hi;
    }
    if expected_task != reps * first.points {
        return Err(merge_err(
            &first_dir,
            format!(
                "the shards hold {expected_task} tasks, the run has {}",
                reps * first.points
            ),
        ));
    }
    match &scenario.sweep {
        None => {
            let mut acc = Accumulator::new(&scenario, &facts, reps);
            for out in outputs.remove(0) {
                acc.push(out);
            }
            Ok(Merged::Run {
                output: Box::new(acc.finish(threads, 0.0)),
                scenario: Box::new(scenario),
                facts: Box::new(facts),
                seed,
            })
        }
        Some(sweep) => Ok(Merged::Sweep {
            output: Box::new(sweep_output(sweep, seed, outputs, threads)),
            scenario: Box::new(scenario.clone()),
            seed,
        }),
    }
}

/// What makes a decoded task something no replication produces, if anything: a value that must
/// be finite and is not (levels, drift, stocks, parties, the per-State finals; the RTB indices
/// unless protection started at 0), an infinite trace value (NaN marks "not observed"), or a
/// year to the floor outside the run.
fn not_a_result(out: &ReplicationOutput, n_years: usize) -> Option<String> {
    let r = &out.record;
    let finite: [(&str, &[f64]); 7] = [
        ("start levels", &[r.start.mean, r.start.migrant_weighted]),
        ("end levels", &[r.end.mean, r.end.migrant_weighted]),
        (
            "domain levels",
            &[
                r.start.domains[0],
                r.start.domains[1],
                r.start.domains[2],
                r.end.domains[0],
                r.end.domains[1],
                r.end.domains[2],
            ],
        ),
        (
            "end values",
            &[r.drift_per_decade, r.irregular_share_end, r.pressure_end],
        ),
        ("parties", &r.parties),
        ("per-State finals", &out.finals),
        (
            "RTB indices",
            &[
                if r.start.mean > 0.0 { r.rtb } else { 0.0 },
                if r.start.migrant_weighted > 0.0 {
                    r.rtb_migrant_weighted
                } else {
                    0.0
                },
            ],
        ),
    ];
    for (what, values) in finite {
        if let Some(x) = values.iter().find(|x| !x.is_finite()) {
            return Some(format!("{what} that are not finite ({x})"));
        }
    }
    if let Some(x) = out
        .trace
        .iter()
        .chain(&r.attendance)
        .find(|x| x.is_infinite())
    {
        return Some(format!(
            "an infinite value in its trace or attendance ({x})"
        ));
    }
    if let Some(y) = r.years_to_floor
        && !(1..=n_years as u32).contains(&y)
    {
        return Some(format!(
            "{y} years to the floor in a run of {n_years} years"
        ));
    }
    None
}

fn sweep_output(
    sweep: &Sweep,
    seed: u64,
    outputs: Vec<Vec<ReplicationOutput>>,
    threads: usize,
) -> SweepOutput {
    SweepOutput {
        design: super::sweep::design_name(sweep),
        keys: sweep.params.iter().map(|p| p.key.clone()).collect(),
        points: sweep.points(seed),
        records: outputs
            .into_iter()
            .map(|v| v.into_iter().map(|o| o.record).collect())
            .collect(),
        threads,
        wall_seconds: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_tasks() {
        for total in [0u64, 1, 7, 200, 1001] {
            for count in 1..6 {
                let mut next = 0;
                for index in 0..count {
                    let r = ShardSpec { index, count }.range(total);
                    assert_eq!(r.start, next);
                    next = r.end;
                }
                assert_eq!(next, total);
            }
        }
        assert!(ShardSpec::parse("3/3").is_err());
        assert!(ShardSpec::parse("x/3").is_err());
        assert_eq!(
            ShardSpec::parse("1/3"),
            Ok(ShardSpec { index: 1, count: 3 })
        );
    }
}
