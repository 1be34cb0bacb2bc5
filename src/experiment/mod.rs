//! Experiments: replications of a scenario run in parallel with rayon, each from its own seeded
//! streams, collected by index and reduced in index order.
//!
//! Replication *r* depends only on (scenario, master seed, sweep point, *r*), never on the thread
//! count or the order in which replications finish.

pub mod abc;
pub mod calibration;
pub mod compare;
pub mod design;
pub mod direct_io;
pub mod explain;
pub mod memory;
pub mod observe;
pub mod rerun;
pub mod robustness;
pub mod seeds;
pub mod sensitivity;
pub mod shard;
pub mod state_years;
pub mod stream;
pub mod sweep;
pub mod voices;

use std::path::Path;
use std::time::Instant;

use crate::dynamics;
use crate::error::{Error, Result};
use crate::scenario::Scenario;
use crate::world::{Facts, World};
use observe::{ProtectionLevels, metric_names, observe, protection_levels};

/// How to run a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    pub replications: u64,
    pub seed: u64,
    /// Worker threads (results never depend on it).
    pub threads: usize,
    /// Sweep point index (0 for a plain run).
    pub point: u64,
    /// Testing hook: report replication K as broken (to test the handling of failures).
    pub inject_failure: Option<u64>,
}

impl RunConfig {
    /// The scenario's own settings with `threads` workers.
    pub fn from_scenario(scenario: &Scenario, threads: usize) -> RunConfig {
        RunConfig {
            replications: scenario.run.replications,
            seed: scenario.run.seed,
            threads: threads.max(1),
            point: 0,
            inject_failure: None,
        }
    }
}

/// Replication-level results (one row of `replications.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicationRecord {
    pub replication: u64,
    pub start: ProtectionLevels,
    pub end: ProtectionLevels,
    /// Race-to-the-bottom index (P(0) - P(T)) / P(0) on mean protection.
    pub rtb: f64,
    /// The same on migrant-weighted protection.
    pub rtb_migrant_weighted: f64,
    /// Change of mean protection per decade.
    pub drift_per_decade: f64,
    /// Years from the start until mean protection first fell below the floor (None: never).
    pub years_to_floor: Option<u32>,
    pub irregular_share_end: f64,
    pub pressure_end: f64,
    /// Parties per treaty at the end.
    pub parties: Vec<f64>,
    /// Mean attendance per forum over its meetings (NaN if it never met).
    pub attendance: Vec<f64>,
}

/// Everything one replication produces.
#[derive(Debug, Clone)]
pub struct ReplicationOutput {
    pub record: ReplicationRecord,
    /// Year-major trace: `trace[t * n_metrics + m]`.
    pub trace: Vec<f64>,
    /// Final values per State: the instruments, pressure, party status per treaty, then the share of
    /// each forum's meetings the State attended.
    pub finals: Vec<f64>,
}

/// Columns of the per-State finals, before one per treaty.
pub const STATE_COLUMNS: [&str; 10] = [
    "protection_asylum",
    "protection_labour",
    "protection_trafficking",
    "enforcement",
    "legal_channels",
    "pressure",
    "recognition_rate",
    "immigrant_stock",
    "refugee_stock",
    "irregular_stock",
];

/// Results of a run, reduced in replication order.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Replications that broke an invariant; they are left out of every statistic.
    pub failures: Vec<Failure>,
    pub metrics: Vec<String>,
    pub years: Vec<i32>,
    /// Every replication's trace: in memory, or streamed to a file by `stream::run_streaming`.
    pub traces: stream::Traces,
    /// Every kept replication's record, in replication order: in memory, or in the record file
    /// of `stream::run_streaming` (read back one record at a time).
    pub records: Records,
    /// Mean over replications of each State's finals: `state_means[i * n_columns + c]`.
    pub state_means: Vec<f64>,
    pub state_columns: Vec<String>,
    pub threads: usize,
    pub wall_seconds: f64,
}

/// The records of a run's kept replications, in replication order.
#[derive(Debug, Clone)]
pub enum Records {
    Memory(Vec<ReplicationRecord>),
    /// A file of records encoded as in a shard (without trace and finals), so that the memory of
    /// a streamed run does not grow with its replications.
    File(stream::RecordFile),
}

