//! Result files: `summary.csv`, `replications.csv`, `states.csv` and `manifest.json`. The column
//! schema lives only here.
//!
//! A result folder is written whole into a temporary sibling folder and renamed into place, so a
//! reader never sees a half-written result; an existing result is replaced only with `force`.
//! Numbers are written in Rust's shortest round-trip form, so equal results give equal bytes.

use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::experiment::calibration::TargetResult;
use crate::experiment::compare::PairedRow;
use crate::experiment::sensitivity::{Method, SensitivityOutput};
use crate::experiment::sweep::SweepOutput;
use crate::experiment::{ReplicationRecord, RunOutput, seeds};
use crate::scenario::Scenario;
use crate::stats::{summarize, summarize_columns};
use crate::world::{DOMAINS, Facts};

/// The names a forumsim result, comparison, sweep, calibration, sensitivity or shard folder holds
/// (besides `rerun-K.csv` and, in a comparison, one folder per scenario named in its manifest).
const RESULT_ENTRIES: &[&str] = &[
    "summary.csv",
    "replications.csv",
    "states.csv",
    "failures.csv",
    "scenario.toml",
    "manifest.json",
    "report.html",
    "charts",
    "comparison.csv",
    "differences_by_year.csv",
    "sweep.csv",
    "sweep_paired.csv",
    "sensitivity.csv",
    "calibration.csv",
    "results.bin",
    "shard.json",
    "robustness.csv",
    "robustness_summary.csv",
    "robustness_sobol.csv",
    "state_years.csv",
    "posterior.csv",
    "posterior_summary.csv",
    "abc_generations.csv",
    "explain.csv",
    "ranks.csv",
];

/// Bytes the hidden siblings of a result folder add to its name (`.` + `.partial-` + a pid):
/// the folder's name may have at most `NAME_MAX - SIBLING_EXTRA` bytes.
const SIBLING_EXTRA: usize = 20;
const NAME_MAX: usize = 255;

