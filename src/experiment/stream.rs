//! Streaming and crash-safe runs: replications go to disk as they complete, in index order, so
//! the memory of a run does not grow with its replications, and a run killed at any moment
//! continues with `--resume` to files byte-identical to an uninterrupted run.
//!
//! The work folder (`.<name>.partial` beside the result) holds the resolved scenario, the traces
//! in blocks of [`BLOCK`] replications stored column by column (so a summary column is read with
//! one read per block), the replication records, and `checkpoint.json`: the number of complete
//! blocks, the running per-State sums (as exact f64 bits) and the failures so far. The checkpoint
//! is replaced atomically after each block's data are on disk; on resume, data past it are cut
//! off and the run goes on from the next block. The result folder appears only by a rename at the
//! very end, so a partial result is never mistaken for a complete one.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::direct_io::{self, AppendFile, ReadFile};
use super::shard::{Layout, decode, encode, f64s};
use super::{
    Accumulator, Failure, ReplicationOutput, RunConfig, RunOutput, chunk_size,
    for_each_replication, outcome, read_json, thread_pool,
};

use crate::error::{Error, Result};
use crate::scenario::Scenario;
use crate::world::Facts;

/// Replications per trace block.
pub const BLOCK: usize = 256;

/// Where the traces of a run are.
#[derive(Debug, Clone)]
pub enum Traces {
    /// One trace per replication, in memory.
    Memory(Vec<Vec<f64>>),
    /// A trace file of blocks of [`BLOCK`] replications, each stored column by column and
    /// padded with zeros to a multiple of [`direct_io::ALIGN`] bytes.
    File {
        path: PathBuf,
        columns: usize,
        /// Replications stored in each block (fewer than [`BLOCK`] where some failed).
        blocks: Vec<usize>,
        /// Whether to read it past the page cache ([`direct_trace`]).
        direct: bool,
    },
}

/// Bytes of a block of `replications` replications of `columns` trace columns in the trace
/// file, its padding included.
pub fn block_bytes(replications: usize, columns: usize) -> usize {
    direct_io::padded(replications * columns * 8)
}

/// The least bytes per read of a block for which a summary reads the trace file past the page
/// cache: smaller direct reads wait on the disk more than the page cache costs.
const DIRECT_READ: usize = 128 << 10;

/// Whether a streamed run of `reps` replications writes and reads its trace past the page cache
/// ([`direct_io`]): where its summary's reads of a block ([`read_ahead`] over the replications,
/// times a block) are at least [`DIRECT_READ`] bytes, up to 8,192 replications. A larger run
/// writes through the cache, which still holds the trace when the summary reads it back in
/// smaller pieces.
pub fn direct_trace(reps: usize) -> bool {
    columns_per_read(read_ahead(reps), reps) * BLOCK * 8 >= DIRECT_READ
}

/// The trace columns a read-ahead of `read_ahead` bytes holds over `reps` replications (at
/// least one).
fn columns_per_read(read_ahead: usize, reps: usize) -> usize {
    (read_ahead / (8 * reps.max(1))).max(1)
}

impl Traces {
    /// The replications the traces hold.
    fn replications(&self) -> usize {
        match self {
            Traces::Memory(traces) => traces.len(),
            Traces::File { blocks, .. } => blocks.iter().sum(),
        }
    }

    /// A reader of the trace columns, for reading many of them.
    pub fn reader(&self) -> ColumnReader<'_> {
        ColumnReader {
            traces: self,
            file: None,
            cache: Vec::new(),
            cached: 0..0,
            read_ahead: read_ahead(self.replications()),
        }
    }

    /// `f` of each of the trace columns `0..n`, in column order, computed on the threads of the
    /// rayon pool it runs in: each takes one run of columns at a time (what one read-ahead of a
    /// reader of its own holds) and gives `f` a scratch vector of its own, so memory stays at a
    /// read-ahead or two per thread, and the results do not depend on the thread count.
    pub fn map_columns<T: Send>(
        &self,
        n: usize,
        f: impl Fn(&[f64], &mut Vec<f64>) -> T + Sync,
    ) -> Result<Vec<T>> {
        self.map_column_groups(n, |[values], [scratch]| [f(values, scratch)])
    }

    /// [`Traces::map_columns`] with `f` given `G` consecutive columns at a time (and a scratch
    /// vector for each), so that it can interleave work on several columns; the last group of
    /// a run short of `G` columns repeats its last column, whose extra results are dropped.
    pub fn map_column_groups<const G: usize, T: Send>(
        &self,
        n: usize,
        f: impl Fn([&[f64]; G], &mut [Vec<f64>; G]) -> [T; G] + Sync,
    ) -> Result<Vec<T>> {
        use rayon::prelude::*;
        let run = self.reader().run();
        let runs: Vec<std::ops::Range<usize>> =
            (0..n).step_by(run).map(|c| c..(c + run).min(n)).collect();
        let parts = runs
            .into_par_iter()
            .map_init(
                || {
                    let vectors = || std::array::from_fn::<Vec<f64>, G, _>(|_| Vec::new());
                    (self.reader(), vectors(), vectors())
                },
                |(reader, values, scratch), columns| {
                    let mut out = Vec::with_capacity(columns.len());
                    for first in columns.clone().step_by(G) {
                        let count = G.min(columns.end - first);
                        for (g, v) in values.iter_mut().enumerate() {
                            reader.column(first + g.min(count - 1), v)?;
                        }
                        let results = f(values.each_ref().map(|v| v.as_slice()), scratch);
                        out.extend(results.into_iter().take(count));
                    }
                    Ok(out)
                },
            )
            .collect::<Result<Vec<Vec<T>>>>()?;
        Ok(parts.into_iter().flatten().collect())
    }
}

