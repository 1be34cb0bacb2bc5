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
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

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
    /// A trace file of blocks of [`BLOCK`] replications, each stored column by column.
    File {
        path: PathBuf,
        columns: usize,
        /// Replications stored in each block (fewer than [`BLOCK`] where some failed).
        blocks: Vec<usize>,
    },
}

impl Traces {
    /// A reader of the trace columns, for reading many of them.
    pub fn reader(&self) -> ColumnReader<'_> {
        ColumnReader {
            traces: self,
            file: None,
            cache: Vec::new(),
            bytes: Vec::new(),
            cached: 0..0,
            read_ahead: READ_AHEAD,
        }
    }
}

/// Bytes a [`ColumnReader`] reads ahead: a few megabytes, whatever the number of replications.
const READ_AHEAD: usize = 4 << 20;

/// Reads trace columns in replication order. On a trace file it opens the file once and reads
/// ahead a run of columns of every block (one read per block per run), so reading the columns in
/// order costs a few reads, not one open and one read per column and block; its memory stays at
/// [`READ_AHEAD`] bytes.
pub struct ColumnReader<'a> {
    traces: &'a Traces,
    file: Option<File>,
    /// Columns `cached` of every block, block after block, each column's values contiguous.
    cache: Vec<f64>,
    bytes: Vec<u8>,
    cached: std::ops::Range<usize>,
    read_ahead: usize,
}