impl Records {
    /// The number of records.
    pub fn len(&self) -> usize {
        match self {
            Records::Memory(v) => v.len(),
            Records::File(f) => f.count,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with each record, in replication order.
    pub fn for_each(&self, f: &mut dyn FnMut(&ReplicationRecord) -> Result<()>) -> Result<()> {
        match self {
            Records::Memory(v) => v.iter().try_for_each(f),
            Records::File(file) => file.for_each(f),
        }
    }

    /// The records in memory (read from the file if they are in one).
    pub fn into_vec(self) -> Result<Vec<ReplicationRecord>> {
        match self {
            Records::Memory(v) => Ok(v),
            Records::File(file) => {
                let mut v = Vec::with_capacity(file.count);
                file.for_each(&mut |r| {
                    v.push(r.clone());
                    Ok(())
                })?;
                Ok(v)
            }
        }
    }

    /// One value of each record, in replication order.
    pub fn column(&self, f: impl Fn(&ReplicationRecord) -> f64) -> Result<Vec<f64>> {
        let [values] = self.columns([&f])?;
        Ok(values)
    }

    /// [`Records::column`] of each of `fs`, in one pass over the records.
    pub fn columns<const G: usize>(
        &self,
        fs: [&dyn Fn(&ReplicationRecord) -> f64; G],
    ) -> Result<[Vec<f64>; G]> {
        let mut values: [Vec<f64>; G] = std::array::from_fn(|_| Vec::with_capacity(self.len()));
        self.for_each(&mut |r| {
            for (v, f) in values.iter_mut().zip(fs) {
                v.push(f(r));
            }
            Ok(())
        })?;
        Ok(values)
    }
}

/// The headline figures of a run, as the command prints them: the RTB indices, the mean
/// protection per domain at the start and the end, the parties per treaty and the attendance per
/// forum (each summarised across the kept replications; `None` where no value is finite).
#[derive(Debug, Clone)]
pub struct Headline {
    pub replications: usize,
    pub years: (i32, i32),
    pub wall_seconds: f64,
    pub rtb: Option<crate::stats::Summary>,
    pub rtb_migrant_weighted: Option<crate::stats::Summary>,
    /// Per domain: the mean protection at the start and at the end.
    pub domains: Vec<(Option<crate::stats::Summary>, Option<crate::stats::Summary>)>,
    pub parties: Vec<Option<crate::stats::Summary>>,
    pub attendance: Vec<Option<crate::stats::Summary>>,
    pub failures: usize,
}

impl Headline {
    /// Reads the headline figures of `run` (one pass over its records per four figures, the
    /// passes on the run's threads).
    pub fn of(run: &RunOutput, scenario: &Scenario) -> Result<Headline> {
        use rayon::prelude::*;
        type Figure = Box<dyn Fn(&ReplicationRecord) -> f64 + Sync>;
        let domains = crate::world::N_DOMAINS;
        let (treaties, forums) = (scenario.treaties.len(), scenario.forums.len());
        let mut figures: Vec<Figure> =
            vec![Box::new(|r| r.rtb), Box::new(|r| r.rtb_migrant_weighted)];
        for d in 0..domains {
            figures.push(Box::new(move |r| r.start.domains[d]));
            figures.push(Box::new(move |r| r.end.domains[d]));
        }
        figures.extend(
            (0..treaties).map(|k| Box::new(move |r: &ReplicationRecord| r.parties[k]) as Figure),
        );
        figures.extend(
            (0..forums).map(|k| Box::new(move |r: &ReplicationRecord| r.attendance[k]) as Figure),
        );
        // Four figures per pass over the records, summarised together (their sums side by side,
        // `stats::summarize_columns`); the last pass repeats its last figure where it is short.
        let groups: Vec<[&Figure; 4]> = figures
            .chunks(4)
            .map(|g| std::array::from_fn(|k| &g[k.min(g.len() - 1)]))
            .collect();
        let summaries = thread_pool(run.threads)?.install(|| {
            groups
                .par_iter()
                .map_init(<[Vec<f64>; 4]>::default, |scratch, group| {
                    let fs = group.map(|f| f.as_ref() as &dyn Fn(&ReplicationRecord) -> f64);
                    let columns = run.records.columns(fs)?;
                    let values = columns.each_ref().map(|c| c.as_slice());
                    Ok(crate::stats::summarize_columns(values, scratch))
                })
                .collect::<Result<Vec<_>>>()
        })?;
        let mut next = summaries.into_iter().flatten().take(figures.len());
        let mut take = |k: usize| next.by_ref().take(k).collect::<Vec<_>>();
        let (rtb, domain_figures) = (take(2), take(2 * domains));
        Ok(Headline {
            replications: run.records.len(),
            years: (
                run.years.first().copied().unwrap_or_default(),
                run.years.last().copied().unwrap_or_default(),
            ),
            wall_seconds: run.wall_seconds,
            rtb: rtb[0],
            rtb_migrant_weighted: rtb[1],
            domains: domain_figures.chunks(2).map(|p| (p[0], p[1])).collect(),
            parties: take(treaties),
            attendance: take(forums),
            failures: run.failures.len(),
        })
    }
}

/// Reads a JSON file this program wrote (a checkpoint, a shard's marker) into `T`. A damaged file
/// is an error naming the file and the path of the offending key (`failures[0].year`), never a
/// silent default; `hint` says what the user can do.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path, hint: &str) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        file: path.to_path_buf(),
        source,
    })?;
    let damaged = |key: String, e: &serde_json::Error| Error::Invalid {
        file: path.to_path_buf(),
        key,
        message: format!("{e}; {hint}"),
    };
    let mut de = serde_json::Deserializer::from_str(&text);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| damaged(e.path().to_string(), e.inner()))?;
    de.end().map_err(|e| damaged(".".into(), &e))?;
    Ok(value)
}

