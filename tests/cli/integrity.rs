//! Nothing lost, nothing silently wrong: what `--force` may replace, two writers, kills in the
//! final phase, tampered work and shard folders, bounded inputs, and settings without effect.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use super::{RESUMABLE_RUN, forumsim, kill_after_first_checkpoint, small, stderr, stdout};

/// `forumsim` with `FORUMSIM_FAULT_KILL_AT=step` (the process ends there, as after `kill -9`).
fn forumsim_killed_at(dir: &Path, step: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_forumsim"))
        .args(args)
        .env("FORUMSIM_FAULT_KILL_AT", step)
        .current_dir(dir)
        .output()
        .expect("forumsim runs")
}

/// Exit code 2 and a message holding every one of `words`.
fn refused(o: &Output, words: &[&str]) {
    assert_eq!(o.status.code(), Some(2), "{}", stderr(o));
    for w in words {
        assert!(stderr(o).contains(w), "expected {w:?} in: {}", stderr(o));
    }
}

/// The hidden entries of `dir` (work, trash and lock files of a result folder).
fn hidden(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    names.sort();
    names
}

fn same_results(a: &Path, b: &Path) {
    for f in [
        "summary.csv",
        "replications.csv",
        "states.csv",
        "scenario.toml",
    ] {
        assert!(
            fs::read(a.join(f)).expect("a") == fs::read(b.join(f)).expect("b"),
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

const QUICK: [&str; 6] = ["run", "small.toml", "--quiet", "--no-charts", "--reps", "6"];

/// `--force` replaces a forumsim result folder and nothing else: not a folder with a file of the
/// user's, not a folder of results, not a plain file; nothing is touched.
#[test]
fn force_replaces_only_a_forumsim_result_folder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let run = |out: &str| forumsim(dir, &[&QUICK[..], &["--out", out, "--force"]].concat());
    fs::create_dir(dir.join("thesis")).expect("mkdir");
    fs::write(dir.join("thesis/thesis.tex"), "chapter one").expect("write");
    refused(&run("thesis"), &["thesis.tex", "--force replaces only"]);
    assert_eq!(
        fs::read_to_string(dir.join("thesis/thesis.tex")).expect("kept"),
        "chapter one"
    );
    for name in ["output/a", "output/b"] {
        assert!(run(name).status.success());
    }
    refused(&run("output"), &["output", "not a forumsim result"]);
    assert!(dir.join("output/a/summary.csv").exists() && dir.join("output/b/summary.csv").exists());
    fs::write(dir.join("notes.txt"), "notes").expect("write");
    refused(&run("notes.txt"), &["notes.txt", "is a file"]);
    assert_eq!(
        fs::read_to_string(dir.join("notes.txt")).expect("kept"),
        "notes"
    );
    // A result folder with a file of the user's in it is not forumsim's alone either.
    fs::write(dir.join("output/a/my-analysis.R"), "plot(x)").expect("write");
    refused(&run("output/a"), &["my-analysis.R"]);
    assert!(dir.join("output/a/my-analysis.R").exists());
    // A result folder is replaced, and a comparison folder too.
    assert!(
        run("output/b").status.success(),
        "a result folder is replaced"
    );
    let compare = |force: bool| {
        let mut args = vec![
            "compare",
            "small.toml",
            "small.toml",
            "--reps",
            "2",
            "--quiet",
            "--no-charts",
            "--out",
            "cmp",
        ];
        if force {
            args.push("--force");
        }
        forumsim(dir, &args)
    };
    assert!(compare(false).status.success());
    let o = compare(true);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(hidden(dir).is_empty(), "{:?}", hidden(dir));
}

/// `--out` is checked before anything is simulated: a symbolic link (dangling or not), a name too
/// long for the work folder beside it, a folder that cannot be written, a mount point.
#[test]
fn out_is_checked_before_anything_is_simulated() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let run = |out: &str| {
        let started = std::time::Instant::now();
        // A run of 200,000 replications would take a quarter of an hour: refused at once.
        let o = forumsim(
            dir,
            &[
                "run",
                "small.toml",
                "--quiet",
                "--reps",
                "200000",
                "--out",
                out,
            ],
        );
        assert!(
            started.elapsed().as_secs() < 30,
            "refused before simulating"
        );
        o
    };
    fs::create_dir(dir.join("real")).expect("mkdir");
    std::os::unix::fs::symlink(dir.join("real"), dir.join("link")).expect("symlink");
    refused(&run("link"), &["link", "symbolic link"]);
    std::os::unix::fs::symlink(dir.join("gone"), dir.join("dangling")).expect("symlink");
    refused(&run("dangling"), &["dangling", "symbolic link"]);
    assert!(
        fs::symlink_metadata(dir.join("dangling")).is_ok(),
        "the link is left"
    );
    let long = "x".repeat(250);
    refused(&run(&long), &["--out", "250 bytes", "at most 235"]);
    refused(
        &run("/proc/forumsim-out"),
        &["--out", "cannot write in /proc"],
    );
    use std::os::unix::fs::MetadataExt;
    let (root, proc_) = (fs::metadata("/").expect("/"), fs::metadata("/proc"));
    if proc_.is_ok_and(|p| p.dev() != root.dev()) {
        refused(&run("/proc"), &["mount point"]);
    }
    assert!(!dir.join("gone").exists());
    assert_eq!(fs::read_dir(dir.join("real")).expect("real").count(), 0);
}

/// A second process writing the same result folder is refused with a clear message, and the
/// first one finishes as if alone.
#[test]
fn a_second_writer_is_refused_while_the_first_finishes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let mut first = Command::new(env!("CARGO_BIN_EXE_forumsim"))
        .args(RESUMABLE_RUN)
        .args(["--out", "shared"])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let checkpoint = dir.join(".shared.partial/checkpoint.json");
    let started = std::time::Instant::now();
    while !checkpoint.exists() && started.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    for extra in [&[][..], &["--resume"], &["--force"]] {
        let o = forumsim(
            dir,
            &[&RESUMABLE_RUN[..], &["--out", "shared"], extra].concat(),
        );
        refused(
            &o,
            &["shared", "another forumsim process (pid", "is writing"],
        );
    }
    let status = first.wait().expect("wait");
    assert!(status.success(), "the first writer finishes");
    let rows = fs::read_to_string(dir.join("shared/replications.csv")).expect("result");
    assert_eq!(rows.lines().count(), 1 + 1200);
    assert!(hidden(dir).is_empty(), "{:?}", hidden(dir));
}