impl ColumnReader<'_> {
    /// The values of trace column `c` over the replications, in replication order.
    pub fn column(&mut self, c: usize, out: &mut Vec<f64>) -> Result<()> {
        out.clear();
        let (path, columns, blocks) = match self.traces {
            Traces::Memory(traces) => {
                out.extend(traces.iter().map(|t| t[c]));
                return Ok(());
            }
            Traces::File {
                path,
                columns,
                blocks,
            } => (path, *columns, blocks),
        };
        if !self.cached.contains(&c) {
            let read_err = |source| Error::Read {
                file: path.clone(),
                source,
            };
            let f = match &mut self.file {
                Some(f) => f,
                None => self.file.insert(File::open(path).map_err(read_err)?),
            };
            let reps: usize = blocks.iter().sum();
            // Past the last column, the read fails as a short file.
            let run =
                (self.read_ahead / (8 * reps.max(1))).clamp(1, columns.saturating_sub(c).max(1));
            self.cache.clear();
            let mut start = 0usize;
            for &b in blocks {
                // Columns c..c + run of a block are contiguous.
                let offset = (start * columns + c * b) * 8;
                self.bytes.resize(run * b * 8, 0);
                f.seek(SeekFrom::Start(offset as u64)).map_err(read_err)?;
                f.read_exact(&mut self.bytes).map_err(read_err)?;
                self.cache.extend(f64s(&self.bytes));
                start += b;
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

/// What a refused resume tells the user.
const START_OVER: &str = "run without --resume to start over";
const DAMAGED: &str = "the checkpoint is damaged: run without --resume to start over";

/// What `checkpoint.json` holds: the run it belongs to, the replications kept per complete block,
/// the running per-State sums as exact f64 bits, and the failures so far.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Checkpoint {
    run: serde_json::Value,
    block_sizes: Vec<usize>,
    state_sums: Vec<u64>,
    failures: Vec<Failure>,
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

/// Runs a scenario with its replications streamed to `work`, resuming from a checkpoint there
/// when `resume` is set (and the checkpoint belongs to the same run). Returns the run's output,
/// whose traces stay in `work`.
pub fn run_streaming(
    scenario: &Scenario,
    facts: &Facts,
    config: &RunConfig,
    work: &Path,
    resume: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<RunOutput> {
    let started = Instant::now();
    let identity = serde_json::json!({
        "scenario_hash": scenario.content_hash(),
        "master_seed": config.seed,
        "replications": config.replications,
        "point": config.point,
        "block": BLOCK,
    });
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
            let damaged = |key: &'static str| Error::invalid(&checkpoint_path, key);
            let blocks_needed = (config.replications as usize).div_ceil(BLOCK);
            if c.block_sizes.len() > blocks_needed || c.block_sizes.iter().any(|&b| b > BLOCK) {
                return Err(damaged("block_sizes")(format!(
                    "expected at most {blocks_needed} blocks of at most {BLOCK} replications, found {:?}; {DAMAGED}",
                    c.block_sizes
                )));
            }
            block_sizes = c.block_sizes;
            blocks_done = block_sizes.len();
            let sums: Vec<f64> = c.state_sums.into_iter().map(f64::from_bits).collect();
            if let Err(expected) = acc.restore_sums(&sums) {
                return Err(damaged("state_sums")(format!(
                    "expected {expected} values, found {}; {DAMAGED}",
                    sums.len()
                )));
            }
            failures = c.failures;
            // Cut off whatever was written after the checkpoint.
            let ok_reps: usize = block_sizes.iter().sum();
            for (path, len) in [
                (&traces_path, (ok_reps * columns * 8) as u64),
                (&records_path, (ok_reps * record_layout.len() * 8) as u64),
            ] {
                // Missing or shorter than the checkpoint says: the data it vouches for are gone,
                // and extending the file would pad it with zeros that read as results.
                let damaged = Error::invalid(path, "--resume");
                match fs::metadata(path) {
                    Err(e) => {
                        return Err(damaged(format!(
                            "the checkpoint needs this file ({e}); {START_OVER}"
                        )));
                    }
                    Ok(m) if m.len() < len => {
                        return Err(damaged(format!(
                            "holds {} bytes but the checkpoint needs {len}; {START_OVER}",
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
            }
        }
        None => {
            if work.exists() {
                fs::remove_dir_all(work).map_err(Error::write(work))?;
            }
            fs::create_dir_all(work).map_err(Error::write(work))?;
            fs::write(work.join("scenario.toml"), scenario.resolved_toml())
                .map_err(Error::write(work))?;
            File::create(&traces_path).map_err(Error::write(&traces_path))?;
            File::create(&records_path).map_err(Error::write(&records_path))?;
        }
    }
    let mut traces_file = OpenOptions::new()
        .append(true)
        .open(&traces_path)
        .map_err(Error::write(&traces_path))?;
    let mut records_file = OpenOptions::new()
        .append(true)
        .open(&records_path)
        .map_err(Error::write(&records_path))?;
    let pool = thread_pool(config.threads)?;
    let total = config.replications as usize;
    // One block of traces in memory, written column by column when complete.
    let mut block: Vec<Vec<f64>> = Vec::with_capacity(BLOCK);
    let mut records_buf = Vec::new();
    let first = blocks_done * BLOCK;
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
                // The block, column by column, then the records, then the checkpoint.
                let mut bytes = Vec::with_capacity(block.len() * columns * 8);
                for c in 0..columns {
                    for t in &block {
                        bytes.extend_from_slice(&t[c].to_le_bytes());
                    }
                }
                append_synced(&mut traces_file, &traces_path, &bytes)?;
                append_synced(&mut records_file, &records_path, &records_buf)?;
                block_sizes.push(block.len());
                let checkpoint = Checkpoint {
                    run: identity.clone(),
                    block_sizes: block_sizes.clone(),
                    state_sums: acc.sums().iter().map(|x| x.to_bits()).collect(),
                    failures: failures.clone(),
                };
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
    // Read the records back (small), in replication order.
    let bytes = fs::read(&records_path).map_err(|source| Error::Read {
        file: records_path.clone(),
        source,
    })?;
    for chunk in bytes.chunks(record_layout.len() * 8) {
        let values: Vec<f64> = f64s(chunk).collect();
        let (_, out) = decode(&values, record_layout);
        acc.push_record(out.record);
    }
    let mut output = acc.finish(config.threads.max(1), started.elapsed().as_secs_f64());
    output.traces = Traces::File {
        path: traces_path,
        columns,
        blocks: block_sizes,
    };
    output.failures = failures;
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trace file of blocks of 3, 2 and 4 replications with 7 columns, value 100 r + c, read
    /// back column by column in order, backwards and with read-aheads of one column and more.
    #[test]
    fn columns_read_back_in_replication_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("traces.bin");
        let (columns, blocks) = (7, vec![3, 2, 4]);
        let mut bytes = Vec::new();
        let mut first = 0;
        for &b in &blocks {
            for c in 0..columns {
                for r in first..first + b {
                    bytes.extend_from_slice(&((100 * r + c) as f64).to_le_bytes());
                }
            }
            first += b;
        }
        fs::write(&path, bytes).expect("write");
        let traces = Traces::File {
            path,
            columns,
            blocks,
        };
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
    }
}