/// A replication that broke an invariant (a row of `failures.csv`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    pub point: u64,
    pub replication: u64,
    /// The replication's seed key (see `seeds::replication_key`).
    pub key: u64,
    pub year: i32,
    pub check: String,
}

/// Simulates one replication.
pub fn simulate(
    scenario: &Scenario,
    facts: &Facts,
    seed: u64,
    point: u64,
    replication: u64,
) -> Result<ReplicationOutput> {
    simulate_with(scenario, facts, seed, point, replication, &mut |_| {})
}

/// [`simulate`], calling `inspect` with the world at the end of every year (after observation).
pub fn simulate_with(
    scenario: &Scenario,
    facts: &Facts,
    seed: u64,
    point: u64,
    replication: u64,
    inspect: &mut dyn FnMut(&World),
) -> Result<ReplicationOutput> {
    Replicator::new(scenario, facts, seed, point).simulate(replication, inspect)
}

/// Simulates replications of one scenario (and master seed and sweep point), for a worker that
/// runs many. Under a posterior each replication runs its own drawn parameters: they are
/// written into one copy of the scenario kept here (made at the first replication;
/// [`Scenario::draw_into`] writes only the drawn keys), so the scenario is copied once per
/// worker, not once per replication.
pub struct Replicator<'a> {
    scenario: &'a Scenario,
    facts: &'a Facts,
    seed: u64,
    point: u64,
    drawn: Option<Scenario>,
}

impl<'a> Replicator<'a> {
    pub fn new(scenario: &'a Scenario, facts: &'a Facts, seed: u64, point: u64) -> Replicator<'a> {
        Replicator {
            scenario,
            facts,
            seed,
            point,
            drawn: None,
        }
    }

    /// [`simulate_with`] of replication `replication`.
    pub fn simulate(
        &mut self,
        replication: u64,
        inspect: &mut dyn FnMut(&World),
    ) -> Result<ReplicationOutput> {
        let key = seeds::replication_key(self.seed, self.point, replication);
        // Under a posterior, the replication runs the parameter set it draws: from a stream of
        // its own key, so every scenario of a comparison draws the same set in the same
        // replication.
        let scenario = match &self.scenario.posterior {
            Some(_) => {
                use rand::RngExt;
                let u: f64 = seeds::stream(key, seeds::POSTERIOR).random();
                let drawn = self
                    .drawn
                    .get_or_insert_with(|| self.scenario.at_point_values());
                self.scenario.draw_into(u, drawn);
                &*drawn
            }
            None => self.scenario,
        };
        run_replication(scenario, self.facts, key, replication, inspect)
    }
}