/// A kill at each step of the final phase (with and without an earlier result to replace)
/// leaves a state that `--resume` finishes to the same files, with nothing left behind.
#[test]
fn a_kill_at_any_step_of_the_final_phase_resumes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    assert!(
        forumsim(dir, &[&QUICK[..], &["--out", "reference"]].concat())
            .status
            .success()
    );
    let earlier = ["run", "small.toml", "--quiet", "--no-charts", "--reps", "3"];
    for replace in [false, true] {
        for step in [
            "staged",
            "marked",
            "moved-old",
            "published",
            "trashed",
            "removing",
        ] {
            if step == "moved-old" && !replace {
                continue;
            }
            let out = format!("out-{step}-{replace}");
            if replace {
                assert!(
                    forumsim(dir, &[&earlier[..], &["--out", &out]].concat())
                        .status
                        .success()
                );
            }
            let mut args = [&QUICK[..], &["--out", &out]].concat();
            if replace {
                args.push("--force");
            }
            let o = forumsim_killed_at(dir, step, &args);
            assert_eq!(
                o.status.code(),
                Some(137),
                "killed at {step}: {}",
                stderr(&o)
            );
            args.push("--resume");
            let o = forumsim(dir, &args);
            assert!(
                o.status.success(),
                "resume after a kill at {step}: {}",
                stderr(&o)
            );
            same_results(&dir.join("reference"), &dir.join(&out));
            assert!(hidden(dir).is_empty(), "after {step}: {:?}", hidden(dir));
        }
    }
    // A run started over after a kill that had moved the earlier result aside gives it back.
    assert!(
        forumsim(dir, &[&earlier[..], &["--out", "kept"]].concat())
            .status
            .success()
    );
    let before = fs::read(dir.join("kept/replications.csv")).expect("earlier");
    let args = [&QUICK[..], &["--out", "kept", "--force"]].concat();
    assert_eq!(
        forumsim_killed_at(dir, "moved-old", &args).status.code(),
        Some(137)
    );
    assert!(
        !dir.join("kept").exists(),
        "the earlier result was moved aside"
    );
    let o = forumsim(dir, &[&QUICK[..], &["--out", "kept"]].concat());
    refused(&o, &["already holds results"]);
    assert_eq!(
        fs::read(dir.join("kept/replications.csv")).expect("back"),
        before
    );
}