/// Checks that `dir` may receive results, before anything is simulated: a new or empty folder,
/// or with `force` a forumsim result folder (recognised by its manifest, holding only what
/// forumsim writes), never a symbolic link, a file, a mount point or anyone else's folder; a
/// name short enough for the work folder beside it; and a parent folder that can be written.
pub fn check_destination(dir: &Path, force: bool) -> Result<()> {
    check_place(dir)?;
    if !fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Ok(());
    }
    let empty = fs::read_dir(dir)
        .map(|mut d| d.next().is_none())
        .map_err(|source| Error::Read {
            file: dir.to_path_buf(),
            source,
        })?;
    if !empty {
        if let Some(foreign) = foreign_entry(dir) {
            return Err(Error::Invalid {
                file: dir.to_path_buf(),
                key: "--out".into(),
                message: format!(
                    "{foreign}; forumsim writes only into a new or empty folder, and --force replaces only a forumsim result folder: give another --out"
                ),
            });
        }
        if !force {
            return Err(Error::OutputExists {
                path: dir.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// The checks of [`check_destination`] that do not depend on what `dir` holds: its name, that it
/// is a folder (or nothing yet), not a symbolic link or a mount point, and that its parent can
/// be written.
pub fn check_place(dir: &Path) -> Result<()> {
    let refuse = |message: String| Error::Invalid {
        file: dir.to_path_buf(),
        key: "--out".into(),
        message,
    };
    check_name(dir)?;
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(Error::Read {
                file: dir.to_path_buf(),
                source,
            });
        }
        Ok(m) if m.file_type().is_symlink() => {
            return Err(refuse(format!(
                "is a symbolic link (to {}); a result is published by renaming a folder into place, which would replace the link: give the folder it points to",
                fs::read_link(dir).map_or_else(|_| "?".into(), |t| t.display().to_string())
            )));
        }
        Ok(m) if !m.is_dir() => {
            return Err(refuse(
                "is a file, not a folder; give the folder the results should go to".into(),
            ));
        }
        Ok(m) if is_mount_point(dir, &m) => {
            return Err(refuse(
                "is a mount point; a result is published by renaming a folder into place, which cannot replace a mount point: give a folder inside it".into(),
            ));
        }
        Ok(_) => {}
    }
    check_writable(dir)
}

/// Checks that the name of result folder `dir` leaves room for the hidden folders beside it.
fn check_name(dir: &Path) -> Result<()> {
    let len = dir.file_name().map_or(0, |n| n.len());
    if len + SIBLING_EXTRA > NAME_MAX {
        return Err(Error::Invalid {
            file: dir.to_path_buf(),
            key: "--out".into(),
            message: format!(
                "the folder name has {len} bytes; expected at most {} (forumsim works in a hidden folder .NAME.partial beside it, and a name has at most {NAME_MAX} bytes)",
                NAME_MAX - SIBLING_EXTRA
            ),
        });
    }
    Ok(())
}

/// Whether `dir` (with metadata `m`) is a mount point: on another device than its parent.
#[cfg(unix)]
fn is_mount_point(dir: &Path, m: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(dir.join(".."))
        .map(|p| p.dev() != m.dev() || p.ino() == m.ino())
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_mount_point(_: &Path, _: &fs::Metadata) -> bool {
    false
}

/// What makes `dir` something other than a forumsim result folder, if anything: no manifest of
/// forumsim, or an entry that forumsim did not write.
fn foreign_entry(dir: &Path) -> Option<String> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<std::io::Result<_>>()
            .unwrap_or_else(|_| vec!["an unreadable entry".into()]),
        Err(e) => return Some(format!("cannot be read ({e})")),
    };
    names.sort();
    let manifest = ["manifest.json", "shard.json"].iter().find_map(|name| {
        let text = fs::read_to_string(dir.join(name)).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        (v["program"] == "forumsim").then_some(v)
    });
    let Some(manifest) = manifest else {
        let first = names.first().map_or("", String::as_str);
        return Some(format!(
            "holds {first:?} and no manifest.json of forumsim: it is not a forumsim result"
        ));
    };
    let folders: Vec<&str> = manifest["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["folder"].as_str())
        .collect();
    names
        .into_iter()
        .find(|name| {
            let rerun = name.starts_with("rerun-") && name.ends_with(".csv");
            !(RESULT_ENTRIES.contains(&name.as_str()) || rerun || folders.contains(&name.as_str()))
        })
        .map(|name| format!("holds {name:?}, which is not part of a forumsim result"))
}

/// Checks that the folder `dir` will be created in can be written: the nearest existing ancestor
/// must be a folder in which a file can be created.
fn check_writable(dir: &Path) -> Result<()> {
    let mut ancestor = dir.parent().filter(|p| !p.as_os_str().is_empty());
    while let Some(a) = ancestor {
        if fs::symlink_metadata(a).is_ok() {
            break;
        }
        ancestor = a.parent().filter(|p| !p.as_os_str().is_empty());
    }
    let parent = ancestor.unwrap_or(Path::new("."));
    let probe = parent.join(format!(".forumsim-probe-{}", std::process::id()));
    match fs::File::create(&probe) {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(Error::Invalid {
            file: dir.to_path_buf(),
            key: "--out".into(),
            message: format!("cannot write in {}: {e}", parent.display()),
        }),
    }
}

/// A lock held on a result folder while a process writes it, so that a second writer is refused
/// instead of deleting the first's work. It is the file `.<name>.lock` beside the folder, locked
/// with the operating system's advisory lock (released however the process ends, even by
/// `kill -9`), and removed when the writer is done.
#[derive(Debug)]
pub struct DirLock {
    path: PathBuf,
    _file: fs::File,
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Removed while still locked: a process that opened it meanwhile sees that the file it
        // locked is no longer the one at the path, and takes the lock afresh.
        let _ = fs::remove_file(&self.path);
    }
}

/// Takes the lock of result folder `dir`, or refuses with [`Error::Busy`] when another process
/// holds it.
pub fn lock_destination(dir: &Path) -> Result<DirLock> {
    check_name(dir)?;
    let path = hidden_sibling(dir, "lock");
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(Error::write(parent))?;
    }
    loop {
        let mut file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(Error::write(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&path).unwrap_or_default();
                return Err(Error::Busy {
                    path: dir.to_path_buf(),
                    holder: holder.trim().to_string(),
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(Error::write(&path)(e)),
        }
        if same_file(&file, &path) {
            use std::io::Write;
            let pid = std::process::id().to_string();
            file.set_len(0)
                .and_then(|()| file.write_all(pid.as_bytes()))
                .map_err(Error::write(&path))?;
            return Ok(DirLock { path, _file: file });
        }
    }
}

/// Whether the open `file` is still the file at `path`.
#[cfg(unix)]
fn same_file(file: &fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &fs::File, path: &Path) -> bool {
    path.exists()
}

/// Testing hook of the fault-injection tests: with `FORUMSIM_FAULT_KILL_AT=STEP` in the
/// environment, the process ends at once (exit code 137, as after `kill -9`, with no cleanup)
/// when it reaches step `STEP`.
pub fn fault_point(step: &str) {
    if std::env::var_os("FORUMSIM_FAULT_KILL_AT").is_some_and(|v| v == step) {
        std::process::exit(137);
    }
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> Error + '_ {
    move |e| Error::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}

/// Formats a number for CSV: empty for NaN.
fn num(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else {
        x.to_string()
    }
}

/// The hidden sibling `.<name>.<tag>` of folder `dir`: where a result is assembled before it is
/// renamed into place.
pub fn hidden_sibling(dir: &Path, tag: &str) -> PathBuf {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "result".into());
    parent.join(format!(".{name}.{tag}"))
}

/// Fills a temporary sibling folder of `dir` with `fill`, then renames it into place, so a reader
/// never sees a half-written result. An existing `dir` is replaced only with `force`, and only if
/// it is a forumsim result ([`check_destination`]); a second writer of `dir` at the same time is
/// refused ([`lock_destination`]).
pub fn write_atomically(
    dir: &Path,
    force: bool,
    fill: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    check_destination(dir, force)?;
    let _lock = lock_destination(dir)?;
    let tmp = hidden_sibling(dir, &format!("partial-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(Error::write(&tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(Error::write(&tmp))?;
    if let Err(e) = fill(&tmp) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    // Checked again under the lock: another process may have published meanwhile.
    if let Err(e) = check_destination(dir, force) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if dir.exists() {
        let old = hidden_sibling(dir, &format!("old-{}", std::process::id()));
        fs::rename(dir, &old).map_err(Error::write(dir))?;
        fs::rename(&tmp, dir).map_err(Error::write(dir))?;
        fs::remove_dir_all(&old).map_err(Error::write(&old))?;
    } else {
        fs::rename(&tmp, dir).map_err(Error::write(dir))?;
    }
    remove_abandoned(dir);
    Ok(())
}

/// Removes the temporary folders of `dir` that killed writers left behind
/// (`.<name>.partial-<pid>`, `.<name>.old-<pid>`): called by the holder of `dir`'s lock once its
/// result is published, so no other writer of `dir` is using them. Best effort: one that cannot
/// be removed stays.
pub fn remove_abandoned(dir: &Path) {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(name) = dir.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let abandoned = ["partial", "old"].iter().any(|tag| {
            file.strip_prefix(&format!(".{name}.{tag}-"))
                .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
        });
        if abandoned && e.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// Writes every result file of a run into `dir`, atomically.
/// With `charts`, the charts and `report.html` are drawn into the folder before it is published.
pub fn write_run(
    dir: &Path,
    force: bool,
    scenario: &Scenario,
    facts: &Facts,
    run: &RunOutput,
    seed: u64,
    charts: bool,
) -> Result<()> {
    write_atomically(dir, force, |tmp| {
        write_result(tmp, scenario, facts, run, seed, charts)
    })
}

/// The result files of a run, and with `charts` its charts and report, into an existing folder.
fn write_result(
    dir: &Path,
    scenario: &Scenario,
    facts: &Facts,
    run: &RunOutput,
    seed: u64,
    charts: bool,
) -> Result<()> {
    crate::experiment::thread_pool(run.threads)?
        .install(|| write_run_files(dir, scenario, facts, run, seed))?;
    if charts {
        plot_with(dir, run.threads)?;
    }
    Ok(())
}

/// Publishes a streamed run from its work folder `work` to `dir`, in steps that a kill at any
/// point leaves restartable (each is redone or skipped by the next attempt, `--resume`):
///
/// 1. unless `work/staged` exists: the result files (and with `charts` the charts) are written
///    into `work/result`, then the marker `work/staged` says they are complete;
/// 2. while `work/result` exists: an earlier result at `dir` (replaced only with `force`, and
///    only a forumsim result) is moved to `work/replaced`, and `work/result` is renamed to `dir`;
/// 3. the work folder is renamed to `.<name>.trash` and removed (a leftover trash folder, from
///    a kill during the removal, is removed by the next writer of `dir`).
#[allow(clippy::too_many_arguments)]
pub fn publish_streamed_run(
    work: &Path,
    dir: &Path,
    force: bool,
    scenario: &Scenario,
    facts: &Facts,
    run: &RunOutput,
    seed: u64,
    charts: bool,
) -> Result<()> {
    let staging = work.join("result");
    let staged = work.join("staged");
    if !staged.exists() {
        check_destination(dir, force)?;
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(Error::write(&staging))?;
        }
        fs::create_dir_all(&staging).map_err(Error::write(&staging))?;
        write_result(&staging, scenario, facts, run, seed, charts)?;
        fault_point("staged");
        create_synced(&staged)?;
        fault_point("marked");
    }
    if staging.exists() {
        if fs::symlink_metadata(dir).is_ok() {
            // The earlier result: checked again, since this may be a resume with other options.
            check_destination(dir, force)?;
            let replaced = work.join("replaced");
            if replaced.exists() {
                fs::remove_dir_all(&replaced).map_err(Error::write(&replaced))?;
            }
            fs::rename(dir, &replaced).map_err(Error::write(dir))?;
            fault_point("moved-old");
        }
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(Error::write(parent))?;
        }
        fs::rename(&staging, dir).map_err(Error::write(dir))?;
        fault_point("published");
    }
    remove_trash(dir)?;
    let trash = hidden_sibling(dir, "trash");
    fs::rename(work, &trash).map_err(Error::write(work))?;
    fault_point("trashed");
    remove_abandoned(dir);
    remove_trash(dir)
}

/// Removes the trash folder of `dir` left by a publication (step 3 of
/// [`publish_streamed_run`]), if there is one.
pub fn remove_trash(dir: &Path) -> Result<()> {
    let trash = hidden_sibling(dir, "trash");
    if fs::symlink_metadata(&trash).is_err() {
        return Ok(());
    }
    // The largest file first, so that a kill during the removal is seen half done.
    let _ = fs::remove_file(trash.join("traces.bin"));
    fault_point("removing");
    fs::remove_dir_all(&trash).map_err(Error::write(&trash))
}

/// Creates the empty file `path` and makes it (and its entry in its folder) durable.
fn create_synced(path: &Path) -> Result<()> {
    fs::File::create(path)
        .and_then(|f| f.sync_all())
        .map_err(Error::write(path))?;
    if let Some(parent) = path.parent() {
        // A folder's entry is durable once the folder is synced (a no-op where unsupported).
        let _ = fs::File::open(parent).and_then(|f| f.sync_all());
    }
    Ok(())
}

/// Writes the files of one run into an existing folder, on the threads of the rayon pool it runs
/// in.
pub fn write_run_files(
    dir: &Path,
    scenario: &Scenario,
    facts: &Facts,
    run: &RunOutput,
    seed: u64,
) -> Result<()> {
    // The per-replication and per-State rows are written by one thread while the others
    // summarise the columns.
    let (summary, rows) = rayon::join(
        || write_summary(&dir.join("summary.csv"), run),
        || {
            write_replications(&dir.join("replications.csv"), scenario, run)?;
            write_states(&dir.join("states.csv"), facts, run)
        },
    );
    summary?;
    rows?;
    // The resolved scenario, so `forumsim rerun` reproduces any replication from the folder alone.
    let path = dir.join("scenario.toml");
    fs::write(&path, scenario.resolved_toml()).map_err(Error::write(&path))?;
    if !run.failures.is_empty() {
        write_failures(&dir.join("failures.csv"), run)?;
    }
    write_manifest(&dir.join("manifest.json"), scenario, run, seed)
}

/// `failures.csv`: the replications that broke an invariant, with what is needed to rerun them.
pub fn write_failures(path: &Path, run: &RunOutput) -> Result<()> {
    let mut w = csv::Writer::from_path(path).map_err(csv_err(path))?;
    w.write_record(["point", "replication", "seed_key", "year", "check"])
        .map_err(csv_err(path))?;
    for f in &run.failures {
        w.write_record([
            f.point.to_string(),
            f.replication.to_string(),
            format!("{:016x}", f.key),
            f.year.to_string(),
            f.check.clone(),
        ])
        .map_err(csv_err(path))?;
    }
    w.flush().map_err(Error::write(path))
}

/// Folder names for the scenarios of a comparison: their names, made unique.
pub fn comparison_folders(scenarios: &[&Scenario]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for s in scenarios {
        let mut name = s.name.clone();
        let mut k = 2;
        while names.contains(&name) {
            name = format!("{}-{k}", s.name);
            k += 1;
        }
        names.push(name);
    }
    names
}

/// Writes a comparison: `comparison.csv`, `manifest.json`, and one result folder per scenario
/// (with `charts`, the charts and reports too).
pub fn write_comparison(
    dir: &Path,
    force: bool,
    runs: &[(&Scenario, &Facts, &RunOutput)],
    rows: &[PairedRow],
    ranks: Option<&crate::experiment::compare::Ranks>,
    seed: u64,
    charts: bool,
) -> Result<()> {
    let scenarios: Vec<&Scenario> = runs.iter().map(|r| r.0).collect();
    let folders = comparison_folders(&scenarios);
    write_atomically(dir, force, |tmp| {
        let path = tmp.join("comparison.csv");
        let mut w = csv::Writer::from_path(&path).map_err(csv_err(&path))?;
        w.write_record([
            "scenario",
            "baseline",
            "metric",
            "n",
            "baseline_mean",
            "scenario_mean",
            "difference",
            "sd_difference",
            "ci95_low",
            "ci95_high",
            "spread95_low",
            "spread95_high",
            "p_lower",
            "spread_covers",
        ])
        .map_err(csv_err(&path))?;
        for r in rows {
            w.write_record([
                r.scenario.clone(),
                r.baseline.clone(),
                r.metric.clone(),
                r.n.to_string(),
                num(r.baseline_mean),
                num(r.scenario_mean),
                num(r.difference),
                num(r.sd),
                num(r.ci_low),
                num(r.ci_high),
                num(r.spread_low),
                num(r.spread_high),
                num(r.p_lower),
                r.uncertainty.describe(),
            ])
            .map_err(csv_err(&path))?;
        }
        w.flush().map_err(Error::write(&path))?;
        write_differences_by_year(&tmp.join("differences_by_year.csv"), runs)?;
        if let Some(ranks) = ranks {
            let path = tmp.join("ranks.csv");
            let mut w = csv::Writer::from_path(&path).map_err(csv_err(&path))?;
            w.write_record(["scenario", "rank", "probability", "replications"])
                .map_err(csv_err(&path))?;
            for (name, p) in ranks.scenarios.iter().zip(&ranks.probability) {
                for (rank, x) in p.iter().enumerate() {
                    w.write_record([
                        name.clone(),
                        (rank + 1).to_string(),
                        num(*x),
                        ranks.replications.to_string(),
                    ])
                    .map_err(csv_err(&path))?;
                }
            }
            w.flush().map_err(Error::write(&path))?;
        }
        // Each scenario's folder is its own files: written in parallel, on the run's threads.
        let threads = runs.first().map_or(1, |r| r.2.threads);
        crate::experiment::thread_pool(threads)?.install(|| {
            runs.par_iter()
                .zip(&folders)
                .try_for_each(|((scenario, facts, run), folder)| {
                    let sub = tmp.join(folder);
                    fs::create_dir_all(&sub).map_err(Error::write(&sub))?;
                    write_run_files(&sub, scenario, facts, run, seed)
                })
        })?;
        let manifest = serde_json::json!({
            "program": "forumsim",
            "version": env!("CARGO_PKG_VERSION"),
            "comparison": "paired differences against the first scenario, replication by replication, under one master seed",
            "master_seed": seed,
            "seed_derivation": seeds::DERIVATION,
            "replications": runs.first().map_or(0, |r| r.2.records.len()),
            "intervals": {
                "ci95": "95% confidence interval of the mean paired difference (Student t): the precision of the average effect over the replications",
                "spread95": "central 95% of the replications' own paired differences",
                "p_lower": "share of replications in which the scenario's value is below the baseline's",
                "spread_covers": rows.first().map(|r| r.uncertainty.describe()),
                "posterior": runs.first().and_then(|r| r.0.posterior.as_ref()).map(posterior_json),
            },
            "scenarios": runs.iter().zip(&folders).map(|((s, _, _), folder)| serde_json::json!({
                "name": s.name,
                "folder": folder,
                "source": s.source,
                "scenario_hash": s.content_hash(),
                "description": s.description,
            })).collect::<Vec<_>>(),
        });
        write_json(&tmp.join("manifest.json"), &manifest)?;
        if charts {
            plot_with(tmp, threads)?;
        }
        Ok(())
    })
}

/// Columns of `differences_by_year.csv`.
pub const DIFFERENCE_COLUMNS: [&str; 9] = [
    "scenario",
    "baseline",
    "metric",
    "year",
    "n",
    "mean",
    "ci95_low",
    "ci95_high",
    "covers",
];

/// `differences_by_year.csv`: per scenario after the first, headline metric and year, the mean
/// paired difference against the first scenario and its 95% confidence interval.
fn write_differences_by_year(path: &Path, runs: &[(&Scenario, &Facts, &RunOutput)]) -> Result<()> {
    let mut w = csv::Writer::from_path(path).map_err(csv_err(path))?;
    w.write_record(DIFFERENCE_COLUMNS).map_err(csv_err(path))?;
    let Some((baseline, _, base_run)) = runs.first() else {
        return w.flush().map_err(Error::write(path));
    };
    for (scenario, _, run) in &runs[1..] {
        for r in crate::experiment::compare::paired_by_year((baseline, base_run), (scenario, run))?
        {
            w.write_record([
                r.scenario,
                r.baseline,
                r.metric,
                r.year.to_string(),
                r.n.to_string(),
                num(r.mean),
                num(r.ci_low),
                num(r.ci_high),
                r.uncertainty.describe(),
            ])
            .map_err(csv_err(path))?;
        }
    }
    w.flush().map_err(Error::write(path))
}

/// Draws the charts and report of `dir` on `threads` threads, the number the run was given (they
/// are drawn in parallel; the bytes do not depend on it).
fn plot_with(dir: &Path, threads: usize) -> Result<()> {
    crate::experiment::thread_pool(threads)?.install(|| crate::chart::plot(dir))?;
    Ok(())
}

/// Writes `sensitivity.csv` (and a manifest) into `dir`, atomically.
pub fn write_sensitivity(
    dir: &Path,
    force: bool,
    scenario: &Scenario,
    out: &SensitivityOutput,
    seed: u64,
) -> Result<()> {
    write_atomically(dir, force, |tmp| {
        let path = tmp.join("sensitivity.csv");
        let mut w = csv::Writer::from_path(&path).map_err(csv_err(&path))?;
        w.write_record([
            "output",
            "method",
            "parameter",
            "low",
            "high",
            "first_order",
            "first_order_ci95_low",
            "first_order_ci95_high",
            "total",
            "total_ci95_low",
            "total_ci95_high",
            "morris_mu",
            "morris_mu_star",
            "morris_sigma",
        ])
        .map_err(csv_err(&path))?;
        for r in &out.rows {
            let mut row = vec![
                r.output.clone(),
                match out.method {
                    Method::Sobol => "sobol".into(),
                    Method::Morris => "morris".into(),
                },
                r.factor.key.clone(),
                num(r.factor.low),
                num(r.factor.high),
            ];
            match r.sobol {
                Some(s) => row.extend(
                    [
                        s.first,
                        s.first_ci.0,
                        s.first_ci.1,
                        s.total,
                        s.total_ci.0,
                        s.total_ci.1,
                    ]
                    .iter()
                    .map(|&x| num(x)),
                ),
                None => row.extend(std::iter::repeat_n(String::new(), 6)),
            }
            match r.morris {
                Some(m) => row.extend([m.mu, m.mu_star, m.sigma].iter().map(|&x| num(x))),
                None => row.extend(std::iter::repeat_n(String::new(), 3)),
            }
            w.write_record(&row).map_err(csv_err(&path))?;
        }
        w.flush().map_err(Error::write(&path))?;
        let manifest = serde_json::json!({
            "program": "forumsim",
            "version": env!("CARGO_PKG_VERSION"),
            "scenario": scenario.name,
            "scenario_hash": scenario.content_hash(),
            "master_seed": seed,
            "method": match out.method { Method::Sobol => "sobol (Saltelli sampling, Saltelli 2010 first-order and Jansen total estimators, 1000 bootstrap resamples)", Method::Morris => "morris (4 levels, one-at-a-time trajectories)" },
            "design_points": out.points,
            "samples": out.samples,
            "replications_per_point": out.replications,
            "wall_seconds": out.wall_seconds,
            "outputs": out.outputs(),
            "dropped_outputs": out.dropped.iter().map(|d| serde_json::json!({"output": d.output, "repeats": d.repeats})).collect::<Vec<_>>(),
            "warnings": out.warnings(),
        });
        write_json(&tmp.join("manifest.json"), &manifest)?;
        crate::chart::plot(tmp)?;
        Ok(())
    })
}

/// Writes `calibration.csv` (and a manifest) into `dir`, atomically.
pub fn write_calibration(
    dir: &Path,
    force: bool,
    scenario: &Scenario,
    results: &[TargetResult],
    replications: u64,
    seed: u64,
) -> Result<()> {
    write_atomically(dir, force, |tmp| {
        write_targets(&tmp.join("calibration.csv"), results)?;
        let manifest = serde_json::json!({
            "program": "forumsim",
            "version": env!("CARGO_PKG_VERSION"),
            "scenario": scenario.name,
            "scenario_hash": scenario.content_hash(),
            "master_seed": seed,
            "replications": replications,
            "years": [scenario.run.start_year, 2016],
            "posterior": scenario.posterior.as_ref().map(posterior_json),
        });
        write_json(&tmp.join("manifest.json"), &manifest)?;
        crate::chart::plot(tmp)?;
        Ok(())
    })
}

/// `calibration.csv`: each target beside the model's mean and 90% interval.
fn write_targets(path: &Path, results: &[TargetResult]) -> Result<()> {
    let mut w = csv::Writer::from_path(path).map_err(csv_err(path))?;
    w.write_record([
        "target",
        "year",
        "observed",
        "model_mean",
        "model_q05",
        "model_q95",
        "n",
        "tolerance_low",
        "tolerance_high",
        "within_tolerance",
        "source",
    ])
    .map_err(csv_err(path))?;
    for r in results {
        w.write_record([
            r.target.clone(),
            r.year.to_string(),
            num(r.observed),
            num(r.mean),
            num(r.q05),
            num(r.q95),
            r.n.to_string(),
            num(r.tolerance.0),
            num(r.tolerance.1),
            r.within().to_string(),
            r.source.clone(),
        ])
        .map_err(csv_err(path))?;
    }
    w.flush().map_err(Error::write(path))
}

/// Writes the result of `calibrate --posterior` into `dir`, atomically: `posterior.csv` (the
/// distinct parameter sets with their weights and distances: what `--posterior` reads),
/// `posterior_summary.csv` (per parameter: prior range, mean, median, 5% and 95%),
/// `abc_generations.csv` (tolerance, acceptance rate, effective sample size and evaluations per
/// generation), `calibration.csv` (the posterior predictive check), a manifest and the charts.
pub fn write_posterior(
    dir: &Path,
    force: bool,
    scenario: &Scenario,
    posterior: &crate::experiment::abc::Posterior,
    check: &[TargetResult],
    wall_seconds: f64,
) -> Result<()> {
    write_atomically(dir, force, |tmp| {
        let path = tmp.join("posterior.csv");
        let mut w = csv::Writer::from_path(&path).map_err(csv_err(&path))?;
        let mut header = vec!["particle".to_string(), "weight".into(), "distance".into()];
        header.extend(posterior.priors.iter().map(|p| p.key.clone()));
        w.write_record(&header).map_err(csv_err(&path))?;
        for (k, (theta, weight, distance)) in posterior.weighted().iter().enumerate() {
            let mut row = vec![k.to_string(), num(*weight), num(*distance)];
            row.extend(theta.iter().map(|&x| num(x)));
            w.write_record(&row).map_err(csv_err(&path))?;
        }
        w.flush().map_err(Error::write(&path))?;
        let path = tmp.join("posterior_summary.csv");
        let mut w = csv::Writer::from_path(&path).map_err(csv_err(&path))?;
        w.write_record([
            "parameter",
            "prior_low",
            "prior_high",
            "default",
            "mean",
            "q05",
            "median",
            "q95",
        ])
        .map_err(csv_err(&path))?;
        for (k, p) in posterior.priors.iter().enumerate() {
            let mean = posterior.particles.iter().map(|t| t[k]).sum::<f64>()
                / posterior.particles.len() as f64;
            let default = scenario.parameter(&p.key).map_or(f64::NAN, |x| x.0);
            w.write_record([
                p.key.clone(),
                num(p.low),
                num(p.high),
                num(default),
                num(mean),
                num(posterior.quantile(k, 0.05)),
                num(posterior.quantile(k, 0.5)),
                num(posterior.quantile(k, 0.95)),
            ])
            .map_err(csv_err(&path))?;
        }
        w.flush().map_err(Error::write(&path))?;
        let path = tmp.join("abc_generations.csv");
        let mut w = csv::Writer::from_path(&path).map_err(csv_err(&path))?;
        w.write_record([
            "generation",
            "tolerance",
            "acceptance_rate",
            "effective_sample_size",
            "evaluations",
            "wall_seconds",
        ])
        .map_err(csv_err(&path))?;
        for g in &posterior.generations {
            w.write_record([
                g.generation.to_string(),
                num(g.epsilon),
                num(g.acceptance),
                num(g.ess),
                g.evaluations.to_string(),
                format!("{:.1}", g.wall_seconds),
            ])
            .map_err(csv_err(&path))?;
        }
        w.flush().map_err(Error::write(&path))?;
        write_targets(&tmp.join("calibration.csv"), check)?;
        let st = &posterior.settings;
        let manifest = serde_json::json!({
            "program": "forumsim",
            "version": env!("CARGO_PKG_VERSION"),
            "command": "calibrate --posterior",
            "scenario": scenario.name,
            "scenario_hash": scenario.content_hash(),
            "method": "ABC-SMC with replenishment and adaptive tolerances (Drovandi and Pettitt 2011; Del Moral, Doucet and Jasra 2012): uniform priors, a Gaussian kernel of twice the survivors' covariance; the distance of docs/ODD.md section 7.3",
            "priors": posterior.priors.iter().map(|p| serde_json::json!({"key": p.key, "low": p.low, "high": p.high})).collect::<Vec<_>>(),
            "particles": st.particles,
            "dropped_per_generation": st.drop,
            "replications_per_evaluation": st.reps,
            "max_generations": st.max_generations,
            "min_acceptance": st.min_acceptance,
            "max_moves": st.max_moves,
            "master_seed": st.seed,
            "generations": posterior.generations.len(),
            "evaluations": posterior.generations.iter().map(|g| g.evaluations).sum::<usize>(),
            "wall_seconds": wall_seconds,
        });
        write_json(&tmp.join("manifest.json"), &manifest)?;
        crate::chart::posterior::draw(tmp, posterior, check)?;
        crate::chart::plot(tmp)?;
        Ok(())
    })
}

/// The command that produced this process's results: its words and every override, written
/// into each `manifest.json` (set once, by the binary).
static INVOCATION: std::sync::OnceLock<(Vec<String>, Vec<String>)> = std::sync::OnceLock::new();

/// Records the command line and the overrides (`--set KEY=VALUE`, `--sweep KEY=...`) that every
/// manifest this process writes names as `command_line` and `overrides`.
pub fn record_invocation(command_line: Vec<String>, overrides: Vec<String>) {
    let _ = INVOCATION.set((command_line, overrides));
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let mut value = value.clone();
    if path.file_name().is_some_and(|n| n == "manifest.json")
        && let (Some(map), Some((line, overrides))) = (value.as_object_mut(), INVOCATION.get())
    {
        map.insert("command_line".into(), serde_json::json!(line));
        map.insert("overrides".into(), serde_json::json!(overrides));
    }
    let text = serde_json::to_string_pretty(&value).map_err(|e| Error::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    fs::write(path, text + "\n").map_err(Error::write(path))
}

/// The columns of `summary.csv`, in order (charts read them back by these names).
pub const SUMMARY_COLUMNS: [&str; 12] = [
    "year",
    "metric",
    "n",
    "mean",
    "sd",
    "q05",
    "q25",
    "q50",
    "q75",
    "q95",
    "ci95_low",
    "ci95_high",
];

/// `summary.csv`: one row per year and metric, across replications (the columns summarised on
/// the threads of the rayon pool it runs in).
pub fn write_summary(path: &Path, run: &RunOutput) -> Result<()> {
    let mut w = csv::Writer::from_path(path).map_err(csv_err(path))?;
    w.write_record(SUMMARY_COLUMNS).map_err(csv_err(path))?;
    let nm = run.metrics.len();
    // Every column summarised on the threads of the pool this runs in, then written in order.
    // Four columns at a time: their sums run side by side (`stats::summarize_columns`).
    let columns = run.years.len() * nm;
    let summaries = run
        .traces
        .map_column_groups(columns, summarize_columns::<4>)?;
    for (t, year) in run.years.iter().enumerate() {
        for (m, metric) in run.metrics.iter().enumerate() {
            let Some(s) = summaries[t * nm + m] else {
                continue;
            };
            w.write_record([
                year.to_string(),
                metric.clone(),
                s.n.to_string(),
                num(s.mean),
                num(s.sd),
                num(s.q05),
                num(s.q25),
                num(s.q50),
                num(s.q75),
                num(s.q95),
                num(s.ci_low),
                num(s.ci_high),
            ])
            .map_err(csv_err(path))?;
        }
    }
    w.flush().map_err(Error::write(path))
}

/// `replications.csv`: one row per replication.
pub fn write_replications(path: &Path, scenario: &Scenario, run: &RunOutput) -> Result<()> {
    let mut w = csv::Writer::from_path(path).map_err(csv_err(path))?;
    w.write_record(replication_header(scenario))
        .map_err(csv_err(path))?;
    // Each field formatted into one buffer and written as it comes: a row of 100,000 is no
    // longer 50 strings allocated and freed.
    let mut field = String::new();
    run.records.for_each(&mut |r| {
        replication_fields(r, &mut field, &mut |f| {
            w.write_field(f).map_err(csv_err(path))
        })?;
        w.write_record(None::<&[u8]>).map_err(csv_err(path))
    })?;
    w.flush().map_err(Error::write(path))
}

/// Columns of `replications.csv`.
pub fn replication_header(scenario: &Scenario) -> Vec<String> {
    let mut header: Vec<String> = [
        "replication",
        "rtb",
        "rtb_migrant_weighted",
        "drift_per_decade",
        "years_to_floor",
        "protection_mean_start",
        "protection_mean_end",
        "protection_migrant_weighted_start",
        "protection_migrant_weighted_end",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for d in DOMAINS {
        header.push(format!("protection_{d}_start"));
        header.push(format!("protection_{d}_end"));
    }
    header.push("irregular_share_end".into());
    header.push("pressure_end".into());
    for t in &scenario.treaties {
        header.push(format!("parties_{}", t.name));
    }
    for f in &scenario.forums {
        header.push(format!("attendance_{}", f.name));
    }
    header
}

/// One row of `replications.csv`.
pub fn replication_row(r: &ReplicationRecord) -> Vec<String> {
    let mut row = Vec::new();
    let mut field = String::new();
    let _ = replication_fields(r, &mut field, &mut |f| {
        row.push(f.to_string());
        Ok(())
    });
    row
}

/// Hands `write` the fields of one row of `replications.csv` in order, each formatted into
/// `field` as [`num`] formats it (an empty field for NaN).
fn replication_fields(
    r: &ReplicationRecord,
    field: &mut String,
    write: &mut dyn FnMut(&str) -> Result<()>,
) -> Result<()> {
    use std::fmt::Write as _;
    let mut put = |value: Option<&dyn std::fmt::Display>| {
        field.clear();
        if let Some(v) = value {
            // Writing into a String cannot fail.
            let _ = write!(field, "{v}");
        }
        write(field)
    };
    fn number(x: &f64) -> Option<&dyn std::fmt::Display> {
        (!x.is_nan()).then_some(x)
    }
    put(Some(&r.replication))?;
    for x in [r.rtb, r.rtb_migrant_weighted, r.drift_per_decade] {
        put(number(&x))?;
    }
    put(r
        .years_to_floor
        .as_ref()
        .map(|y| y as &dyn std::fmt::Display))?;
    let (start, end) = (&r.start, &r.end);
    for x in [
        start.mean,
        end.mean,
        start.migrant_weighted,
        end.migrant_weighted,
    ] {
        put(number(&x))?;
    }
    for d in 0..DOMAINS.len() {
        put(number(&start.domains[d]))?;
        put(number(&end.domains[d]))?;
    }
    put(number(&r.irregular_share_end))?;
    put(number(&r.pressure_end))?;
    for x in r.parties.iter().chain(&r.attendance) {
        put(number(x))?;
    }
    Ok(())
}

/// Headline replication-level quantities of a sweep point, by name.
pub const SWEEP_METRICS: [&str; 7] = [
    "rtb",
    "rtb_migrant_weighted",
    "protection_mean_end",
    "protection_migrant_weighted_end",
    "irregular_share_end",
    "pressure_end",
    "ratifications_total",
];

/// The value of a [`SWEEP_METRICS`] quantity in a replication record.
pub fn sweep_metric(r: &ReplicationRecord, metric: &str) -> f64 {
    match metric {
        "rtb" => r.rtb,
        "rtb_migrant_weighted" => r.rtb_migrant_weighted,
        "protection_mean_end" => r.end.mean,
        "protection_migrant_weighted_end" => r.end.migrant_weighted,
        "irregular_share_end" => r.irregular_share_end,
        "pressure_end" => r.pressure_end,
        "ratifications_total" => r.parties.iter().sum(),
        _ => f64::NAN,
    }
}

/// Writes a sweep: `sweep.csv` (one row per design point), `replications.csv` (with the point
/// index) and `manifest.json`, atomically.
pub fn write_sweep(
    dir: &Path,
    force: bool,
    scenario: &Scenario,
    out: &SweepOutput,
    seed: u64,
    charts: bool,
) -> Result<()> {
    write_atomically(dir, force, |tmp| {
        let path = tmp.join("sweep.csv");
        let mut w = csv::Writer::from_path(&path).map_err(csv_err(&path))?;
        let mut header = vec!["point".to_string()];
        header.extend(out.keys.iter().cloned());
        for m in SWEEP_METRICS {
            for stat in ["mean", "sd", "q05", "q50", "q95", "ci95_low", "ci95_high"] {
                header.push(format!("{m}_{stat}"));
            }
        }
        w.write_record(&header).map_err(csv_err(&path))?;
        let mut scratch = Vec::new();
        for (k, (values, records)) in out.points.iter().zip(&out.records).enumerate() {
            let mut row = vec![k.to_string()];
            row.extend(values.iter().map(|&v| num(v)));
            for m in SWEEP_METRICS {
                let column: Vec<f64> = records.iter().map(|r| sweep_metric(r, m)).collect();
                match summarize(&column, &mut scratch) {
                    Some(st) => row.extend(
                        [
                            st.mean, st.sd, st.q05, st.q50, st.q95, st.ci_low, st.ci_high,
                        ]
                        .iter()
                        .map(|&x| num(x)),
                    ),
                    None => row.extend(std::iter::repeat_n(String::new(), 7)),
                }
            }
            w.write_record(&row).map_err(csv_err(&path))?;
        }
        w.flush().map_err(Error::write(&path))?;
        let path = tmp.join("replications.csv");
        let mut w = csv::Writer::from_path(&path).map_err(csv_err(&path))?;
        let mut header = vec!["point".to_string()];
        header.extend(replication_header(scenario));
        w.write_record(&header).map_err(csv_err(&path))?;
        for (k, records) in out.records.iter().enumerate() {
            for r in records {
                let mut row = vec![k.to_string()];
                row.extend(replication_row(r));
                w.write_record(&row).map_err(csv_err(&path))?;
            }
        }
        w.flush().map_err(Error::write(&path))?;
        let path = tmp.join("sweep_paired.csv");
        let mut w = csv::Writer::from_path(&path).map_err(csv_err(&path))?;
        let mut header = vec!["point".to_string()];
        header.extend(out.keys.iter().cloned());
        header.extend(
            [
                "baseline_point",
                "metric",
                "n",
                "difference",
                "sd",
                "ci95_low",
                "ci95_high",
            ]
            .map(String::from),
        );
        w.write_record(&header).map_err(csv_err(&path))?;
        for (k, metric, st) in crate::experiment::sweep::paired_against_first(out) {
            let mut row = vec![k.to_string()];
            row.extend(out.points[k].iter().map(|&v| num(v)));
            row.extend(["0".to_string(), metric.to_string(), st.n.to_string()]);
            row.extend(
                [st.mean, st.sd, st.ci_low, st.ci_high]
                    .iter()
                    .map(|&x| num(x)),
            );
            w.write_record(&row).map_err(csv_err(&path))?;
        }
        w.flush().map_err(Error::write(&path))?;
        let resolved: toml::Table = scenario.resolved_toml().parse().unwrap_or_default();
        let manifest = serde_json::json!({
            "program": "forumsim",
            "version": env!("CARGO_PKG_VERSION"),
            "scenario": scenario.name,
            "scenario_source": scenario.source,
            "scenario_hash": scenario.content_hash(),
            "master_seed": seed,
            "seed_derivation": seeds::DERIVATION,
            "intervals": {
                "spread_covers": crate::experiment::compare::Uncertainty::of(scenario).describe(),
                "posterior": scenario.posterior.as_ref().map(posterior_json),
            },
            "paired_points": "every design point runs the replications of sweep point 0 (the same crises and elections); sweep_paired.csv holds each point's paired differences against point 0",
            "design": out.design,
            "swept_parameters": out.keys,
            "points": out.points.len(),
            "replications_per_point": out.records.first().map_or(0, Vec::len),
            "threads": out.threads,
            "wall_seconds": out.wall_seconds,
            "parameters": resolved,
        });
        write_json(&tmp.join("manifest.json"), &manifest)?;
        if charts {
            crate::chart::plot(tmp)?;
        }
        Ok(())
    })
}

/// `states.csv`: per State, the mean over replications of its final values.
pub fn write_states(path: &Path, facts: &Facts, run: &RunOutput) -> Result<()> {
    let mut w = csv::Writer::from_path(path).map_err(csv_err(path))?;
    let mut header = vec![
        "iso3".to_string(),
        "name".into(),
        "region".into(),
        "income_group".into(),
    ];
    header.extend(run.state_columns.iter().cloned());
    w.write_record(&header).map_err(csv_err(path))?;
    let nc = run.state_columns.len();
    for i in 0..facts.n_states() {
        let mut row = vec![
            facts.iso3[i].clone(),
            facts.name[i].clone(),
            facts.region_names[facts.region[i] as usize].clone(),
            facts.income_group[i].name().to_string(),
        ];
        row.extend(
            run.state_means[i * nc..(i + 1) * nc]
                .iter()
                .map(|&x| num(x)),
        );
        w.write_record(&row).map_err(csv_err(path))?;
    }
    w.flush().map_err(Error::write(path))
}

/// A posterior a run drew its parameters from, as its manifests name it.
fn posterior_json(d: &std::sync::Arc<crate::scenario::posterior::Draws>) -> serde_json::Value {
    serde_json::json!({"source": d.source, "fnv1a64": d.hash, "parameter_sets": d.thetas.len(), "keys": d.keys})
}

/// `manifest.json`: what produced the results.
pub fn write_manifest(path: &Path, scenario: &Scenario, run: &RunOutput, seed: u64) -> Result<()> {
    let resolved: toml::Table = scenario.resolved_toml().parse().unwrap_or_default();
    let manifest = serde_json::json!({
        "program": "forumsim",
        "version": env!("CARGO_PKG_VERSION"),
        "scenario": scenario.name,
        "scenario_source": scenario.source,
        "scenario_hash": scenario.content_hash(),
        "scenario_hash_algorithm": "fnv1a64 of the resolved scenario as canonical TOML",
        "master_seed": seed,
        "sweep_point": 0,
        "seed_derivation": seeds::DERIVATION,
        "rng": "ChaCha8Rng (rand_chacha 0.10)",
        "replications": run.records.len(),
        "failed_replications": run.failures.len(),
        "threads": run.threads,
        "wall_seconds": run.wall_seconds,
        "years": [run.years.first(), run.years.last()],
        "metrics": run.metrics,
        "intervals": {
            "spread_covers": crate::experiment::compare::Uncertainty::of(scenario).describe(),
            "posterior": scenario.posterior.as_ref().map(posterior_json),
        },
        "parameters": resolved,
    });
    write_json(path, &manifest)
}

/// The default result folder of a scenario.
pub fn default_dir(scenario: &Scenario) -> PathBuf {
    Path::new("output").join(&scenario.name)
}

/// Writes the result of a robustness analysis into `dir`, atomically: `robustness.csv` (one row
/// per design point and scenario: the parameter values, the scenario's mean RTB index and its
/// paired effect against the base with its 95% interval; the defaults as point `default`),
/// `robustness_summary.csv` (one row per proposal), `robustness_sobol.csv` (Sobol method: the
/// indices of each proposal's effect per parameter) and a manifest.
pub fn write_robustness(
    dir: &Path,
    force: bool,
    scenarios: &[Scenario],
    out: &crate::experiment::robustness::RobustnessOutput,
) -> Result<()> {
    use crate::experiment::robustness::Method as R;
    write_atomically(dir, force, |tmp| {
        let path = tmp.join("robustness.csv");
        let mut w = csv::Writer::from_path(&path).map_err(csv_err(&path))?;
        let mut header: Vec<String> = vec!["point".into()];
        header.extend(out.factors.iter().map(|f| f.key.clone()));
        header.extend(
            [
                "scenario",
                "n",
                "rtb_mean",
                "effect",
                "effect_sd",
                "effect_ci95_low",
                "effect_ci95_high",
            ]
            .map(String::from),
        );
        w.write_record(&header).map_err(csv_err(&path))?;
        for (p, values) in out.points.iter().enumerate() {
            for (s, name) in out.scenarios.iter().enumerate() {
                let mut row = vec![p.to_string()];
                row.extend(values.iter().map(|&v| num(v)));
                row.push(name.clone());
                row.push(out.replications.to_string());
                row.push(num(out.rtb[p][s]));
                match s.checked_sub(1).map(|k| out.effects[p][k]) {
                    Some(e) => row.extend([e.mean, e.sd, e.low, e.high].map(num)),
                    None => row.extend(std::iter::repeat_n(String::new(), 4)),
                }
                w.write_record(&row).map_err(csv_err(&path))?;
            }
        }
        w.flush().map_err(Error::write(&path))?;
        let path = tmp.join("robustness_summary.csv");
        let mut w = csv::Writer::from_path(&path).map_err(csv_err(&path))?;
        w.write_record([
            "scenario",
            "baseline",
            "points",
            "effect_at_defaults",
            "effect_at_defaults_ci95_low",
            "effect_at_defaults_ci95_high",
            "share_lowering",
            "share_lowering_clearly",
            "share_raising_clearly",
            "effect_median",
            "effect_q05",
            "effect_q95",
        ])
        .map_err(csv_err(&path))?;
        for p in &out.proposals {
            let mut row = vec![
                p.scenario.clone(),
                out.scenarios[0].clone(),
                out.points.len().to_string(),
            ];
            row.extend(
                [
                    p.at_default.mean,
                    p.at_default.low,
                    p.at_default.high,
                    p.share_lowering,
                    p.share_lowering_clearly,
                    p.share_raising_clearly,
                    p.median,
                    p.q05,
                    p.q95,
                ]
                .map(num),
            );
            w.write_record(&row).map_err(csv_err(&path))?;
        }
        w.flush().map_err(Error::write(&path))?;
        if matches!(out.method, R::Sobol { .. }) {
            let path = tmp.join("robustness_sobol.csv");
            let mut w = csv::Writer::from_path(&path).map_err(csv_err(&path))?;
            w.write_record([
                "scenario",
                "parameter",
                "low",
                "high",
                "first_order",
                "first_order_ci95_low",
                "first_order_ci95_high",
                "total",
                "total_ci95_low",
                "total_ci95_high",
            ])
            .map_err(csv_err(&path))?;
            for p in &out.proposals {
                for (f, i) in out.factors.iter().zip(p.sobol.iter().flatten()) {
                    let mut row = vec![p.scenario.clone(), f.key.clone()];
                    row.extend(
                        [
                            f.low,
                            f.high,
                            i.first,
                            i.first_ci.0,
                            i.first_ci.1,
                            i.total,
                            i.total_ci.0,
                            i.total_ci.1,
                        ]
                        .map(num),
                    );
                    w.write_record(&row).map_err(csv_err(&path))?;
                }
            }
            w.flush().map_err(Error::write(&path))?;
        }
        let manifest = serde_json::json!({
            "program": "forumsim",
            "version": env!("CARGO_PKG_VERSION"),
            "command": "robustness",
            "baseline": out.scenarios[0],
            "scenarios": out.scenarios,
            "scenario_hashes": scenarios.iter().map(|s| s.content_hash()).collect::<Vec<_>>(),
            "master_seed": out.seed,
            "method": match out.method {
                R::Lhs { samples } => format!("latin hypercube, {samples} points"),
                R::Grid { samples } => format!("grid, {samples} values per parameter"),
                R::Sobol { samples } => format!("saltelli design, base {samples}: Sobol indices of each effect (Saltelli 2010 first-order, Jansen total, 1000 bootstrap resamples)"),
            },
            "parameters": out.factors.iter().map(|f| serde_json::json!({"key": f.key, "low": f.low, "high": f.high})).collect::<Vec<_>>(),
            "replications_per_point": out.replications,
            "seeds": "replications 0..n of sweep point 0 at every design point and in every scenario (common random numbers)",
            "wall_seconds": out.wall_seconds,
        });
        write_json(&tmp.join("manifest.json"), &manifest)
    })
}

/// Writes `state_years.csv` (one row per year and State: the means over replications of
/// `experiment::state_years::COLUMNS`) and a manifest into `dir`, atomically.
pub fn write_state_years(
    dir: &Path,
    force: bool,
    scenario: &Scenario,
    facts: &Facts,
    values: &[f64],
    replications: u64,
    seed: u64,
) -> Result<()> {
    use crate::experiment::state_years::COLUMNS;
    write_atomically(dir, force, |tmp| {
        let path = tmp.join("state_years.csv");
        let mut w = csv::Writer::from_path(&path).map_err(csv_err(&path))?;
        let mut header = vec!["year".to_string(), "iso3".into(), "name".into()];
        header.extend(COLUMNS.iter().map(|c| c.to_string()));
        w.write_record(&header).map_err(csv_err(&path))?;
        let (n, width) = (facts.n_states(), COLUMNS.len());
        for t in 0..scenario.n_years() {
            let year = scenario.run.start_year + t as i32;
            for i in 0..n {
                let at = (t * n + i) * width;
                let mut row = vec![
                    year.to_string(),
                    facts.iso3[i].clone(),
                    facts.name[i].clone(),
                ];
                row.extend(values[at..at + width].iter().map(|&x| num(x)));
                w.write_record(&row).map_err(csv_err(&path))?;
            }
        }
        w.flush().map_err(Error::write(&path))?;
        let manifest = serde_json::json!({
            "program": "forumsim",
            "version": env!("CARGO_PKG_VERSION"),
            "command": "states",
            "scenario": scenario.name,
            "scenario_hash": scenario.content_hash(),
            "master_seed": seed,
            "replications": replications,
            "columns": COLUMNS,
        });
        write_json(&tmp.join("manifest.json"), &manifest)
    })
}

/// Writes `explain.csv` (one row per channel, then the total and the rest: the part of the paired
/// effect on the RTB index, its 95% interval and share of the total), a chart and a manifest
/// into `dir`, atomically.
pub fn write_explanation(
    dir: &Path,
    force: bool,
    scenarios: &[&Scenario],
    e: &crate::experiment::explain::Explanation,
) -> Result<()> {
    use crate::experiment::explain::Method;
    write_atomically(dir, force, |tmp| {
        let path = tmp.join("explain.csv");
        let mut w = csv::Writer::from_path(&path).map_err(csv_err(&path))?;
        w.write_record([
            "part",
            "effect",
            "ci95_low",
            "ci95_high",
            "share_of_total",
            "switched_off_by",
        ])
        .map_err(csv_err(&path))?;
        let share = |x: f64| {
            if e.total.mean != 0.0 {
                num(x / e.total.mean)
            } else {
                String::new()
            }
        };
        for c in &e.channels {
            w.write_record([
                c.name.clone(),
                num(c.share.mean),
                num(c.share.low),
                num(c.share.high),
                share(c.share.mean),
                c.off.clone(),
            ])
            .map_err(csv_err(&path))?;
        }
        let rest = match e.method {
            Method::Shapley => "other (every channel off)",
            Method::OneAtATime => "interactions and other",
        };
        for (name, s) in [(rest, e.rest), ("total", e.total)] {
            w.write_record([
                name.to_string(),
                num(s.mean),
                num(s.low),
                num(s.high),
                share(s.mean),
                String::new(),
            ])
            .map_err(csv_err(&path))?;
        }
        w.flush().map_err(Error::write(&path))?;
        let manifest = serde_json::json!({
            "program": "forumsim",
            "version": env!("CARGO_PKG_VERSION"),
            "command": "explain",
            "base": e.base,
            "variant": e.variant,
            "scenario_hashes": scenarios.iter().map(|s| s.content_hash()).collect::<Vec<_>>(),
            "method": match e.method { Method::Shapley => "shapley: exact Shapley values over every combination of channels", Method::OneAtATime => "one at a time: each channel off alone, interactions in a remainder" },
            "metric": "rtb",
            "replications": e.replications,
            "master_seed": e.seed,
            "runs": e.runs,
            "seeds": "replications 0..n of sweep point 0 in every combination and both scenarios (common random numbers)",
            "wall_seconds": e.wall_seconds,
        });
        write_json(&tmp.join("manifest.json"), &manifest)?;
        crate::chart::posterior::draw_explanation(tmp, e)?;
        Ok(())
    })
}