/// Bytes a [`ColumnReader`] reads ahead: a few megabytes, whatever the number of replications
/// (up to [`BLOCK_COLUMNS`] columns of a very large run, see [`read_ahead`]).
const READ_AHEAD: usize = 4 << 20;

/// Columns of a block each read of a very large run fetches at least: a read per block per run
/// of columns, and a small read costs the kernel more than its bytes (at 100,000 replications a
/// run of [`READ_AHEAD`] bytes is 5 columns, 10 KB per block read).
const BLOCK_COLUMNS: usize = 32;

/// The most bytes a [`ColumnReader`] reads ahead.
const MAX_READ_AHEAD: usize = 32 << 20;

/// Bytes a reader of `reps` replications reads ahead: [`READ_AHEAD`], or for a run so large that
/// this holds fewer than [`BLOCK_COLUMNS`] columns, that many columns, up to [`MAX_READ_AHEAD`]
/// (25.6 MB at 100,000 replications).
fn read_ahead(reps: usize) -> usize {
    READ_AHEAD.max((BLOCK_COLUMNS * 8 * reps).min(MAX_READ_AHEAD))
}

/// Reads trace columns in replication order. On a trace file it opens the file once and reads
/// ahead a run of columns of every block (one read per block per run), so reading the columns in
/// order costs a few reads, not one open and one read per column and block; its memory stays at
/// its read-ahead ([`read_ahead`]).
pub struct ColumnReader<'a> {
    traces: &'a Traces,
    file: Option<ReadFile>,
    /// Columns `cached` of every block, block after block, each column's values contiguous.
    cache: Vec<f64>,
    cached: std::ops::Range<usize>,
    read_ahead: usize,
}

impl ColumnReader<'_> {
    /// The columns one read-ahead holds.
    fn run(&self) -> usize {
        columns_per_read(self.read_ahead, self.traces.replications())
    }

    /// The values of trace column `c` over the replications, in replication order.
    pub fn column(&mut self, c: usize, out: &mut Vec<f64>) -> Result<()> {
        out.clear();
        let (path, columns, blocks, direct) = match self.traces {
            Traces::Memory(traces) => {
                out.extend(traces.iter().map(|t| t[c]));
                return Ok(());
            }
            Traces::File {
                path,
                columns,
                blocks,
                direct,
            } => (path, *columns, blocks, *direct),
        };
        if !self.cached.contains(&c) {
            let read_err = |source| Error::Read {
                file: path.clone(),
                source,
            };
            if c >= columns {
                let past = format!("column {c} of a trace of {columns} columns");
                return Err(read_err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    past,
                )));
            }
            let run = self.run().min(columns - c);
            let f = match &mut self.file {
                Some(f) => f,
                None => self
                    .file
                    .insert(ReadFile::open(path, direct).map_err(read_err)?),
            };
            // Into the cache's own bytes: the file holds little-endian doubles, which are the
            // cache's bytes as they are on a little-endian processor.
            self.cache.resize(run * blocks.iter().sum::<usize>(), 0.0);
            let (mut start, mut at) = (0usize, 0usize);
            for &b in blocks {
                // Columns c..c + run of a block are contiguous.
                let offset = start + c * b * 8;
                let into = bytemuck::cast_slice_mut(&mut self.cache[at..at + run * b]);
                f.read_exact_at(into, offset as u64).map_err(read_err)?;
                start += block_bytes(b, columns);
                at += run * b;
            }
            if cfg!(target_endian = "big") {
                for v in &mut self.cache {
                    *v = f64::from_bits(u64::from_le(v.to_bits()));
                }
            }
            self.cached = c..c + run;
        }
        let (k, run) = (c - self.cached.start, self.cached.len());
        let mut at = 0;
        for &b in blocks {
            out.extend_from_slice(&self.cache[at + k * b..at + (k + 1) * b]);
            at += run * b;
        }
        Ok(())
    }
}