/// A checkpoint that breaks what a checkpoint must satisfy, or data that do not match its
/// checksums, is refused with exit code 2 and left in place.
#[test]
fn inconsistent_or_tampered_checkpoints_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let checkpoint = kill_after_first_checkpoint(dir, &RESUMABLE_RUN, "t");
    let work = dir.join(".t.partial");
    let original = fs::read_to_string(&checkpoint).expect("checkpoint");
    let json: serde_json::Value = serde_json::from_str(&original).expect("JSON");
    let resume = [&RESUMABLE_RUN[..], &["--out", "t", "--resume"]].concat();
    let key5 = forumsim::experiment::seeds::replication_key(20160209, 0, 5);
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut j = json.clone();
        f(&mut j);
        j.to_string()
    };
    let cases = [
        (
            edit(&|j| j["block_sizes"][0] = 100.into()),
            "block_sizes[0]",
        ),
        (
            edit(&|j| j["block_sizes"] = serde_json::json!([0, 0, 0])),
            "block_sizes[0]",
        ),
        (
            edit(&|j| j["state_sums"][0] = f64::NAN.to_bits().into()),
            "state_sums[0]",
        ),
        (
            edit(&|j| j["state_sums"][0] = 1f64.to_bits().into()),
            "crc32",
        ),
        (
            edit(&|j| {
                j["failures"] = serde_json::json!([{
                    "point": 0, "replication": 5, "key": key5, "year": 2007, "check": "x"
                }])
            }),
            "block_sizes[0]",
        ),
        (
            edit(&|j| {
                j["failures"] = serde_json::json!([{
                    "point": 0, "replication": 5, "key": 1, "year": 2007, "check": "x"
                }])
            }),
            "failures[0].key",
        ),
    ];
    for (damage, expected) in cases {
        fs::write(&checkpoint, &damage).expect("damage");
        let o = forumsim(dir, &resume);
        refused(&o, &["checkpoint.json", expected]);
        assert_eq!(fs::read_to_string(&checkpoint).expect("kept"), damage);
    }
    fs::write(&checkpoint, &original).expect("repair");
    for file in ["traces.bin", "records.bin"] {
        let path = work.join(file);
        let bytes = fs::read(&path).expect("data");
        let mut flipped = bytes.clone();
        flipped[100] ^= 0x10;
        fs::write(&path, &flipped).expect("flip");
        refused(&forumsim(dir, &resume), &[file, "block 0", "checksum"]);
        assert_eq!(fs::read(&path).expect("kept"), flipped);
        fs::write(&path, &bytes).expect("repair");
    }
    let o = forumsim(dir, &resume);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = fs::read_to_string(dir.join("t/replications.csv")).expect("result");
    assert_eq!(rows.lines().count(), 1 + 1200);
}

/// The merge refuses shard data that do not match their checksum, values no replication
/// produces, and a seed the data were not simulated with.
#[test]
fn merge_refuses_tampered_and_forged_shards() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    for i in 0..3 {
        let o = forumsim(
            dir,
            &[
                "run",
                "small.toml",
                "--reps",
                "7",
                "--quiet",
                "--shard",
                &format!("{i}/3"),
                "--out",
                &format!("s{i}"),
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let merge = || {
        forumsim(
            dir,
            &["merge", "s0", "s1", "s2", "--out", "m", "--no-charts"],
        )
    };
    let results = dir.join("s1/results.bin");
    let marker_path = dir.join("s1/shard.json");
    let (bytes, marker) = (
        fs::read(&results).expect("results"),
        fs::read_to_string(&marker_path).expect("marker"),
    );
    let mut flipped = bytes.clone();
    flipped[300] ^= 1;
    fs::write(&results, &flipped).expect("flip");
    refused(&merge(), &["s1", "checksum"]);
    // Non-finite values with a checksum that matches them.
    for (offset, value, expected) in [(5, f64::NAN, "not finite"), (40, f64::INFINITY, "infinite")]
    {
        let mut forged = bytes.clone();
        forged[offset * 8..offset * 8 + 8].copy_from_slice(&value.to_le_bytes());
        fs::write(&results, &forged).expect("forge");
        let mut m: serde_json::Value = serde_json::from_str(&marker).expect("JSON");
        m["results_crc32"] = crc32fast::hash(&forged).into();
        fs::write(&marker_path, m.to_string()).expect("marker");
        refused(&merge(), &["s1", expected]);
    }
    fs::write(&results, &bytes).expect("repair");
    fs::write(&marker_path, &marker).expect("repair");
    // The same seed changed in every marker: the data say otherwise.
    for i in 0..3 {
        let path = dir.join(format!("s{i}/shard.json"));
        let mut m: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).expect("marker")).expect("JSON");
        m["master_seed"] = 8.into();
        fs::write(&path, m.to_string()).expect("forge");
    }
    refused(
        &merge(),
        &["master seed 8", "does not give the shard's results"],
    );
    assert!(!dir.join("m").exists());
}