/// One replication of `scenario` (its parameters drawn already) from its seed `key`.
fn run_replication(
    scenario: &Scenario,
    facts: &Facts,
    key: u64,
    replication: u64,
    inspect: &mut dyn FnMut(&World),
) -> Result<ReplicationOutput> {
    let mut world_rng = seeds::stream(key, seeds::WORLD);
    let mut world = World::new(facts, scenario, &mut world_rng);
    let mut streams = seeds::streams(key, scenario);
    dynamics::start(&mut world, scenario, facts, key, &mut streams);
    let metrics = metric_names(scenario, &facts.region_names).len();
    let mut region_scratch = vec![0.0; 2 * facts.n_regions()];
    let n_years = scenario.n_years();
    let mut trace = vec![f64::NAN; n_years * metrics];
    let mut scratch = Vec::with_capacity(world.n_states);
    let start = protection_levels(&world);
    let mut years_to_floor = None;
    let mut attendance_sum = vec![0.0; world.forums.len()];
    let mut meetings = vec![0u32; world.forums.len()];
    // Meetings attended by each State, per forum.
    let mut attended = vec![vec![0u32; world.n_states]; world.forums.len()];
    for t in 0..n_years {
        let year = world.year;
        dynamics::step(&mut world, scenario, &mut streams);
        if let Some(check) = world.check_invariants() {
            return Err(Error::Invariant {
                replication,
                year,
                check,
            });
        }
        let row = &mut trace[t * metrics..(t + 1) * metrics];
        observe(&world, scenario, row, &mut scratch, &mut region_scratch);
        if years_to_floor.is_none() && row[0] < scenario.observation.floor {
            years_to_floor = Some(t as u32 + 1);
        }
        inspect(&world);
        for (f, forum) in world.forums.iter().enumerate() {
            if forum.met_this_year {
                attendance_sum[f] += forum.attendance as f64;
                meetings[f] += 1;
                // Added without a branch: who attended is a coin flip to the processor.
                let counts = &mut attended[f];
                for (&i, &came) in forum.participants.iter().zip(&forum.attended) {
                    counts[i as usize] += u32::from(came);
                }
            }
        }
    }
    let end = protection_levels(&world);
    let rtb = |a: f64, b: f64| if a > 0.0 { (a - b) / a } else { f64::NAN };
    let n = world.n_states;
    let n_treaties = world.treaties.len();
    let columns = STATE_COLUMNS.len() + n_treaties + world.forums.len();
    let mut finals = vec![0.0; n * columns];
    for i in 0..n {
        let row = &mut finals[i * columns..(i + 1) * columns];
        for (d, p) in world.protection.iter().enumerate() {
            row[d] = p[i];
        }
        row[3] = world.enforcement[i];
        row[4] = world.legal[i];
        row[5] = world.pressure[i];
        row[6] = world.recognition_rate(i, scenario);
        row[7] = world.stock(i);
        row[8] = world.stock_refugee[i];
        row[9] = world.stock_irregular[i];
        for (k, t) in world.treaties.iter().enumerate() {
            row[STATE_COLUMNS.len() + k] = if t.party[i] { 1.0 } else { 0.0 };
        }
        for f in 0..world.forums.len() {
            row[STATE_COLUMNS.len() + n_treaties + f] = if meetings[f] > 0 {
                f64::from(attended[f][i]) / f64::from(meetings[f])
            } else {
                0.0
            };
        }
    }
    let last = &trace[(n_years - 1) * metrics..];
    let record = ReplicationRecord {
        replication,
        start,
        end,
        rtb: rtb(start.mean, end.mean),
        rtb_migrant_weighted: rtb(start.migrant_weighted, end.migrant_weighted),
        drift_per_decade: (end.mean - start.mean) / (n_years as f64 / 10.0),
        years_to_floor,
        irregular_share_end: last[11],
        pressure_end: last[16],
        parties: world
            .treaties
            .iter()
            .map(|t| t.n_parties() as f64)
            .collect(),
        attendance: attendance_sum
            .iter()
            .zip(&meetings)
            .map(|(s, &m)| if m > 0 { s / f64::from(m) } else { f64::NAN })
            .collect(),
    };
    Ok(ReplicationOutput {
        record,
        trace,
        finals,
    })
}