/// The record file of a streamed run: each kept replication's record, encoded as in a shard
/// (without trace and finals), in replication order.
#[derive(Debug, Clone)]
pub struct RecordFile {
    path: PathBuf,
    layout: Layout,
    pub(crate) count: usize,
}

impl RecordFile {
    /// Calls `f` with each record, reading the file once through a small buffer.
    pub(crate) fn for_each(
        &self,
        f: &mut dyn FnMut(&super::ReplicationRecord) -> Result<()>,
    ) -> Result<()> {
        let read_err = |source| Error::Read {
            file: self.path.clone(),
            source,
        };
        let mut reader =
            std::io::BufReader::with_capacity(1 << 20, File::open(&self.path).map_err(read_err)?);
        let mut bytes = vec![0u8; self.layout.len() * 8];
        let mut values = Vec::with_capacity(self.layout.len());
        for _ in 0..self.count {
            reader.read_exact(&mut bytes).map_err(read_err)?;
            values.clear();
            values.extend(f64s(&bytes));
            let (_, out) = decode(&values, self.layout);
            f(&out.record)?;
        }
        Ok(())
    }
}

/// What a refused resume tells the user.
const START_OVER: &str = "run without --resume to start over";
const DAMAGED: &str = "the checkpoint is damaged: run without --resume to start over";

/// What `checkpoint.json` holds: the run it belongs to, the replications kept per complete block
/// and a CRC-32 of each block's bytes (traces, records), the running per-State sums as exact f64
/// bits, the failures so far, and a CRC-32 of all of that.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Checkpoint {
    run: serde_json::Value,
    block_sizes: Vec<usize>,
    block_crc32: Vec<[u32; 2]>,
    state_sums: Vec<u64>,
    failures: Vec<Failure>,
    crc32: u32,
}

impl Checkpoint {
    /// The CRC-32 of every field but `crc32`.
    fn body_crc32(&self) -> u32 {
        let body = (
            &self.run,
            &self.block_sizes,
            &self.block_crc32,
            &self.state_sums,
            &self.failures,
        );
        crc32fast::hash(&serde_json::to_vec(&body).unwrap_or_default())
    }

    /// Checks what a checkpoint of run `config` must satisfy: at most the run's blocks; each
    /// block's kept replications and failures adding up to its replications; failures of this
    /// run's point, in order, each once, with their seed key; finite sums; and its own checksum.
    fn check(&self, config: &RunConfig, sums: usize, path: &Path) -> Result<()> {
        let damaged = |key: String, message: String| Error::Invalid {
            file: path.to_path_buf(),
            key,
            message: format!("{message}; {DAMAGED}"),
        };
        let total = config.replications as usize;
        let blocks_needed = total.div_ceil(BLOCK);
        let blocks = self.block_sizes.len();
        if blocks > blocks_needed {
            return Err(damaged(
                "block_sizes".into(),
                format!("expected at most {blocks_needed} blocks, found {blocks}"),
            ));
        }
        let done = (blocks * BLOCK).min(total) as u64;
        let mut previous = None;
        for (k, f) in self.failures.iter().enumerate() {
            let key = |field: &str| format!("failures[{k}].{field}");
            if f.point != config.point {
                return Err(damaged(
                    key("point"),
                    format!("expected point {}, found {}", config.point, f.point),
                ));
            }
            if f.replication >= done || previous.is_some_and(|p| f.replication <= p) {
                return Err(damaged(
                    key("replication"),
                    format!(
                        "expected a replication of the {blocks} complete blocks (below {done}), after the failures before it, found {}",
                        f.replication
                    ),
                ));
            }
            let expected = super::seeds::replication_key(config.seed, f.point, f.replication);
            if f.key != expected {
                return Err(damaged(
                    key("key"),
                    format!(
                        "expected the seed key of replication {} ({expected}), found {}",
                        f.replication, f.key
                    ),
                ));
            }
            previous = Some(f.replication);
        }
        for (k, &size) in self.block_sizes.iter().enumerate() {
            let range = block_range(k, total);
            let failed = self
                .failures
                .iter()
                .filter(|f| range.contains(&(f.replication as usize)))
                .count();
            if size + failed != range.len() {
                return Err(damaged(
                    format!("block_sizes[{k}]"),
                    format!(
                        "block {k} holds replications {}-{} of which {failed} failed, so {} were kept, but the checkpoint says {size}",
                        range.start,
                        range.end - 1,
                        range.len() - failed
                    ),
                ));
            }
        }
        if self.block_crc32.len() != blocks {
            return Err(damaged(
                "block_crc32".into(),
                format!(
                    "expected a checksum for each of the {blocks} blocks, found {}",
                    self.block_crc32.len()
                ),
            ));
        }
        if self.state_sums.len() != sums {
            return Err(damaged(
                "state_sums".into(),
                format!("expected {sums} values, found {}", self.state_sums.len()),
            ));
        }
        if let Some(k) = self
            .state_sums
            .iter()
            .position(|&b| !f64::from_bits(b).is_finite())
        {
            return Err(damaged(
                format!("state_sums[{k}]"),
                format!(
                    "expected a finite number, found {}",
                    f64::from_bits(self.state_sums[k])
                ),
            ));
        }
        if self.body_crc32() != self.crc32 {
            return Err(damaged(
                "crc32".into(),
                "the checkpoint does not match its checksum: it was edited or damaged".into(),
            ));
        }
        Ok(())
    }
}