/// `rerun` refuses a scenario edited after the run: it would not reproduce the replication.
#[test]
fn rerun_refuses_an_edited_scenario() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    assert!(
        forumsim(dir, &[&QUICK[..], &["--out", "r"]].concat())
            .status
            .success()
    );
    let path = dir.join("r/scenario.toml");
    let mut table: toml::Table = fs::read_to_string(&path)
        .expect("scenario")
        .parse()
        .expect("TOML");
    table["pressure"]["rho"] = toml::Value::Float(0.5);
    fs::write(&path, toml::to_string(&table).expect("TOML")).expect("edit");
    refused(
        &forumsim(dir, &["rerun", "r", "--replication", "1"]),
        &["scenario.toml", "scenario_hash", "edited after the run"],
    );
    assert!(!dir.join("r/rerun-1.csv").exists());
}

/// `plot` reads `summary.csv` by column name, refuses a file without a column it needs or
/// without rows, and clears the charts of an earlier drawing (and only those).
#[test]
fn plot_reads_columns_by_name_refuses_what_does_not_parse_and_clears_stale_charts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let o = forumsim(
        dir,
        &["run", "small.toml", "--quiet", "--reps", "4", "--out", "p"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = dir.join("p/summary.csv");
    let text = fs::read_to_string(&summary).expect("summary");
    let chart = dir.join("p/charts/fan_protection_mean.png");
    let drawn = fs::read(&chart).expect("chart");
    let without = |column: usize| -> String {
        text.lines()
            .map(|l| {
                let mut cells: Vec<&str> = l.split(',').collect();
                cells.remove(column);
                cells.join(",") + "\n"
            })
            .collect()
    };
    // Without `n` (not drawn), the charts are the same.
    fs::write(&summary, without(2)).expect("drop n");
    fs::write(dir.join("p/charts/fan_of_an_earlier_run.png"), "old").expect("stale");
    fs::write(dir.join("p/charts/notes.txt"), "mine").expect("notes");
    let o = forumsim(dir, &["plot", "p"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        fs::read(&chart).expect("chart") == drawn,
        "the same chart without column n"
    );
    assert!(
        !dir.join("p/charts/fan_of_an_earlier_run.png").exists(),
        "stale chart removed"
    );
    assert!(
        dir.join("p/charts/notes.txt").exists(),
        "other files are left"
    );
    fs::write(&summary, without(5)).expect("drop q05");
    refused(&forumsim(dir, &["plot", "p"]), &["summary.csv", "\"q05\""]);
    let header = text.lines().next().expect("header").to_string() + "\n";
    for content in [header.as_str(), ""] {
        fs::write(&summary, content).expect("empty");
        refused(&forumsim(dir, &["plot", "p"]), &["summary.csv"]);
    }
    // A full disk is said in words, not as a nested debug chain.
    fs::write(&summary, &text).expect("repair");
    fs::remove_file(&chart).expect("remove");
    std::os::unix::fs::symlink("/dev/full", &chart).expect("symlink");
    let o = forumsim(dir, &["plot", "p"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("No space left on device"),
        "{}",
        stderr(&o)
    );
    assert!(
        !stderr(&o).contains("Os {") && !stderr(&o).contains("Error("),
        "{}",
        stderr(&o)
    );
}

/// `--reps` has the cap of `run.replications`, refused with exit code 2 instead of an abort.
#[test]
fn reps_beyond_the_cap_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for command in ["run", "compare", "calibrate"] {
        for reps in ["1000000000000", "18446744073709551615", "10000001"] {
            let o = forumsim(tmp.path(), &[command, "--reps", reps, "--out", "x"]);
            refused(&o, &["--reps", "1..=10000000"]);
        }
    }
    assert!(!tmp.path().join("x").exists());
}

/// An `extends` chain is capped, and only regular files of a bounded size are read: no stack
/// overflow, no endless read of a device, no wait on a FIFO.
#[test]
fn extends_chains_and_files_are_bounded() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let base = super::project_scenario().display().to_string();
    for i in 0..100 {
        let parent = if i == 99 {
            base.clone()
        } else {
            format!("c{}.toml", i + 1)
        };
        fs::write(
            dir.join(format!("c{i}.toml")),
            format!("extends = {parent:?}\n"),
        )
        .expect("w");
    }
    refused(
        &forumsim(dir, &["check", "c0.toml"]),
        &["extends", "at most 64 files"],
    );
    let status = Command::new("mkfifo")
        .arg(dir.join("fifo"))
        .status()
        .expect("mkfifo");
    assert!(status.success());
    for target in ["/dev/zero", "fifo", "."] {
        fs::write(dir.join("odd.toml"), format!("extends = {target:?}\n")).expect("write");
        let mut child = Command::new(env!("CARGO_BIN_EXE_forumsim"))
            .args(["check", "odd.toml"])
            .current_dir(dir)
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let started = std::time::Instant::now();
        while child.try_wait().expect("wait").is_none() {
            if started.elapsed().as_secs() > 30 {
                let _ = child.kill();
                panic!("reading extends = {target:?} did not end");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let o = child.wait_with_output().expect("output");
        refused(&o, &["expected a regular file"]);
    }
    let mut big = format!("extends = {base:?}\n");
    while big.len() < 5 << 20 {
        big.push_str("# a comment line to make the file large, larger than any scenario\n");
    }
    fs::write(dir.join("big.toml"), big).expect("write");
    refused(
        &forumsim(dir, &["check", "big.toml"]),
        &["big.toml", "at most 4 MiB"],
    );
}

/// Settings accepted but without effect are refused or warned about, each with one clear line.
#[test]
fn settings_without_effect_are_refused_or_warned() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    fs::write(
        dir.join("synthetic.toml"),
        "[world]\nkind = \"synthetic\"\nn_states = 5\nn_regions = 1000\n",
    )
    .expect("write");
    refused(
        &forumsim(dir, &["check", "synthetic.toml"]),
        &["world.n_regions", "at most"],
    );
    let run = |extra: &[&str]| forumsim(dir, &[&QUICK[..], extra, &["--out", "s"]].concat());
    refused(
        &run(&["--set", "world.n_states=50"]),
        &["world.n_states", "synthetic"],
    );
    refused(
        &run(&["--design", "lhs", "--samples", "5"]),
        &["--design", "--sweep"],
    );
    refused(
        &run(&["--sweep", "flows.beta_far=1:2:2", "--samples", "3"]),
        &["--samples", "lhs"],
    );
    refused(
        &run(&["--sweep", "flows.beta_far=1:2:2", "--resume"]),
        &["--resume", "a sweep"],
    );
    refused(
        &run(&["--shard", "0/2", "--resume"]),
        &["--resume", "a shard"],
    );
    assert!(!dir.join("s").exists());
    let base = super::project_scenario().display().to_string();
    for (name, body, warning) in [
        (
            "early.toml",
            "[run]\nstart_year = 1980\nend_year = 1982\n[world]\nfactual = \"self\"\n",
            "outside the years of the UN-193 data (1990-2020): the world starts from the figures of 1990",
        ),
        (
            "zero.toml",
            "[run]\nend_year = 2009\n[world]\np0_base = 0\np0_income = 0\np0_jitter = 0\n",
            "the RTB index (relative to the start) is undefined",
        ),
    ] {
        fs::write(dir.join(name), format!("extends = {base:?}\n{body}")).expect("write");
        let o = forumsim(
            dir,
            &[
                "run",
                name,
                "--reps",
                "2",
                "--quiet",
                "--no-charts",
                "--out",
                "w",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let err = stderr(&o);
        let lines: Vec<&str> = err.lines().filter(|l| l.contains(warning)).collect();
        assert_eq!(lines.len(), 1, "one warning line: {}", stderr(&o));
        assert!(lines[0].starts_with("forumsim: warning: "), "{}", lines[0]);
        assert!(stdout(&o).contains("replications"));
        fs::remove_dir_all(dir.join("w")).expect("remove");
    }
}