/// Reduces replication outputs, pushed in replication order, into a [`RunOutput`]. The one
/// reduction used by a run in one process and by a merge of shards, so both give the same bytes.
pub struct Accumulator {
    state_columns: Vec<String>,
    state_sums: Vec<f64>,
    traces: Vec<Vec<f64>>,
    records: Vec<ReplicationRecord>,
    metrics: Vec<String>,
    years: Vec<i32>,
}

impl Accumulator {
    pub fn new(scenario: &Scenario, facts: &Facts, replications: u64) -> Accumulator {
        let state_columns: Vec<String> = STATE_COLUMNS
            .iter()
            .map(|s| s.to_string())
            .chain(
                scenario
                    .treaties
                    .iter()
                    .map(|t| format!("ratified_{}", t.name)),
            )
            .chain(
                scenario
                    .forums
                    .iter()
                    .map(|f| format!("attended_{}", f.name)),
            )
            .collect();
        let n_states = facts.n_states();
        let first = scenario.run.start_year;
        Accumulator {
            state_sums: vec![0.0; n_states * state_columns.len()],
            state_columns,
            // Grown as replications arrive, never reserved for all of them: a run of many
            // replications streams them instead (`stream::run_streaming`).
            traces: Vec::with_capacity(replications.min(1024) as usize),
            records: Vec::with_capacity(replications.min(1024) as usize),
            metrics: metric_names(scenario, &facts.region_names),
            years: (0..scenario.n_years() as i32).map(|t| first + t).collect(),
        }
    }

    /// The running per-State sums.
    pub fn sums(&self) -> &[f64] {
        &self.state_sums
    }

    /// Restores the running sums from a checkpoint; `Err` with the expected number of sums if
    /// `sums` has another length.
    pub fn restore_sums(&mut self, sums: &[f64]) -> std::result::Result<(), usize> {
        if sums.len() != self.state_sums.len() {
            return Err(self.state_sums.len());
        }
        self.state_sums.copy_from_slice(sums);
        Ok(())
    }

    /// Adds the next replication's finals to the running sums (in replication order).
    pub fn push_sums(&mut self, finals: &[f64]) {
        for (s, v) in self.state_sums.iter_mut().zip(finals) {
            *s += v;
        }
    }

    /// Adds the next replication's record (its trace lives elsewhere).
    pub fn push_record(&mut self, record: ReplicationRecord) {
        self.records.push(record);
    }

    /// Adds the next replication (in replication order).
    pub fn push(&mut self, out: ReplicationOutput) {
        self.push_sums(&out.finals);
        self.traces.push(out.trace);
        self.push_record(out.record);
    }

    pub fn finish(mut self, threads: usize, wall_seconds: f64) -> RunOutput {
        let (traces, records) = (
            stream::Traces::Memory(std::mem::take(&mut self.traces)),
            Records::Memory(std::mem::take(&mut self.records)),
        );
        self.finish_with(traces, records, threads, wall_seconds)
    }

    /// [`Accumulator::finish`] with traces and records kept elsewhere (a streamed run's files).
    pub fn finish_with(
        self,
        traces: stream::Traces,
        records: Records,
        threads: usize,
        wall_seconds: f64,
    ) -> RunOutput {
        let reps = records.len().max(1) as f64;
        RunOutput {
            failures: Vec::new(),
            metrics: self.metrics,
            years: self.years,
            traces,
            records,
            state_means: self.state_sums.iter().map(|s| s / reps).collect(),
            state_columns: self.state_columns,
            threads,
            wall_seconds,
        }
    }
}

/// Builds the thread pool of a run.
pub fn thread_pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| Error::Write {
            path: "thread pool".into(),
            source: std::io::Error::other(e),
        })
}

/// How far the simulation may run ahead of the sequential reduction, in replications: enough to
/// keep every thread busy while the reduction writes, few enough to keep memory bounded by the
/// rows kept. Also the step of progress reports.
pub fn chunk_size(threads: usize) -> u64 {
    16 * threads.max(1) as u64
}