/// The replications of block `k` of a run of `total`.
fn block_range(k: usize, total: usize) -> std::ops::Range<usize> {
    k * BLOCK..((k + 1) * BLOCK).min(total)
}

/// Appends `bytes` to `file` (at `path`) and waits until they are on disk: a checkpoint may vouch
/// for them only then.
fn append_synced(file: &mut File, path: &Path, bytes: &[u8]) -> Result<()> {
    file.write_all(bytes)
        .and_then(|()| file.sync_data())
        .map_err(Error::write(path))
}

/// Replaces `path` atomically with `bytes` (temporary file, sync, rename).
fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(Error::write(&tmp))?;
    f.write_all(bytes).map_err(Error::write(&tmp))?;
    f.sync_all().map_err(Error::write(&tmp))?;
    fs::rename(&tmp, path).map_err(Error::write(path))
}

/// The work folder of a result folder.
pub fn work_dir(dir: &Path) -> PathBuf {
    crate::output::hidden_sibling(dir, "partial")
}

/// The files a work folder may hold; anything else means it is not forumsim's work folder, and
/// it is not removed.
const WORK_ENTRIES: &[&str] = &[
    "scenario.toml",
    "traces.bin",
    "records.bin",
    "checkpoint.json",
    "checkpoint.tmp",
    "result",
    "replaced",
    "staged",
];

/// The identity of a run, as its checkpoint records it.
fn identity(scenario: &Scenario, config: &RunConfig) -> serde_json::Value {
    serde_json::json!({
        "scenario_hash": scenario.content_hash(),
        "master_seed": config.seed,
        "replications": config.replications,
        "point": config.point,
        "block": BLOCK,
    })
}

/// The refusal of `--resume` for a run that is not streamed (`what`: "a sweep", "a shard"),
/// which keeps its replications in memory and has no checkpoint.
pub fn no_resume(what: &str) -> Error {
    Error::Invalid {
        file: "--resume".into(),
        key: what.into(),
        message: format!(
            "continues a plain streamed run only; {what} keeps its replications in memory and has no checkpoint to resume from: run it again without --resume"
        ),
    }
}

/// How [`run_to_folder`] ended.
pub enum Finished {
    /// The run was done (or finished from its checkpoint) and its result published.
    Published(Box<super::Headline>),
    /// `--resume` found the run already published at the result folder: nothing to do.
    AlreadyPublished,
}

/// Options of [`run_to_folder`].
#[derive(Debug, Clone, Copy)]
pub struct Publish {
    pub force: bool,
    pub resume: bool,
    pub charts: bool,
}

/// Runs a scenario streamed to the work folder of `dir` and publishes its result folder: the
/// whole of `forumsim run`. The folder is locked against a second writer for the whole run; its
/// destination is checked before anything is simulated; with `resume`, the run goes on from its
/// checkpoint or from wherever its final phase was stopped.
pub fn run_to_folder(
    scenario: &Scenario,
    facts: &Facts,
    config: &RunConfig,
    dir: &Path,
    options: Publish,
    progress: &mut dyn FnMut(u64),
) -> Result<Finished> {
    let work = work_dir(dir);
    crate::output::check_place(dir)?;
    let _lock = crate::output::lock_destination(dir)?;
    crate::output::remove_trash(dir)?;
    let staged = options.resume && work.join("staged").exists();
    if options.resume && !work.join("checkpoint.json").exists() && holds_run(dir, scenario, config)
    {
        return Ok(Finished::AlreadyPublished);
    }
    if !options.resume {
        restore_replaced(&work, dir)?;
    }
    if !staged {
        crate::output::check_destination(dir, options.force)?;
    }
    if !options.resume && !options.force {
        refuse_interrupted(&work)?;
    }
    let output = run_streaming(scenario, facts, config, &work, options.resume, progress)?;
    let headline = super::Headline::of(&output, scenario)?;
    crate::output::publish_streamed_run(
        &work,
        dir,
        options.force,
        scenario,
        facts,
        &output,
        config.seed,
        options.charts,
    )?;
    Ok(Finished::Published(Box::new(headline)))
}

