//! Issue 15: what a new user tripped over, each as a user runs it.

use std::fs;

use super::{forumsim, small, stderr, stdout};

/// `--set` of a key that the status quo's timeline changes later holds for the whole run and
/// says so; `KEY@YEAR` changes it from that year on only.
#[test]
fn a_set_value_overrides_the_timeline_with_a_warning_and_at_year_addresses_a_period() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let run = |set: &str, out: &str| {
        forumsim(
            dir,
            &[
                "run",
                "small.toml",
                "--quiet",
                "--no-charts",
                "--set",
                set,
                "--out",
                out,
            ],
        )
    };
    let whole = run("forums.GFMD.rights_agenda=1", "whole");
    assert!(whole.status.success(), "{}", stderr(&whole));
    let err = stderr(&whole);
    assert!(
        err.contains("warning: --set forums.GFMD.rights_agenda holds for the whole run")
            && err.contains("[[forums.GFMD.timeline]]")
            && err.contains("forums.GFMD.rights_agenda@2010"),
        "{err}"
    );
    let period = run("forums.GFMD.rights_agenda@2010=1", "period");
    assert!(period.status.success(), "{}", stderr(&period));
    assert!(!stderr(&period).contains("warning"), "{}", stderr(&period));
    let a = fs::read(dir.join("whole/replications.csv")).expect("whole");
    let b = fs::read(dir.join("period/replications.csv")).expect("period");
    assert_ne!(a, b, "whole run and from 2010 differ");
    let bad = run("forums.GFMD.rights_agenda@1990=1", "bad");
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("expected a year after the start"));
    assert!(!dir.join("bad").exists());
    let flat = run("flows.beta_far@2010=2", "flat");
    assert_eq!(flat.status.code(), Some(2));
    assert!(
        stderr(&flat).contains("change by year"),
        "{}",
        stderr(&flat)
    );
}

