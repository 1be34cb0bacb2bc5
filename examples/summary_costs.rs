//! Cost of summarising a large run's trace file, the bulk of the phase after the last
//! replication of a run too large to keep in memory: every column (year × metric) read back over
//! all replications and summarised (mean, sd, five quantiles) on the threads of the pool, as
//! `summary.csv` is written. A developer's tool; the trace is synthetic (its values do not
//! matter to the cost, only its size), written once to a file and kept for the next run.
//!
//! `cargo run --release --example summary_costs [REPLICATIONS] [COLUMNS] [--threads T] [--file PATH]`
//!
//! The defaults are the status quo's columns (its metrics times its years: 6,150, a 4.9 GB file
//! at 100,000 replications) on two threads. It prints the time and a checksum of the summaries,
//! so that a faster version can be checked to give the same bits.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use forumsim::experiment::stream::{BLOCK, Traces, block_bytes, direct_trace};
use forumsim::stats::summarize_columns;
use rand::{RngExt, SeedableRng};

/// The built-in status quo's trace columns: its metrics times its years.
fn status_quo_columns() -> anyhow::Result<usize> {
    let scenario = forumsim::scenario::Scenario::builtin_default()?;
    let facts = scenario.facts()?;
    let metrics = forumsim::experiment::observe::metric_names(&scenario, &facts.region_names);
    Ok(metrics.len() * scenario.n_years())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|k| args.get(k + 1).cloned())
    };
    let positional: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(k, a)| !a.starts_with("--") && (*k == 0 || !args[k - 1].starts_with("--")))
        .map(|(_, a)| a)
        .collect();
    let reps: usize = positional.first().map_or(Ok(100_000), |s| s.parse())?;
    let columns: usize = match positional.get(1) {
        Some(s) => s.parse()?,
        None => status_quo_columns()?,
    };
    let threads: usize = option("--threads").map_or(Ok(2), |s| s.parse())?;
    let path = PathBuf::from(option("--file").unwrap_or_else(|| {
        std::env::temp_dir()
            .join(format!("forumsim-summary-costs-{reps}x{columns}.bin"))
            .display()
            .to_string()
    }));
    let blocks: Vec<usize> = (0..reps.div_ceil(BLOCK))
        .map(|k| BLOCK.min(reps - k * BLOCK))
        .collect();
    let bytes: u64 = blocks.iter().map(|&b| block_bytes(b, columns) as u64).sum();
    if std::fs::metadata(&path).map(|m| m.len()).ok() != Some(bytes) {
        let start = Instant::now();
        write_trace(&path, columns, &blocks)?;
        println!(
            "wrote {} ({:.1} GB) in {:.1} s",
            path.display(),
            bytes as f64 / 1e9,
            start.elapsed().as_secs_f64()
        );
    }
    let traces = Traces::File {
        path,
        columns,
        blocks,
        direct: direct_trace(reps),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let start = Instant::now();
    let summaries = pool.install(|| traces.map_column_groups(columns, summarize_columns::<4>))?;
    let seconds = start.elapsed().as_secs_f64();
    // FNV-1a over the bits of every summary.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for s in summaries.iter().flatten() {
        for v in [
            s.mean, s.sd, s.q05, s.q25, s.q50, s.q75, s.q95, s.ci_low, s.ci_high,
        ] {
            for b in v.to_bits().to_le_bytes() {
                hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    println!(
        "{columns} columns of {reps} replications summarised on {threads} threads in {seconds:.2} s \
         (checksum {hash:016x})"
    );
    Ok(())
}

/// A trace file in the layout of a streamed run: blocks of replications, each column by column
/// and padded with zeros.
/// Each column has its own centre and spread, with a few repeated values and outliers.
fn write_trace(path: &PathBuf, columns: usize, blocks: &[usize]) -> anyhow::Result<()> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2016);
    let centre: Vec<f64> = (0..columns)
        .map(|_| rng.random::<f64>() * 2.0 - 1.0)
        .collect();
    let spread: Vec<f64> = (0..columns).map(|_| 0.01 + rng.random::<f64>()).collect();
    let mut out = std::io::BufWriter::with_capacity(8 << 20, std::fs::File::create(path)?);
    for &b in blocks {
        for c in 0..columns {
            for _ in 0..b {
                let u: f64 = rng.random();
                let v = match rng.random_range(0..100) {
                    0 => 0.0,
                    1 => centre[c] + 50.0 * spread[c] * (u - 0.5),
                    _ => centre[c] + spread[c] * ((u + rng.random::<f64>()) - 1.0),
                };
                out.write_all(&v.to_le_bytes())?;
            }
        }
        out.write_all(&vec![0; block_bytes(b, columns) - b * columns * 8])?;
    }
    out.flush()?;
    Ok(())
}