/// Refuses to start over where a killed run left its checkpoint (its replications would be
/// thrown away): the message says how many are done and how to go on or start over.
fn refuse_interrupted(work: &Path) -> Result<()> {
    let path = work.join("checkpoint.json");
    let Ok(text) = fs::read_to_string(&path) else {
        return Ok(());
    };
    let done = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .map(|j| {
            let kept: u64 = j["block_sizes"]
                .as_array()
                .map_or(0, |b| b.iter().filter_map(serde_json::Value::as_u64).sum());
            let failed = j["failures"].as_array().map_or(0, Vec::len) as u64;
            format!(" ({} replications done)", kept + failed)
        })
        .unwrap_or_default();
    Err(Error::Invalid {
        file: work.to_path_buf(),
        key: "--resume".into(),
        message: format!(
            "holds the checkpoint of an interrupted run{done}: continue it with the same command and --resume, or add --force to discard it and start over"
        ),
    })
}

/// Whether `dir` holds the published result of this very run (its manifest names the scenario's
/// hash, the seed, the point and all the replications).
fn holds_run(dir: &Path, scenario: &Scenario, config: &RunConfig) -> bool {
    let Ok(text) = fs::read_to_string(dir.join("manifest.json")) else {
        return false;
    };
    let Ok(m) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    let (kept, failed) = (
        m["replications"].as_u64(),
        m["failed_replications"].as_u64(),
    );
    m["program"] == "forumsim"
        && m["scenario_hash"] == scenario.content_hash().as_str()
        && m["master_seed"] == config.seed
        && m["sweep_point"] == config.point
        && matches!((kept, failed), (Some(k), Some(f)) if k + f == config.replications)
}

/// Puts back an earlier result that a killed publication had moved into the work folder (step 2
/// of `output::publish_streamed_run`) before the new result took its place: a run started over
/// never loses it.
fn restore_replaced(work: &Path, dir: &Path) -> Result<()> {
    let replaced = work.join("replaced");
    if replaced.is_dir() && fs::symlink_metadata(dir).is_err() {
        fs::rename(&replaced, dir).map_err(Error::write(dir))?;
    }
    Ok(())
}