/// A run with overrides gets its own folder and label, and its manifest records the command
/// line and the overrides; two comparisons of different files do not collide.
#[test]
fn runs_with_overrides_and_comparisons_are_named_after_what_was_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let plain = forumsim(dir, &["run", "small.toml", "--quiet", "--no-charts"]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    let set = forumsim(
        dir,
        &[
            "run",
            "small.toml",
            "--quiet",
            "--no-charts",
            "--set",
            "policy.noise=0.2",
        ],
    );
    assert!(set.status.success(), "{}", stderr(&set));
    let folders: Vec<String> = fs::read_dir(dir.join("output"))
        .expect("output")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let label = folders
        .iter()
        .find(|f| f.starts_with("small-set-"))
        .unwrap_or_else(|| panic!("no small-set-* folder in {folders:?}"));
    assert!(stdout(&set).starts_with(label.as_str()), "{}", stdout(&set));
    let manifest: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(dir.join("output").join(label).join("manifest.json")).expect("m"),
    )
    .expect("json");
    assert_eq!(manifest["scenario"], label.as_str());
    assert_eq!(manifest["overrides"][0], "--set policy.noise=0.2");
    assert!(
        manifest["command_line"]
            .as_array()
            .is_some_and(|a| a.iter().any(|w| w == "policy.noise=0.2"))
    );
    fs::write(
        dir.join("other.toml"),
        "extends = \"small.toml\"\nname = \"other\"\n[policy]\nnoise = 0.2\n",
    )
    .expect("write");
    for files in [["small.toml", "other.toml"], ["other.toml", "small.toml"]] {
        let o = forumsim(
            dir,
            &[
                "compare",
                files[0],
                files[1],
                "--quiet",
                "--no-charts",
                "--reps",
                "2",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert!(dir.join("output/small-vs-other/comparison.csv").exists());
    assert!(dir.join("output/other-vs-small/comparison.csv").exists());
}

/// Built-in scenarios work from any folder, by name and through `extends`; a file of that path
/// wins; `list` shows the built-ins; `new` writes a variant that checks and runs.
#[test]
fn built_in_scenarios_resolve_from_any_folder_and_new_writes_a_variant() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let o = forumsim(dir, &["check", "populist_wave"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("using the built-in scenario populist_wave"));
    let o = forumsim(dir, &["list"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("status_quo") && stdout(&o).contains("populist_wave"));
    let o = forumsim(dir, &["new", "mine"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = fs::read_to_string(dir.join("mine.toml")).expect("mine.toml");
    assert!(text.contains("extends = \"status_quo.toml\"") && text.contains("# [[events]]"));
    let o = forumsim(dir, &["new", "mine"]);
    assert_eq!(o.status.code(), Some(2), "no overwrite without --force");
    let o = forumsim(dir, &["check", "mine.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("name = \"mine\""));
    // A file of that path wins over the built-in name.
    fs::write(
        dir.join("populist_wave"),
        "extends = \"status_quo.toml\"\nname = \"local_wave\"\n",
    )
    .expect("write");
    let o = forumsim(dir, &["check", "populist_wave"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("name = \"local_wave\""));
    assert!(!stderr(&o).contains("built-in"));
}

/// A killed run started again without --resume is refused with the way on; --force starts
/// over; abandoned temporary folders go once a result is published.
#[test]
fn a_killed_run_is_not_thrown_away_in_silence() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let args = super::RESUMABLE_RUN;
    super::kill_after_first_checkpoint(dir, &args, "k");
    let again = forumsim(dir, &[&args[..], &["--out", "k"]].concat());
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    let err = stderr(&again);
    assert!(
        err.contains("holds the checkpoint of an interrupted run")
            && err.contains("--resume")
            && err.contains("--force"),
        "{err}"
    );
    assert!(dir.join(".k.partial/checkpoint.json").exists(), "kept");
    fs::create_dir_all(dir.join(".k.partial-99999999")).expect("abandoned");
    let o = forumsim(dir, &[&args[..], &["--out", "k", "--force"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.join("k/summary.csv").exists());
    assert!(!dir.join(".k.partial").exists());
    assert!(
        !dir.join(".k.partial-99999999").exists(),
        "abandoned folder removed"
    );
}

/// Likely mistakes are refused or warned about in one line each.
#[test]
fn likely_mistakes_are_refused_or_warned_about() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    fs::write(dir.join("empty.toml"), "# nothing yet\n").expect("write");
    let o = forumsim(dir, &["check", "empty.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("sets nothing"), "{}", stderr(&o));
    fs::write(
        dir.join("late.toml"),
        "extends = \"status_quo.toml\"\nname = \"late\"\n[run]\nend_year = 2020\n\
         [[events]]\nkind = \"crisis\"\nyear = 2030\nregion = \"Western Asia\"\nmagnitude = 2.0\n\
         [[forums.GFMD.timeline]]\nyear = 2040\nmemory = 0.9\n\
         [forums.Nobody]\nmembers = { income = \"low\", region = \"Europe\" }\n",
    )
    .expect("write");
    let o = forumsim(dir, &["check", "late.toml"]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("events[") && err.contains("never happens"),
        "{err}"
    );
    assert!(err.contains("GFMD.timeline]] entry of 2040"), "{err}");
    assert!(
        err.contains("forums.Nobody.members selects no State"),
        "{err}"
    );
    fs::write(
        dir.join("europe.toml"),
        "extends = \"status_quo.toml\"\nname = \"e\"\n[forums.X]\nmembers = { region = \"Atlantis\" }\n",
    )
    .expect("write");
    let o = forumsim(dir, &["check", "europe.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("continent or sub-region ("),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("Europe"), "{}", stderr(&o));
    let o = forumsim(dir, &["calibrate", "synthetic_world", "--reps", "2"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("synthetic"), "{}", stderr(&o));
}

/// Every sweep point runs the same replications, and the paired differences against the first
/// point are written.
#[test]
fn sweep_points_are_paired_and_differences_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let o = forumsim(
        dir,
        &[
            "run",
            "small.toml",
            "--quiet",
            "--no-charts",
            "--reps",
            "3",
            "--out",
            "sw",
            "--sweep",
            "policy.noise=0.1:0.1:2",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = fs::read_to_string(dir.join("sw/replications.csv")).expect("rows");
    let mut by_point = [Vec::new(), Vec::new()];
    for line in rows.lines().skip(1) {
        let (point, rest) = line.split_once(',').expect("point");
        by_point[point.parse::<usize>().expect("index")].push(rest.to_string());
    }
    assert_eq!(
        by_point[0], by_point[1],
        "equal parameters, same seeds: same rows"
    );
    let paired = fs::read_to_string(dir.join("sw/sweep_paired.csv")).expect("paired");
    let rtb = paired
        .lines()
        .find(|l| l.contains(",rtb,"))
        .expect("rtb row");
    assert!(rtb.starts_with("1,0.1,0,rtb,3,0,"), "{rtb}");
}

/// `rerun` of a comparison or a sweep says what to rerun instead; `plot` of a sweep does not
/// claim a report; a small Sobol sample is warned about.
#[test]
fn rerun_plot_and_sensitivity_say_what_they_did() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let o = forumsim(
        dir,
        &[
            "compare",
            "small.toml",
            "small.toml",
            "--quiet",
            "--no-charts",
            "--reps",
            "2",
            "--out",
            "c",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = forumsim(dir, &["rerun", "c", "--replication", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a comparison"), "{}", stderr(&o));
    let o = forumsim(
        dir,
        &[
            "run",
            "small.toml",
            "--quiet",
            "--reps",
            "2",
            "--out",
            "sw",
            "--sweep",
            "policy.noise=0.1:0.2:2",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = forumsim(dir, &["rerun", "sw", "--replication", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a sweep"), "{}", stderr(&o));
    let o = forumsim(dir, &["plot", "sw"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("has no report.html") != dir.join("sw/report.html").exists());
    let o = forumsim(
        dir,
        &[
            "sensitivity",
            "small.toml",
            "--params",
            "policy.noise",
            "--samples",
            "4",
            "--reps",
            "1",
            "--quiet",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is too small for Sobol"),
        "{}",
        stderr(&o)
    );
}

/// `params` lists every key a scenario file accepts beyond the numeric parameters.
#[test]
fn params_lists_skip_years_eligible_and_every_event() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = forumsim(tmp.path(), &["params"]);
    assert!(o.status.success());
    let text = stdout(&o);
    for word in [
        "skip_years",
        "eligible",
        "\"legal_channels\"",
        "\"enforcement\"",
        "chairs",
    ] {
        assert!(text.contains(word), "params does not list {word}");
    }
}

/// The example of `examples/` checks from any folder (its parent is the built-in status quo).
#[test]
fn the_user_example_checks() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gfmd_with_memory.toml");
    let copy = tmp.path().join("gfmd_with_memory.toml");
    fs::copy(example, &copy).expect("copy");
    let o = forumsim(tmp.path(), &["check", "gfmd_with_memory.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("name = \"gfmd_with_memory\""));
}