/// Where the sink of [`for_each_replication`] is, for the workers that wait on it.
struct Gate {
    /// Replications handed to the sink so far (the next one it needs).
    sunk: u64,
    /// The sink has left (done, failed or panicked): stop.
    stop: bool,
}

/// Stops the workers of [`for_each_replication`] when dropped.
struct Release<'a>(&'a std::sync::Mutex<Gate>, &'a std::sync::Condvar);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .stop = true;
        self.1.notify_all();
    }
}

/// Simulates replications `range` of `point` on `pool`, calling `sink` on this thread with each
/// output in replication order.
///
/// Each worker takes the next replication from a shared counter and runs at most `window`
/// replications ahead of the sink, so the outputs waiting to be handed over stay few and the
/// sink's work (writing blocks to disk) overlaps the simulation instead of idling the pool at a
/// barrier. Which thread simulates a replication never changes its output, and the sink sees
/// them in order, so results do not depend on the number of threads.
#[allow(clippy::too_many_arguments)]
pub fn for_each_replication(
    scenario: &Scenario,
    facts: &Facts,
    seed: u64,
    point: u64,
    range: std::ops::Range<u64>,
    pool: &rayon::ThreadPool,
    window: u64,
    sink: &mut dyn FnMut(u64, Result<ReplicationOutput>) -> Result<()>,
) -> Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Condvar, Mutex, PoisonError, mpsc};
    let window = window.max(1);
    let next = AtomicU64::new(range.start);
    let gate = Mutex::new(Gate {
        sunk: range.start,
        stop: false,
    });
    let moved = Condvar::new();
    let lock = || gate.lock().unwrap_or_else(PoisonError::into_inner);
    let (tx, rx) = mpsc::channel::<(u64, Result<ReplicationOutput>)>();
    let mut result = Ok(());
    pool.in_place_scope(|scope| {
        for _ in 0..pool.current_num_threads() {
            let tx = tx.clone();
            let (next, range, lock, moved) = (&next, &range, &lock, &moved);
            scope.spawn(move |_| {
                let mut replicator = Replicator::new(scenario, facts, seed, point);
                loop {
                    let r = next.fetch_add(1, Ordering::Relaxed);
                    if r >= range.end {
                        return;
                    }
                    let mut g = lock();
                    while !g.stop && r >= g.sunk + window {
                        g = moved.wait(g).unwrap_or_else(PoisonError::into_inner);
                    }
                    if g.stop {
                        return;
                    }
                    drop(g);
                    let out = replicator.simulate(r, &mut |_| {});
                    if tx.send((r, out)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        // However this thread leaves (done, a failed sink, a panic), the waiting workers are
        // released, and the receiver's drop makes the others' next send fail: the scope ends.
        let _release = Release(&gate, &moved);
        // Outputs that arrived before an earlier one, by replication (a few at most).
        let mut waiting = std::collections::BTreeMap::new();
        let mut expected = range.start;
        for (r, out) in rx {
            waiting.insert(r, out);
            while let Some(out) = waiting.remove(&expected) {
                if let Err(e) = sink(expected, out) {
                    result = Err(e);
                    return;
                }
                expected += 1;
                lock().sunk = expected;
                moved.notify_all();
            }
        }
    });
    result
}

/// A replication's outcome: its output, or the invariant it broke, as a [`Failure`] (the batch
/// goes on). Other errors stop the run. Applies the `inject_failure` testing hook.
pub(crate) fn outcome(
    scenario: &Scenario,
    config: &RunConfig,
    r: u64,
    out: Result<ReplicationOutput>,
) -> Result<std::result::Result<ReplicationOutput, Failure>> {
    let out = match (out, config.inject_failure) {
        (Ok(_), Some(k)) if k == r => Err(Error::Invariant {
            replication: r,
            year: scenario.run.start_year,
            check: "injected failure (testing hook)".into(),
        }),
        (out, _) => out,
    };
    match out {
        Ok(out) => Ok(Ok(out)),
        Err(Error::Invariant {
            replication,
            year,
            check,
        }) => Ok(Err(Failure {
            point: config.point,
            replication,
            key: seeds::replication_key(config.seed, config.point, replication),
            year,
            check,
        })),
        Err(e) => Err(e),
    }
}

/// Runs all replications of a scenario. `progress` is called with the number of replications
/// done after each chunk (from the calling thread).
pub fn run(
    scenario: &Scenario,
    facts: &Facts,
    config: &RunConfig,
    progress: &mut dyn FnMut(u64),
) -> Result<RunOutput> {
    let started = Instant::now();
    let pool = thread_pool(config.threads)?;
    let mut acc = Accumulator::new(scenario, facts, config.replications);
    let mut failures = Vec::new();
    let chunk = chunk_size(config.threads);
    for_each_replication(
        scenario,
        facts,
        config.seed,
        config.point,
        0..config.replications,
        &pool,
        chunk,
        &mut |r, out| {
            match outcome(scenario, config, r, out)? {
                Ok(out) => acc.push(out),
                Err(failure) => failures.push(failure),
            }
            if (r + 1) % chunk == 0 || r + 1 == config.replications {
                progress(r + 1);
            }
            Ok(())
        },
    )?;
    let mut output = acc.finish(config.threads.max(1), started.elapsed().as_secs_f64());
    output.failures = failures;
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn short_status_quo() -> (Scenario, Facts) {
        let mut scenario = Scenario::builtin_default().expect("scenario");
        scenario.run.end_year = scenario.run.start_year + 2;
        let facts = scenario.facts().expect("facts");
        (scenario, facts)
    }

    /// The sink sees every replication once, in order, with the output simulated alone, whatever
    /// the threads and however short the window.
    #[test]
    fn replications_reach_the_sink_in_order() {
        let (scenario, facts) = short_status_quo();
        for (threads, window) in [(1, 1), (3, 1), (3, 2), (2, 32)] {
            let pool = thread_pool(threads).expect("pool");
            let mut seen = Vec::new();
            for_each_replication(
                &scenario,
                &facts,
                9,
                0,
                3..40,
                &pool,
                window,
                &mut |r, out| {
                    let out = out?;
                    seen.push((r, out.record.rtb.to_bits()));
                    Ok(())
                },
            )
            .expect("runs");
            let rs: Vec<u64> = seen.iter().map(|s| s.0).collect();
            assert_eq!(rs, (3..40).collect::<Vec<_>>(), "{threads} threads");
            for &(r, rtb) in seen.iter().step_by(9) {
                let alone = simulate(&scenario, &facts, 9, 0, r).expect("runs");
                assert_eq!(alone.record.rtb.to_bits(), rtb, "replication {r}");
            }
        }
    }

    /// Runs `f` on its own thread and returns its result, failing if it takes longer than two
    /// minutes: a run whose workers wait forever fails the test instead of hanging it.
    fn ends<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(f());
        });
        finished
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("the run ended instead of hanging")
    }

    /// A failing sink stops the run with its error: nothing after it is handed over, and the
    /// workers waiting on the window (of one replication) are released.
    #[test]
    fn a_failing_sink_stops_the_run() {
        let (result, calls) = ends(|| {
            let (scenario, facts) = short_status_quo();
            let pool = thread_pool(2).expect("pool");
            let mut calls = 0;
            let result =
                for_each_replication(&scenario, &facts, 9, 0, 0..200, &pool, 1, &mut |r, _| {
                    calls += 1;
                    if r == 7 {
                        return Err(Error::Write {
                            path: "disk".into(),
                            source: std::io::Error::other("full"),
                        });
                    }
                    Ok(())
                });
            (result, calls)
        });
        assert!(matches!(result, Err(Error::Write { .. })));
        assert_eq!(calls, 8);
    }

    /// A panicking sink ends the run with that panic, the workers released likewise.
    #[test]
    fn a_panicking_sink_does_not_hang_the_workers() {
        let panicked = ends(|| {
            let (scenario, facts) = short_status_quo();
            let pool = thread_pool(2).expect("pool");
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                for_each_replication(&scenario, &facts, 9, 0, 0..50, &pool, 1, &mut |r, _| {
                    assert!(r < 3, "the sink breaks at replication 3");
                    Ok(())
                })
            }))
            .is_err()
        });
        assert!(panicked, "the sink's panic reaches the caller");
    }
}