/// Runs a scenario with its replications streamed to `work`, resuming from a checkpoint there
/// when `resume` is set (and the checkpoint belongs to the same run and passes its checks).
/// Returns the run's output, whose traces and records stay in `work`.
pub fn run_streaming(
    scenario: &Scenario,
    facts: &Facts,
    config: &RunConfig,
    work: &Path,
    resume: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<RunOutput> {
    let started = Instant::now();
    let identity = identity(scenario, config);
    let checkpoint_path = work.join("checkpoint.json");
    let traces_path = work.join("traces.bin");
    let records_path = work.join("records.bin");
    let layout = Layout::of(scenario, facts);
    let record_layout = Layout {
        trace: 0,
        finals: 0,
        ..layout
    };
    let columns = layout.trace;
    let mut acc = Accumulator::new(scenario, facts, config.replications);
    let mut failures: Vec<Failure> = Vec::new();
    let mut blocks_done = 0usize;
    let mut block_sizes: Vec<usize> = Vec::new();
    let mut block_crc32: Vec<[u32; 2]> = Vec::new();
    let checkpoint = if resume && checkpoint_path.exists() {
        Some(read_json::<Checkpoint>(&checkpoint_path, DAMAGED)?)
    } else {
        None
    };
    match checkpoint {
        Some(c) => {
            if c.run != identity {
                return Err(Error::Invalid {
                    file: work.to_path_buf(),
                    key: "--resume".into(),
                    message: format!(
                        "the interrupted run in this folder has another scenario, seed or number of replications; {START_OVER}"
                    ),
                });
            }
            c.check(config, acc.sums().len(), &checkpoint_path)?;
            let sums: Vec<f64> = c.state_sums.iter().map(|&b| f64::from_bits(b)).collect();
            if let Err(expected) = acc.restore_sums(&sums) {
                return Err(Error::invalid(&checkpoint_path, "state_sums")(format!(
                    "expected {expected} values, found {}; {DAMAGED}",
                    sums.len()
                )));
            }
            verify_blocks(
                &c,
                config,
                &traces_path,
                columns,
                &records_path,
                record_layout,
            )?;
            block_sizes = c.block_sizes;
            block_crc32 = c.block_crc32;
            blocks_done = block_sizes.len();
            failures = c.failures;
        }
        None => {
            clear_work_dir(work)?;
            fs::create_dir_all(work).map_err(Error::write(work))?;
            fs::write(work.join("scenario.toml"), scenario.resolved_toml())
                .map_err(Error::write(work))?;
            File::create(&traces_path).map_err(Error::write(&traces_path))?;
            File::create(&records_path).map_err(Error::write(&records_path))?;
        }
    }
    let mut traces_file =
        AppendFile::open(&traces_path, direct_trace(config.replications as usize))
            .map_err(Error::write(&traces_path))?;
    let mut records_file = OpenOptions::new()
        .append(true)
        .open(&records_path)
        .map_err(Error::write(&records_path))?;
    let pool = thread_pool(config.threads)?;
    let total = config.replications as usize;
    // One block of traces in memory, written column by column when complete.
    let mut block: Vec<Vec<f64>> = Vec::with_capacity(BLOCK);
    let mut block_buf = Vec::new();
    let mut records_buf = Vec::new();
    let first = (blocks_done * BLOCK).min(total);
    progress(first as u64);
    // One pass over the replications left; a block is written as soon as its last replication
    // is handed over, while the pool simulates the next ones.
    let mut block_end = (first + BLOCK).min(total) as u64;
    for_each_replication(
        scenario,
        facts,
        config.seed,
        config.point,
        first as u64..total as u64,
        &pool,
        chunk_size(config.threads),
        &mut |r, out| {
            match outcome(scenario, config, r, out)? {
                Ok(ReplicationOutput {
                    record,
                    trace,
                    finals,
                }) => {
                    acc.push_sums(&finals);
                    let light = ReplicationOutput {
                        record,
                        trace: Vec::new(),
                        finals: Vec::new(),
                    };
                    encode(config.point, &light, &mut records_buf);
                    block.push(trace);
                }
                Err(failure) => failures.push(failure),
            }
            if r + 1 == block_end {
                // The block, column by column and padded, then the records, then the
                // checkpoint.
                let len = block.len() * columns * 8;
                let bytes =
                    direct_io::aligned_mut(&mut block_buf, block_bytes(block.len(), columns));
                let mut values = bytes.chunks_exact_mut(8);
                for c in 0..columns {
                    for (t, v) in block.iter().zip(&mut values) {
                        v.copy_from_slice(&t[c].to_le_bytes());
                    }
                }
                traces_file
                    .append_synced(bytes)
                    .map_err(Error::write(&traces_path))?;
                append_synced(&mut records_file, &records_path, &records_buf)?;
                block_sizes.push(block.len());
                block_crc32.push([
                    crc32fast::hash(&bytes[..len]),
                    crc32fast::hash(&records_buf),
                ]);
                let mut checkpoint = Checkpoint {
                    run: identity.clone(),
                    block_sizes: block_sizes.clone(),
                    block_crc32: block_crc32.clone(),
                    state_sums: acc.sums().iter().map(|x| x.to_bits()).collect(),
                    failures: failures.clone(),
                    crc32: 0,
                };
                checkpoint.crc32 = checkpoint.body_crc32();
                replace_file(
                    &checkpoint_path,
                    serde_json::to_string(&checkpoint)
                        .unwrap_or_default()
                        .as_bytes(),
                )?;
                block.clear();
                records_buf.clear();
                block_end = (block_end + BLOCK as u64).min(total as u64);
            }
            progress(r + 1);
            Ok(())
        },
    )?;
    let kept: usize = block_sizes.iter().sum();
    let mut output = acc.finish_with(
        Traces::File {
            path: traces_path,
            columns,
            blocks: block_sizes,
            direct: traces_file.is_direct(),
        },
        super::Records::File(RecordFile {
            path: records_path,
            layout: record_layout,
            count: kept,
        }),
        config.threads.max(1),
        started.elapsed().as_secs_f64(),
    );
    output.failures = failures;
    Ok(output)
}

/// Removes the work folder `work` of an earlier run, which is started over: only if it holds
/// nothing but a work folder's files (it is never anyone else's folder).
fn clear_work_dir(work: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(work) else {
        return Ok(());
    };
    for e in entries {
        let name = e.map_err(Error::write(work))?.file_name();
        let name = name.to_string_lossy();
        if !WORK_ENTRIES.contains(&name.as_ref()) {
            return Err(Error::Invalid {
                file: work.to_path_buf(),
                key: "work folder".into(),
                message: format!(
                    "holds {name:?}, which forumsim did not write; it is not removed: move it, or give another --out"
                ),
            });
        }
    }
    fs::remove_dir_all(work).map_err(Error::write(work))
}

/// Checks the data a valid checkpoint vouches for, block by block, and cuts off whatever was
/// written after it: each block's bytes must match its checksum, and its records must be its
/// replications less its failures, in order.
fn verify_blocks(
    c: &Checkpoint,
    config: &RunConfig,
    traces_path: &Path,
    columns: usize,
    records_path: &Path,
    record_layout: Layout,
) -> Result<()> {
    let total = config.replications as usize;
    for (which, path, width) in [
        (0, traces_path, columns * 8),
        (1, records_path, record_layout.len() * 8),
    ] {
        // A trace block is padded; the records are not.
        let stored = |size: usize| {
            if which == 0 {
                block_bytes(size, columns)
            } else {
                size * width
            }
        };
        let len: u64 = c.block_sizes.iter().map(|&b| stored(b) as u64).sum();
        // Missing or shorter than the checkpoint says: the data it vouches for are gone, and
        // extending the file would pad it with zeros that read as results.
        let damaged =
            |message: String| Error::invalid(path, "--resume")(format!("{message}; {START_OVER}"));
        match fs::metadata(path) {
            Err(e) => return Err(damaged(format!("the checkpoint needs this file ({e})"))),
            Ok(m) if m.len() < len => {
                return Err(damaged(format!(
                    "holds {} bytes but the checkpoint needs {len}",
                    m.len()
                )));
            }
            Ok(_) => {}
        }
        OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(len))
            .map_err(Error::write(path))?;
        let mut reader = std::io::BufReader::with_capacity(
            1 << 20,
            File::open(path).map_err(|source| Error::Read {
                file: path.to_path_buf(),
                source,
            })?,
        );
        let mut bytes = Vec::new();
        for (k, &size) in c.block_sizes.iter().enumerate() {
            bytes.resize(stored(size), 0);
            reader
                .read_exact(&mut bytes)
                .map_err(|source| Error::Read {
                    file: path.to_path_buf(),
                    source,
                })?;
            bytes.truncate(size * width);
            if crc32fast::hash(&bytes) != c.block_crc32[k][which] {
                return Err(damaged(format!(
                    "block {k} does not match the checksum in checkpoint.json: the file was damaged or edited"
                )));
            }
            if which == 1 {
                let failed: Vec<u64> = c.failures.iter().map(|f| f.replication).collect();
                let mut expected = block_range(k, total)
                    .map(|r| r as u64)
                    .filter(|r| !failed.contains(r));
                for chunk in bytes.chunks_exact(width) {
                    let values: Vec<f64> = f64s(chunk).take(2).collect();
                    let want = expected.next();
                    if values[0] != config.point as f64 || Some(values[1]) != want.map(|r| r as f64)
                    {
                        return Err(damaged(format!(
                            "block {k} holds replication {} where the checkpoint expects {}",
                            values[1],
                            want.map_or("none".into(), |r| r.to_string())
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkpoint of 600 replications after two blocks, with replication 300 failed; `edit`
    /// breaks it, and the check names `key`.
    fn refused(edit: impl Fn(&mut Checkpoint), key: &str) {
        let config = RunConfig {
            replications: 600,
            seed: 7,
            threads: 1,
            point: 0,
            inject_failure: None,
        };
        let mut c = Checkpoint {
            run: serde_json::json!({}),
            block_sizes: vec![256, 255],
            block_crc32: vec![[1, 2], [3, 4]],
            state_sums: vec![0.5f64.to_bits(); 3],
            failures: vec![Failure {
                point: 0,
                replication: 300,
                key: crate::experiment::seeds::replication_key(7, 0, 300),
                year: 2007,
                check: "x".into(),
            }],
            crc32: 0,
        };
        c.crc32 = c.body_crc32();
        let path = Path::new("checkpoint.json");
        c.check(&config, 3, path).expect("a consistent checkpoint");
        edit(&mut c);
        match c.check(&config, 3, path) {
            Err(Error::Invalid { key: k, .. }) => assert_eq!(k, key),
            other => panic!("expected a refusal naming {key}, got {other:?}"),
        }
    }

    /// Every invariant of a checkpoint is checked, each naming its key, before its checksum.
    #[test]
    fn checkpoints_that_break_an_invariant_are_refused() {
        refused(|c| c.block_sizes[0] = 100, "block_sizes[0]");
        refused(|c| c.block_sizes = vec![0, 0, 0], "block_sizes[0]");
        refused(|c| c.block_sizes = vec![256; 4], "block_sizes");
        refused(|c| c.block_crc32.pop().map_or((), drop), "block_crc32");
        refused(
            |c| c.failures[0].replication = 700,
            "failures[0].replication",
        );
        refused(|c| c.failures[0].point = 1, "failures[0].point");
        refused(|c| c.failures[0].key ^= 1, "failures[0].key");
        refused(
            |c| c.failures.push(c.failures[0].clone()),
            "failures[1].replication",
        );
        // A failure of a replication that is also among the kept ones.
        refused(
            |c| {
                c.failures[0].replication = 5;
                c.failures[0].key = crate::experiment::seeds::replication_key(7, 0, 5);
            },
            "block_sizes[0]",
        );
        refused(|c| c.state_sums[1] = f64::NAN.to_bits(), "state_sums[1]");
        refused(|c| c.state_sums.pop().map_or((), drop), "state_sums");
        refused(|c| c.state_sums[2] = 1f64.to_bits(), "crc32");
    }

    /// A trace file in `dir` of blocks of 3, 2 and 4 replications with `columns` columns, value
    /// 100 r + c in replication r and column c.
    fn trace_file(dir: &Path, columns: usize, direct: bool) -> Traces {
        let path = dir.join("traces.bin");
        let blocks = vec![3, 2, 4];
        let mut bytes = Vec::new();
        let mut first = 0;
        for &b in &blocks {
            for c in 0..columns {
                for r in first..first + b {
                    bytes.extend_from_slice(&((100 * r + c) as f64).to_le_bytes());
                }
            }
            bytes.resize(bytes.len() + block_bytes(b, columns) - b * columns * 8, 0);
            first += b;
        }
        fs::write(&path, bytes).expect("write");
        Traces::File {
            path,
            columns,
            blocks,
            direct,
        }
    }

    /// A trace file of blocks of 3, 2 and 4 replications with 7 columns, value 100 r + c, read
    /// back column by column in order, backwards and with read-aheads of one column and more,
    /// through the page cache and past it; a column past the last, or one of a file cut short,
    /// is an error.
    #[test]
    fn columns_read_back_in_replication_order() {
        for direct in [false, true] {
            let dir = tempfile::tempdir().expect("tempdir");
            let columns = 7;
            let traces = trace_file(dir.path(), columns, direct);
            let expected = |c: usize| (0..9).map(|r| (100 * r + c) as f64).collect::<Vec<_>>();
            let mut out = Vec::new();
            for columns_ahead in [1, 2, 3, 100] {
                let mut reader = traces.reader();
                reader.read_ahead = columns_ahead * 9 * 8;
                for c in (0..columns).chain((0..columns).rev()) {
                    reader.column(c, &mut out).expect("read");
                    assert_eq!(out, expected(c), "column {c}, {columns_ahead} ahead");
                }
            }
            let mut reader = traces.reader();
            assert!(reader.column(columns, &mut out).is_err(), "past the end");
            // A file cut short in its last block's last column: the columns still whole read,
            // the last one fails.
            let Traces::File { path, .. } = &traces else {
                panic!("a file")
            };
            let last = block_bytes(3, columns) + block_bytes(2, columns);
            let cut = std::fs::read(path).expect("read")[..last + (4 * columns - 1) * 8].to_vec();
            std::fs::write(path, cut).expect("write");
            let mut reader = traces.reader();
            reader.read_ahead = 9 * 8;
            reader
                .column(0, &mut out)
                .expect("the first column is whole");
            assert_eq!(out, expected(0));
            assert!(reader.column(columns - 1, &mut out).is_err(), "cut short");
        }
    }

    /// Columns mapped on two threads, in runs of a read-ahead each (here three runs, the last
    /// short), come back in column order.
    #[test]
    fn columns_mapped_in_parallel_come_back_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let columns = 2 * (READ_AHEAD / (8 * 9)) + 5;
        let traces = trace_file(dir.path(), columns, true);
        let pool = thread_pool(2).expect("pool");
        let mapped = pool
            .install(|| traces.map_columns(columns, |v, _| (v[0], v[8])))
            .expect("read");
        assert_eq!(mapped.len(), columns);
        for (c, &(a, b)) in mapped.iter().enumerate() {
            assert_eq!((a, b), (c as f64, (800 + c) as f64), "column {c}");
        }
        // In groups of three: the last run of columns (five) ends in a short group, whose
        // repeated last column's results are dropped.
        let grouped = pool
            .install(|| {
                traces.map_column_groups(columns, |v: [&[f64]; 3], _| v.map(|v| (v[0], v[8])))
            })
            .expect("read");
        assert_eq!(grouped, mapped);
    }
}
