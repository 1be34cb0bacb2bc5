//! The command line as a user runs it: real files in a temporary folder, exit codes and bytes.

mod integrity;
mod report;
mod surprises;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn forumsim(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_forumsim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("forumsim runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn project_scenario() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/status_quo.toml")
}

/// A small Sobol analysis of `small.toml` over two parameters into `out`.
fn small_sensitivity(out: &str) -> Vec<&str> {
    vec![
        "sensitivity",
        "small.toml",
        "--params",
        "policy.c_rights,forums.GFMD.memory=0:1",
        "--samples",
        "8",
        "--reps",
        "1",
        "--quiet",
        "--out",
        out,
    ]
}

/// A sweep, a sensitivity analysis and a calibration of `small.toml`, each with its result
/// folder: (folder, arguments).
fn analysis_runs() -> [(&'static str, Vec<&'static str>); 3] {
    [
        (
            "sw",
            vec![
                "run",
                "small.toml",
                "--reps",
                "2",
                "--sweep",
                "forums.GFMD.memory=0:1:3",
                "--quiet",
                "--out",
                "sw",
            ],
        ),
        ("sens", small_sensitivity("sens")),
        (
            "cal",
            vec!["calibrate", "small.toml", "--reps", "2", "--out", "cal"],
        ),
    ]
}

/// A small scenario extending the status quo: short horizon, few replications.
fn small(dir: &Path) -> PathBuf {
    let path = dir.join("small.toml");
    fs::write(
        &path,
        format!(
            "extends = {:?}\nname = \"small\"\n[run]\nend_year = 2016\nreplications = 6\n",
            project_scenario().display().to_string()
        ),
    )
    .expect("write");
    path
}

#[test]
fn same_seed_gives_identical_bytes_for_one_and_two_threads() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let a = forumsim(
        dir,
        &[
            "run",
            "small.toml",
            "--threads",
            "1",
            "--out",
            "a",
            "--quiet",
            "--seed",
            "5",
        ],
    );
    assert!(a.status.success(), "{}", stderr(&a));
    let b = forumsim(
        dir,
        &[
            "run",
            "small.toml",
            "--threads",
            "2",
            "--out",
            "b",
            "--quiet",
            "--seed",
            "5",
        ],
    );
    assert!(b.status.success(), "{}", stderr(&b));
    for file in ["summary.csv", "replications.csv", "states.csv"] {
        let x = fs::read(dir.join("a").join(file)).expect("a");
        let y = fs::read(dir.join("b").join(file)).expect("b");
        assert!(!x.is_empty());
        assert!(x == y, "{file} differs between 1 and 2 threads");
    }
    let c = forumsim(
        dir,
        &["run", "small.toml", "--out", "c", "--quiet", "--seed", "6"],
    );
    assert!(c.status.success());
    assert_ne!(
        fs::read(dir.join("a/summary.csv")).expect("a"),
        fs::read(dir.join("c/summary.csv")).expect("c"),
        "another seed gives other results"
    );
}

#[test]
fn result_files_have_the_documented_columns() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let o = forumsim(dir, &["run", "small.toml", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("RTB index"));
    let out = dir.join("output/small");
    let summary = fs::read_to_string(out.join("summary.csv")).expect("summary");
    assert!(summary.starts_with("year,metric,n,mean,sd,q05,q25,q50,q75,q95,ci95_low,ci95_high\n"));
    assert!(summary.contains("\n2016,protection_mean,6,"));
    assert!(summary.contains(",attendance_GFMD,"));
    let reps = fs::read_to_string(out.join("replications.csv")).expect("replications");
    assert_eq!(reps.lines().count(), 7);
    assert!(reps.starts_with("replication,rtb,rtb_migrant_weighted,"));
    assert!(
        reps.lines()
            .next()
            .expect("header")
            .contains("parties_ICRMW")
    );
    let states = fs::read_to_string(out.join("states.csv")).expect("states");
    assert_eq!(states.lines().count(), 194);
    assert!(states.contains("\nMEX,Mexico,Central America,upper_middle,"));
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["scenario"], "small");
    assert_eq!(manifest["replications"], 6);
    assert_eq!(manifest["master_seed"], 20160209);
    assert_eq!(manifest["parameters"]["run"]["end_year"], 2016);
    assert_eq!(manifest["scenario_hash"].as_str().map(str::len), Some(16));
}

#[test]
fn default_run_end_to_end() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = forumsim(tmp.path(), &["run", "--reps", "2", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("status_quo: 2 replications, 2007-2056"),
        "{text}"
    );
    assert!(text.contains("ICRMW") && text.contains("GFMD"));
    assert!(tmp.path().join("output/status_quo/summary.csv").exists());
}

#[test]
fn existing_results_are_kept_without_force() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    assert!(
        forumsim(dir, &["run", "small.toml", "--quiet", "--reps", "2"])
            .status
            .success()
    );
    let summary = dir.join("output/small/summary.csv");
    let before = fs::read(&summary).expect("summary");
    let again = forumsim(dir, &["run", "small.toml", "--quiet", "--reps", "3"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    assert_eq!(fs::read(&summary).expect("summary"), before);
    let forced = forumsim(
        dir,
        &["run", "small.toml", "--quiet", "--reps", "3", "--force"],
    );
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_ne!(fs::read(&summary).expect("summary"), before);
    let leftovers: Vec<_> = fs::read_dir(dir.join("output"))
        .expect("output")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary folders left: {leftovers:?}"
    );
}

/// Each bad input: exit code 2, a message naming the file and the key, nothing written.
#[test]
fn bad_input_is_a_clear_error_with_exit_code_2() {
    let base = project_scenario().display().to_string();
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "syntax.toml",
            "name = \"x\"\n[run\nseed = 1\n".into(),
            vec!["syntax.toml", "TOML syntax error"],
        ),
        (
            "unknown.toml",
            "[flows]\nbeta_farr = 1.0\n".into(),
            vec!["unknown.toml", "flows.beta_farr", "unknown key", "beta_far"],
        ),
        (
            "type.toml",
            "[policy]\ndelta = \"big\"\n".into(),
            vec![
                "type.toml",
                "policy.delta",
                "expected a number, found a string",
            ],
        ),
        (
            "range.toml",
            "[pressure]\nrho = 1.5\n".into(),
            vec!["range.toml", "pressure.rho", "expected a value in [0, 1]"],
        ),
        (
            "iso.toml",
            "[forums.F]\nmembers = [\"MEX\", \"XYZ\"]\n".into(),
            vec![
                "iso.toml",
                "forums.F.members[1]",
                "unknown State code \"XYZ\"",
            ],
        ),
        (
            "floor.toml",
            format!("extends = {base:?}\n[treaties.ICRMW]\nfloor_labour = 1.2\n"),
            vec![
                "floor.toml",
                "treaties.ICRMW.floor_labour",
                "expected a value in [0, 1]",
            ],
        ),
        (
            "cycle.toml",
            "extends = \"cycle2.toml\"\n".into(),
            vec!["extends cycle", "cycle2.toml"],
        ),
        (
            "event.toml",
            "[[events]]\nkind = \"crisis\"\nyear = 2015\nregion = \"Atlantis\"\nmagnitude = 2\n"
                .into(),
            vec!["event.toml", "events[0].region", "unknown migration region"],
        ),
        (
            "world.toml",
            "[world]\nkind = \"mars\"\n".into(),
            vec!["world.toml", "world.kind", "\"un193\" or \"synthetic\""],
        ),
    ];
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    fs::write(dir.join("cycle2.toml"), "extends = \"cycle.toml\"\n").expect("write");
    for (file, text, needles) in &cases {
        fs::write(dir.join(file), text).expect("write");
        for args in [vec!["run", file, "--quiet"], vec!["check", file]] {
            let o = forumsim(dir, &args);
            assert_eq!(o.status.code(), Some(2), "{file}: {}", stderr(&o));
            let msg = stderr(&o);
            assert!(msg.starts_with("forumsim: "), "{msg}");
            for needle in needles {
                assert!(msg.contains(needle), "{file}: {msg:?} lacks {needle:?}");
            }
            assert!(!msg.contains("panicked"));
        }
    }
    let missing = forumsim(dir, &["run", "missing.toml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("missing.toml: cannot read"));
    assert_eq!(
        stderr(&missing).matches("os error").count(),
        1,
        "the cause is said once: {}",
        stderr(&missing)
    );
    assert!(
        !dir.join("output").exists(),
        "nothing is written for bad input"
    );
}

#[test]
fn check_params_and_list_describe_the_model() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let o = forumsim(dir, &["check", &project_scenario().display().to_string()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("[forums.GFMD]") && text.contains("security_lens = 0.6"));
    assert!(text.contains("beta_far = 3.0"), "defaults are resolved");
    let p = stdout(&forumsim(dir, &["params"]));
    for key in [
        "[flows]",
        "beta_network",
        "[forums.NAME]",
        "consensus_quantile",
        "[treaties.NAME]",
        "floor_quantile",
    ] {
        assert!(p.contains(key), "params lacks {key}");
    }
    let l = forumsim(
        dir,
        &[
            "list",
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("scenarios")
                .display()
                .to_string(),
        ],
    );
    assert!(l.status.success());
    assert!(stdout(&l).contains("status_quo"));
    let h = forumsim(dir, &["run", "--help"]);
    assert!(stdout(&h).contains("--threads"));
}

#[test]
fn every_shipped_scenario_checks_and_runs() {
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let tmp = tempfile::tempdir().expect("tempdir");
    for entry in fs::read_dir(scenarios).expect("scenarios") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let p = path.display().to_string();
            let o = forumsim(tmp.path(), &["check", &p]);
            assert!(o.status.success(), "{p}: {}", stderr(&o));
            let o = forumsim(
                tmp.path(),
                &["run", &p, "--reps", "2", "--quiet", "--out", "x", "--force"],
            );
            assert!(o.status.success(), "{p}: {}", stderr(&o));
        }
    }
}

#[test]
fn a_variant_without_a_name_is_named_after_its_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    fs::write(
        dir.join("variant.toml"),
        format!(
            "extends = {:?}\n[run]\nend_year = 2010\n[forums.GFMD]\nmemory = 0.9\n",
            project_scenario().display().to_string()
        ),
    )
    .expect("write");
    let o = forumsim(dir, &["run", "variant.toml", "--reps", "2", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.join("output/variant/summary.csv").exists());
    let check = stdout(&forumsim(dir, &["check", "variant.toml"]));
    assert!(check.contains("memory = 0.9"), "the override is applied");
}

/// `variant.toml`: `small.toml` with a firewall in every State from 2008.
fn firewall_variant(dir: &Path) {
    fs::write(
        dir.join("variant.toml"),
        "extends = \"small.toml\"\nname = \"variant\"\n[[events]]\nkind = \"firewall\"\nyear = 2008\nmembers = \"all\"\nlevel = 1.0\n",
    )
    .expect("write");
}

#[test]
fn compare_writes_paired_differences_and_one_folder_per_scenario() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    firewall_variant(dir);
    let o = forumsim(
        dir,
        &[
            "compare",
            "small.toml",
            "small.toml",
            "variant.toml",
            "--reps",
            "5",
            "--quiet",
            "--out",
            "cmp",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("paired effects against small"), "{text}");
    let csv = fs::read_to_string(dir.join("cmp/comparison.csv")).expect("comparison.csv");
    assert!(csv.starts_with("scenario,baseline,metric,n,baseline_mean,scenario_mean,difference,sd_difference,ci95_low,ci95_high,spread95_low,spread95_high,p_lower,spread_covers\n"));
    // The scenario against itself: every difference and its interval are exactly zero.
    let mut self_rows = 0;
    let mut variant_moves = false;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[0] == "small" {
            self_rows += 1;
            assert_eq!(&f[6..13], ["0"; 7], "{line}");
        }
        if f[0] == "variant" && f[2] == "pressure_end" {
            variant_moves = f[6].parse::<f64>().expect("number") < 0.0;
        }
    }
    assert!(self_rows >= 10);
    assert!(variant_moves, "firewalls lower pressure");
    for folder in ["small", "small-2", "variant"] {
        assert!(
            dir.join("cmp").join(folder).join("summary.csv").exists(),
            "{folder}"
        );
    }
    let builtin = forumsim(
        dir,
        &["compare", "--reps", "2", "--quiet", "--out", "default"],
    );
    assert!(builtin.status.success(), "{}", stderr(&builtin));
    let text = stdout(&builtin);
    for name in [
        "un_platform",
        "regular_hld",
        "iom_protection_mandate",
        "firewalls",
        "civil_society_capacity",
        "open_legal_channels",
        "all_proposals",
    ] {
        assert!(text.contains(name), "default comparison lacks {name}");
    }
}

#[test]
fn calibrate_writes_the_targets() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = forumsim(tmp.path(), &["calibrate", "--reps", "4", "--out", "cal"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = fs::read_to_string(tmp.path().join("cal/calibration.csv")).expect("calibration.csv");
    assert!(csv.starts_with("target,year,observed,model_mean,model_q05,model_q95,n,tolerance_low,tolerance_high,within_tolerance,source\n"));
    for t in [
        "gfmd_attendance,2015,150",
        "icrmw_parties,2015,48",
        "trafficking_protocol_parties,2015",
        "corridor_log_share_correlation",
    ] {
        assert!(csv.contains(t), "lacks {t}");
    }
}

#[test]
fn a_variant_adds_to_the_timelines_and_events_it_extends() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = forumsim(
        tmp.path(),
        &[
            "check",
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("scenarios/iom_protection_mandate.toml")
                .display()
                .to_string(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let gfmd = text
        .split("[forums.GFMD]")
        .nth(1)
        .expect("GFMD")
        .split("[forums.HLD]")
        .next()
        .expect("block");
    assert!(
        gfmd.contains("rights_agenda = 0.15"),
        "the status quo's 2010 change stays"
    );
    assert!(
        gfmd.contains("rights_transfer = 0.1"),
        "the proposal's 2017 change is added"
    );
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let h = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    (w, h)
}

#[test]
fn charts_are_valid_and_identical_across_runs_and_redraws() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    for out in ["a", "b"] {
        let o = forumsim(dir, &["run", "small.toml", "--quiet", "--out", out]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let charts = dir.join("a/charts");
    let mut names: Vec<String> = fs::read_dir(&charts)
        .expect("charts folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for expected in [
        "fan_protection_mean.png",
        "fan_protection_mean.svg",
        "fan_protection_migrant_weighted.png",
        "fan_protection_asylum.png",
        "fan_enforcement_mean.png",
        "fan_legal_channels_mean.png",
        "fan_pressure_mean.png",
        "fan_irregular_share.png",
        "fan_ratifications.png",
        "rtb_distribution.png",
        "breadth_depth.png",
        "breadth_depth.svg",
        "protection_by_region.png",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "missing {expected}: {names:?}"
        );
    }
    for name in &names {
        let a = fs::read(charts.join(name)).expect("a");
        let b = fs::read(dir.join("b/charts").join(name)).expect("b");
        assert!(a == b, "{name} differs between two runs");
        if name.ends_with(".png") {
            let (w, h) = png_size(&a);
            assert!(w >= 900 && h >= 300, "{name}: {w}x{h}");
            // A fan of one series has no legend; one of many has its legend column.
            if name.starts_with("fan_") && name != "fan_ratifications.png" {
                assert_eq!((w, h), (960, 560), "{name}");
            }
            if name == "fan_ratifications.png" {
                assert_eq!((w, h), (1250, 560), "{name}");
            }
        } else {
            let text = String::from_utf8(a).expect("svg is text");
            assert!(
                text.starts_with("<svg")
                    && text.contains("width=\"")
                    && text.trim_end().ends_with("</svg>"),
                "{name}"
            );
        }
    }
    // Redrawing from the CSV files gives the same bytes.
    let before = fs::read(charts.join("breadth_depth.png")).expect("chart");
    fs::remove_dir_all(&charts).expect("remove");
    let o = forumsim(dir, &["plot", "a"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        fs::read(charts.join("breadth_depth.png")).expect("chart"),
        before
    );
    let report = fs::read_to_string(dir.join("a/report.html")).expect("report");
    assert!(report.contains("data:image/png;base64,") && !report.contains("http"));
    // --no-charts skips them.
    let o = forumsim(
        dir,
        &["run", "small.toml", "--quiet", "--out", "c", "--no-charts"],
    );
    assert!(o.status.success());
    assert!(!dir.join("c/charts").exists() && !dir.join("c/report.html").exists());
    // Every row of states.csv has as many fields as its header.
    let states = fs::read_to_string(dir.join("a/states.csv")).expect("states");
    let fields = |l: &str| l.split(',').count();
    let header = fields(states.lines().next().expect("header"));
    for line in states.lines().filter(|l| !l.contains('"')) {
        assert_eq!(fields(line), header, "{line}");
    }
}

/// Every report (a comparison, its runs, a sweep, a sensitivity analysis, a calibration) opens
/// offline in headless Chromium with no console message and every image drawn.
#[test]
fn report_loads_in_headless_chromium() {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("Chromium is needed for this test (.ci/run installs the Debian package chromium)");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    fs::write(
        dir.join("variant.toml"),
        "extends = \"small.toml\"\nname = \"variant\"\n[forums.GFMD]\nmemory = 0.9\n",
    )
    .expect("write");
    let o = forumsim(
        dir,
        &[
            "compare",
            "small.toml",
            "variant.toml",
            "--reps",
            "4",
            "--quiet",
            "--out",
            "cmp",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for (out, args) in analysis_runs() {
        let o = forumsim(dir, &args);
        assert!(o.status.success(), "{out}: {}", stderr(&o));
    }
    // The calibration of a point has no chart: its report is a table, with no image to load.
    for (folder, min_images) in [
        ("cmp", 10),
        ("cmp/small", 12),
        ("cmp/variant", 12),
        ("sw", 2),
        ("sens", 1),
        ("cal", 0),
    ] {
        let page = dir.join(folder);
        fs::write(
            page.join("checker.html"),
            "<!DOCTYPE html><html><body><div id=\"result\">pending</div>\
             <iframe id=\"f\" src=\"report.html\" width=\"1200\" height=\"800\"></iframe><script>\
             document.getElementById('f').addEventListener('load', function () {\
               var d = this.contentDocument; var imgs = Array.prototype.slice.call(d.images);\
               var bad = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0 && i.naturalHeight > 0); });\
               document.getElementById('result').textContent = 'images=' + imgs.length + ' bad=' + bad.length; });\
             </script></body></html>",
        )
        .expect("checker");
        let profile = tempfile::tempdir().expect("profile");
        let out = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--allow-file-access-from-files",
                "--virtual-time-budget=10000",
                "--enable-logging=stderr",
                "--v=0",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("file://{}", page.join("checker.html").display()))
            .output()
            .expect("chromium runs");
        let dom = String::from_utf8_lossy(&out.stdout);
        let log = String::from_utf8_lossy(&out.stderr);
        let result = dom
            .split("id=\"result\">")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap_or("")
            .to_string();
        let images: usize = result
            .strip_prefix("images=")
            .and_then(|s| s.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(
            images >= min_images && result.ends_with("bad=0"),
            "{folder}: {result:?}\n{log}"
        );
        let console: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("CONSOLE") && l.contains("report.html"))
            .collect();
        assert!(console.is_empty(), "{folder}: console messages {console:?}");
    }
}

#[test]
fn sweeps_from_the_command_line_and_from_the_file_cover_their_ranges() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let o = forumsim(
        dir,
        &[
            "run",
            "small.toml",
            "--reps",
            "3",
            "--quiet",
            "--out",
            "grid",
            "--sweep",
            "forums.GFMD.memory=0:1:3",
            "--sweep",
            "pressure.rho=0.1:0.3:2",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let sweep = fs::read_to_string(dir.join("grid/sweep.csv")).expect("sweep.csv");
    let mut lines = sweep.lines();
    let header = lines.next().expect("header");
    assert!(header.starts_with("point,forums.GFMD.memory,pressure.rho,rtb_mean,rtb_sd,rtb_q05,rtb_q50,rtb_q95,rtb_ci95_low,rtb_ci95_high,"));
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), 6);
    let pairs: Vec<(String, String)> = rows.iter().map(|r| (r[1].clone(), r[2].clone())).collect();
    for a in ["0", "0.5", "1"] {
        for b in ["0.1", "0.3"] {
            assert!(
                pairs.contains(&(a.to_string(), b.to_string())),
                "missing point {a},{b}: {pairs:?}"
            );
        }
    }
    let reps = fs::read_to_string(dir.join("grid/replications.csv")).expect("replications");
    assert!(reps.starts_with("point,replication,rtb,"));
    assert_eq!(reps.lines().count(), 1 + 6 * 3);
    assert!(
        dir.join("grid/charts/sweep_rtb.png").exists(),
        "two parameters draw a heat map"
    );

    fs::write(
        dir.join("lhs.toml"),
        "extends = \"small.toml\"\nname = \"lhs\"\n[sweep]\ndesign = \"lhs\"\nsamples = 4\n[sweep.parameters.\"flows.beta_far\"]\nfrom = 1.0\nto = 3.0\n",
    )
    .expect("write");
    let o = forumsim(dir, &["run", "lhs.toml", "--reps", "2", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let sweep = fs::read_to_string(dir.join("output/lhs/sweep.csv")).expect("sweep.csv");
    let mut strata: Vec<usize> = sweep
        .lines()
        .skip(1)
        .map(|l| {
            let v: f64 = l.split(',').nth(1).expect("value").parse().expect("number");
            assert!((1.0..=3.0).contains(&v));
            ((v - 1.0) / 2.0 * 4.0).floor() as usize
        })
        .collect();
    strata.sort();
    assert_eq!(strata, vec![0, 1, 2, 3], "one sample per stratum");
    assert!(
        dir.join("output/lhs/charts/sweep_rtb.png").exists(),
        "one parameter draws a line"
    );
}

#[test]
fn set_and_sweep_errors_name_the_key_and_exit_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    for (args, needles) in [
        (
            vec!["--set", "flows.beta_farr=1"],
            vec!["--set", "flows.beta_farr", "unknown parameter"],
        ),
        (
            vec!["--set", "pressure.rho=1.5"],
            vec!["--set", "pressure.rho", "expected a value in [0, 1]"],
        ),
        (
            vec!["--set", "forums.NOPE.memory=0.5"],
            vec!["forums.NOPE.memory", "unknown forum"],
        ),
        (vec!["--set", "pressure.rho"], vec!["expected KEY=VALUE"]),
        (
            vec!["--sweep", "pressure.rho=0:2:3"],
            vec!["--sweep", "pressure.rho", "expected a value in [0, 1]"],
        ),
        (
            vec!["--sweep", "forums.GFMD.interval=1:3:3", "--design", "lhs"],
            vec!["--samples"],
        ),
    ] {
        let mut all = vec!["run", "small.toml", "--quiet", "--reps", "2", "--out", "x"];
        all.extend(args.iter().copied());
        let o = forumsim(dir, &all);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        for n in needles {
            assert!(stderr(&o).contains(n), "{args:?}: {} lacks {n}", stderr(&o));
        }
        assert!(!dir.join("x").exists());
    }
    let ok = forumsim(
        dir,
        &[
            "run",
            "small.toml",
            "--quiet",
            "--reps",
            "2",
            "--out",
            "y",
            "--set",
            "forums.GFMD.memory=0.9",
        ],
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    let manifest = fs::read_to_string(dir.join("y/manifest.json")).expect("manifest");
    assert!(
        manifest.contains("\"memory\": 0.9"),
        "the override is in the resolved parameters"
    );
}

#[test]
fn sensitivity_writes_ranked_indices() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let o = forumsim(dir, &small_sensitivity("s"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("ranked"));
    let csv = fs::read_to_string(dir.join("s/sensitivity.csv")).expect("sensitivity.csv");
    assert!(csv.starts_with("output,method,parameter,low,high,first_order,"));
    // One output per factor: final protection repeats the RTB index and is left out.
    assert_eq!(csv.lines().count(), 1 + 2);
    assert!(csv.contains("rtb,sobol,policy.c_rights,0.5,1.5,"));
    let o = forumsim(
        dir,
        &[
            "sensitivity",
            "small.toml",
            "--params",
            "policy.c_rights",
            "--method",
            "morris",
            "--samples",
            "3",
            "--reps",
            "1",
            "--quiet",
            "--out",
            "m",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = forumsim(
        dir,
        &[
            "sensitivity",
            "small.toml",
            "--params",
            "policy.c_rightz",
            "--out",
            "e",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("policy.c_rightz"));
}

/// Three shards run as separate processes merge into files byte-identical to one process; a
/// missing or incomplete shard is an error that names it.
#[test]
fn shards_merge_byte_identically() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let o = forumsim(
        dir,
        &[
            "run",
            "small.toml",
            "--reps",
            "7",
            "--quiet",
            "--out",
            "whole",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let children: Vec<_> = (0..3)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_forumsim"))
                .args([
                    "run",
                    "small.toml",
                    "--reps",
                    "7",
                    "--quiet",
                    "--threads",
                    "1",
                ])
                .args(["--shard", &format!("{i}/3"), "--out", &format!("s{i}")])
                .current_dir(dir)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for mut c in children {
        assert!(c.wait().expect("wait").success());
    }
    let o = forumsim(dir, &["merge", "s2", "s0", "s1", "--out", "merged"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "summary.csv",
        "replications.csv",
        "states.csv",
        "charts/fan_protection_mean.png",
        "charts/breadth_depth.svg",
    ] {
        assert!(
            fs::read(dir.join("whole").join(f)).expect("whole")
                == fs::read(dir.join("merged").join(f)).expect("merged"),
            "{f} differs"
        );
    }
    let o = forumsim(dir, &["merge", "s0", "s2", "--out", "m2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("shard 1/3") && stderr(&o).contains("missing"),
        "{}",
        stderr(&o)
    );
    let s1_marker = fs::read(dir.join("s1/shard.json")).expect("marker");
    fs::remove_file(dir.join("s1/shard.json")).expect("remove marker");
    let o = forumsim(dir, &["merge", "s0", "s1", "s2", "--out", "m3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("s1") && stderr(&o).contains("completion marker"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.join("m2").exists() && !dir.join("m3").exists());
    // A damaged marker is refused, naming the key, not read as a default.
    let marker_path = dir.join("s0/shard.json");
    let marker = fs::read_to_string(&marker_path).expect("marker");
    let mut json: serde_json::Value = serde_json::from_str(&marker).expect("marker is JSON");
    json["master_seed"] = "x".into();
    fs::write(&marker_path, json.to_string()).expect("damage");
    let o = forumsim(dir, &["merge", "s0", "s2", "--out", "m4"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("shard.json: master_seed: invalid type"),
        "{}",
        stderr(&o)
    );
    fs::write(&marker_path, &marker).expect("repair");
    fs::write(dir.join("s1/shard.json"), s1_marker).expect("restore");
    // A scenario edited after the shards ran is refused: the merge would not be that run.
    let scenario_path = dir.join("s0/scenario.toml");
    let resolved = fs::read_to_string(&scenario_path).expect("scenario");
    let edited: String = resolved
        .lines()
        .map(|l| {
            if l.starts_with("beta_far = ") {
                "beta_far = 1.25\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(edited, resolved, "the edit changes a parameter");
    fs::write(&scenario_path, edited).expect("edit");
    let o = forumsim(dir, &["merge", "s0", "s1", "s2", "--out", "m5"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("edited after the run"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.join("m4").exists() && !dir.join("m5").exists());
    let o = forumsim(
        dir,
        &["run", "small.toml", "--shard", "3/3", "--out", "bad"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--shard"));
}

/// The Kubernetes manifest: an Indexed Job whose shard index is JOB_COMPLETION_INDEX, with as
/// many completions as shards, and the merge step.
#[test]
fn kubernetes_indexed_job_is_well_formed() {
    use yaml_rust2::{Yaml, YamlLoader};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/k8s/indexed-job.yaml");
    let docs =
        YamlLoader::load_from_str(&fs::read_to_string(path).expect("yaml")).expect("valid YAML");
    let kind = |d: &Yaml| d["kind"].as_str().unwrap_or("").to_string();
    let jobs: Vec<&Yaml> = docs.iter().filter(|d| kind(d) == "Job").collect();
    assert_eq!(jobs.len(), 2, "a shard Job and a merge Job");
    assert!(
        docs.iter().any(|d| kind(d) == "PersistentVolumeClaim"),
        "a shared volume"
    );
    let shards = jobs
        .iter()
        .find(|j| j["spec"]["completionMode"].as_str() == Some("Indexed"))
        .expect("an Indexed Job");
    let completions = shards["spec"]["completions"].as_i64().expect("completions");
    let container = &shards["spec"]["template"]["spec"]["containers"][0];
    let env_shards = container["env"]
        .as_vec()
        .expect("env")
        .iter()
        .find(|e| e["name"].as_str() == Some("SHARDS"))
        .and_then(|e| e["value"].as_str())
        .and_then(|v| v.parse::<i64>().ok())
        .expect("SHARDS");
    assert_eq!(completions, env_shards, "completions equal the shard count");
    let args: String = container["args"]
        .as_vec()
        .expect("args")
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(
        args.contains("--shard \"${JOB_COMPLETION_INDEX}/${SHARDS}\""),
        "{args}"
    );
    assert!(args.contains("shard-${JOB_COMPLETION_INDEX}"));
    let merge = jobs
        .iter()
        .find(|j| j["metadata"]["labels"]["step"].as_str() == Some("merge"))
        .expect("the merge Job");
    let merge_args: String = merge["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_vec()
        .expect("args")
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(merge_args.contains("forumsim merge"), "{merge_args}");
}

/// A broken replication lands in failures.csv, the rest of the batch completes, the command exits
/// non-zero with one line; `rerun` reproduces any replication alone with its trace.
#[test]
fn failures_are_recorded_and_replications_can_be_rerun() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let o = forumsim(
        dir,
        &[
            "run",
            "small.toml",
            "--reps",
            "6",
            "--out",
            "f",
            "--inject-failure",
            "2",
            "--progress-json",
            "--no-charts",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("1 of 6 replications broke an invariant") && err.contains("failures.csv"),
        "{err}"
    );
    let progress: Vec<serde_json::Value> = err
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("JSON progress line"))
        .collect();
    assert_eq!(progress.last().expect("progress")["done"], 6);
    assert_eq!(progress.last().expect("progress")["total"], 6);
    let failures = fs::read_to_string(dir.join("f/failures.csv")).expect("failures.csv");
    assert!(
        failures.starts_with("point,replication,seed_key,year,check\n0,2,"),
        "{failures}"
    );
    let reps = fs::read_to_string(dir.join("f/replications.csv")).expect("replications");
    assert_eq!(
        reps.lines().count(),
        1 + 5,
        "the other replications completed"
    );
    assert!(!reps.lines().any(|l| l.starts_with("2,")));
    // Rerun replication 4 alone: the same RTB as in the batch.
    let batch_rtb = reps
        .lines()
        .find(|l| l.starts_with("4,"))
        .and_then(|l| l.split(',').nth(1))
        .expect("row 4")
        .to_string();
    let o = forumsim(dir, &["rerun", "f", "--replication", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let trace = fs::read_to_string(dir.join("f/rerun-4.csv")).expect("trace");
    assert!(trace.starts_with("year,protection_mean,"));
    assert_eq!(trace.lines().count(), 1 + 10, "2007-2016");
    let rtb: f64 = batch_rtb.parse().expect("number");
    assert!(
        stdout(&o).contains(&format!("RTB {rtb:.4}")),
        "{}",
        stdout(&o)
    );
    // A replication the run did not have is refused, not simulated.
    let o = forumsim(dir, &["rerun", "f", "--replication", "6"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("0 to 5"), "{}", stderr(&o));
}

/// A run of five blocks, long enough to be killed after its first checkpoint.
const RESUMABLE_RUN: [&str; 8] = [
    "run",
    "small.toml",
    "--reps",
    "1200",
    "--quiet",
    "--no-charts",
    "--threads",
    "2",
];

/// Starts `forumsim` with `args` and `--out out` in `dir`, kills it (SIGKILL) once its first block
/// is checkpointed, and returns the checkpoint's path.
fn kill_after_first_checkpoint(dir: &Path, args: &[&str], out: &str) -> PathBuf {
    let mut child = Command::new(env!("CARGO_BIN_EXE_forumsim"))
        .args(args)
        .args(["--out", out])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let checkpoint = dir.join(format!(".{out}.partial/checkpoint.json"));
    let started = std::time::Instant::now();
    while !checkpoint.exists() && started.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    checkpoint
}

/// A run killed with SIGKILL in the middle and restarted with --resume ends with files
/// byte-identical to an uninterrupted run, without running the checkpointed replications again.
#[test]
fn a_killed_run_resumes_to_identical_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let args = RESUMABLE_RUN;
    let o = forumsim(dir, &[&args[..], &["--out", "whole"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let checkpoint = kill_after_first_checkpoint(dir, &args, "resumed");
    assert!(
        !dir.join("resumed").exists(),
        "a killed run leaves no result folder"
    );
    assert!(checkpoint.exists(), "the checkpoint survives the kill");
    let text = fs::read_to_string(&checkpoint).expect("checkpoint");
    let json: serde_json::Value = serde_json::from_str(&text).expect("checkpoint is JSON");
    let blocks = json["block_sizes"].as_array().expect("block sizes").len();
    assert!(
        (1..5).contains(&blocks),
        "killed mid-run after {blocks} of 5 blocks"
    );
    let o = forumsim(
        dir,
        &[&args[..], &["--out", "resumed", "--resume"]].concat(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["summary.csv", "replications.csv", "states.csv"] {
        assert!(
            fs::read(dir.join("whole").join(f)).expect("whole")
                == fs::read(dir.join("resumed").join(f)).expect("resumed"),
            "{f} differs after resume"
        );
    }
    assert!(
        !dir.join(".resumed.partial").exists(),
        "the work folder is removed"
    );
    // A resume that does not match the interrupted run is refused.
    kill_after_first_checkpoint(dir, &args, "other");
    let o = forumsim(
        dir,
        &[
            "run",
            "small.toml",
            "--reps",
            "999",
            "--quiet",
            "--out",
            "other",
            "--resume",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--resume"));
}

/// A damaged work folder is refused with exit code 2 and left as it was, never silently read as
/// defaults or replaced by a fresh start; once repaired, the resume goes on.
#[test]
fn a_damaged_checkpoint_is_refused_and_left_in_place() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let args = RESUMABLE_RUN;
    let checkpoint = kill_after_first_checkpoint(dir, &args, "damaged");
    let work = dir.join(".damaged.partial");
    let original = fs::read_to_string(&checkpoint).expect("checkpoint");
    let traces = fs::read(work.join("traces.bin")).expect("traces");
    let json: serde_json::Value = serde_json::from_str(&original).expect("checkpoint is JSON");
    let with = |key: &str, value: serde_json::Value| {
        let mut j = json.clone();
        j[key] = value;
        j.to_string()
    };
    let mut sums = json["state_sums"].as_array().expect("sums").clone();
    sums.pop();
    let resume = [&args[..], &["--out", "damaged", "--resume"]].concat();
    for (damage, expected) in [
        (original[..original.len() / 2].to_string(), "damaged"),
        (with("state_sums", sums.into()), "state_sums"),
        (
            with("block_sizes", serde_json::json!([256, 9999])),
            "block_sizes",
        ),
        (
            with("failures", serde_json::json!([{ "point": 0 }])),
            "missing field",
        ),
        (
            with(
                "failures",
                serde_json::json!([{ "point": 0, "replication": "x", "key": 0, "year": 2007, "check": "" }]),
            ),
            "failures[0].replication",
        ),
    ] {
        fs::write(&checkpoint, &damage).expect("damage");
        let o = forumsim(dir, &resume);
        assert_eq!(o.status.code(), Some(2), "{expected}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("checkpoint.json") && stderr(&o).contains(expected),
            "{}",
            stderr(&o)
        );
        assert_eq!(
            fs::read_to_string(&checkpoint).expect("still there"),
            damage,
            "the damaged checkpoint is left for the user to inspect"
        );
    }
    // Traces shorter than the checkpoint vouches for.
    fs::write(&checkpoint, &original).expect("repair");
    fs::write(work.join("traces.bin"), &traces[..traces.len() / 2]).expect("truncate");
    let o = forumsim(dir, &resume);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("traces.bin"), "{}", stderr(&o));
    // Repaired, the run goes on from its checkpoint.
    fs::write(work.join("traces.bin"), &traces).expect("repair");
    let o = forumsim(dir, &resume);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = fs::read_to_string(dir.join("damaged/replications.csv")).expect("result");
    assert_eq!(rows.lines().count(), 1 + 1200);
}

/// `robustness` runs a comparison at every point of a design with the same seeds: a scenario
/// against itself has an effect of exactly zero at every point, the files have their columns,
/// the result does not depend on the thread count, and a bad method is refused with exit code 2
/// and nothing written.
#[test]
fn robustness_writes_paired_effects_at_every_point() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let args = |out: &str, threads: &str| {
        vec![
            "robustness".to_string(),
            "small.toml".into(),
            "small.toml".into(),
            "--params".into(),
            "policy.noise,pressure.rho=0.1:0.3".into(),
            "--samples".into(),
            "3".into(),
            "--reps".into(),
            "2".into(),
            "--threads".into(),
            threads.into(),
            "--out".into(),
            out.into(),
            "--quiet".into(),
        ]
    };
    let run = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        forumsim(dir, &refs)
    };
    let one = run(args("r1", "1"));
    assert!(one.status.success(), "{}", stderr(&one));
    assert!(stdout(&one).contains("lowers at"), "{}", stdout(&one));
    let csv = fs::read_to_string(dir.join("r1/robustness.csv")).expect("robustness.csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().expect("header"),
        "point,policy.noise,pressure.rho,scenario,n,rtb_mean,effect,effect_sd,effect_ci95_low,effect_ci95_high"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 6, "3 points x 2 scenarios");
    for r in rows.iter().filter(|r| !r[6].is_empty()) {
        assert_eq!(
            &r[6..],
            &["0", "0", "0", "0"],
            "a scenario against itself: {r:?}"
        );
    }
    let noise: Vec<f64> = rows.iter().map(|r| r[1].parse().expect("number")).collect();
    assert!(
        noise.iter().all(|&x| (0.02..=0.5).contains(&x)),
        "{noise:?}"
    );
    assert!(dir.join("r1/robustness_summary.csv").exists());
    assert!(dir.join("r1/manifest.json").exists());
    let two = run(args("r2", "2"));
    assert!(two.status.success(), "{}", stderr(&two));
    assert_eq!(
        csv,
        fs::read_to_string(dir.join("r2/robustness.csv")).expect("r2"),
        "thread count changed the result"
    );
    let mut bad = args("r3", "1");
    bad.extend(["--method".into(), "bogus".into()]);
    let refused = run(bad);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("expected lhs, sobol or grid"));
    assert!(!dir.join("r3").exists());
}

/// `states` writes each State's path year by year; `voices` prints who dominates a forum and
/// refuses a forum the scenario does not have.
#[test]
fn states_and_voices_describe_the_states() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let o = forumsim(dir, &["states", "small.toml", "--reps", "2", "--out", "st"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = fs::read_to_string(dir.join("st/state_years.csv")).expect("state_years.csv");
    let mut lines = text.lines();
    assert_eq!(
        lines.next().expect("header"),
        "year,iso3,name,protection_asylum,protection_labour,protection_trafficking,enforcement,legal_channels,pressure,recognition_rate,labour_under_agreements,immigrant_stock,refugee_stock,irregular_stock"
    );
    assert_eq!(lines.count(), 10 * 193, "2007-2016 for 193 States");
    let again = forumsim(dir, &["states", "small.toml", "--reps", "2", "--out", "st"]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing folder needs --force"
    );
    let v = forumsim(
        dir,
        &["voices", "small.toml", "--forum", "Bali", "--top", "2"],
    );
    assert!(v.status.success(), "{}", stderr(&v));
    let table = stdout(&v);
    assert!(table.starts_with("Bali: 43 members"), "{table}");
    assert!(table.contains("AUS") && table.contains("chair"), "{table}");
    let bad = forumsim(dir, &["voices", "small.toml", "--forum", "Nowhere"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("expected one of"), "{}", stderr(&bad));
}

/// `explain` breaks a paired effect into channels whose parts add up to the whole; a scenario
/// explained against itself has no effect through any channel.
#[test]
fn explain_splits_an_effect_into_channels_that_add_up() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = small(tmp.path());
    let variant = tmp.path().join("variant.toml");
    fs::write(
        &variant,
        format!(
            "extends = {:?}\nname = \"variant\"\n[forums.GFMD]\nmemory = 1.0\ntransparency = 0.9\n",
            base.display().to_string()
        ),
    )
    .expect("write");
    let b = base.to_str().expect("utf-8");
    let v = variant.to_str().expect("utf-8");
    let o = forumsim(
        tmp.path(),
        &[
            "explain",
            b,
            v,
            "--reps",
            "2",
            "--method",
            "one-at-a-time",
            "--threads",
            "2",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = fs::read_to_string(
        tmp.path()
            .join("output/explain-variant-vs-small/explain.csv"),
    )
    .expect("explain.csv");
    let rows: Vec<Vec<String>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
    let mean = header
        .iter()
        .position(|h| *h == "effect")
        .expect("an effect column");
    let total: f64 = rows.iter().find(|r| r[0] == "total").expect("a total row")[mean]
        .parse()
        .expect("number");
    let parts: f64 = rows
        .iter()
        .filter(|r| r[0] != "total")
        .map(|r| r[mean].parse::<f64>().expect("number"))
        .sum();
    assert!(total.abs() > 1e-4, "the variant has an effect: {total}");
    assert!((total - parts).abs() < 1e-9, "{total} vs {parts}");
    assert!(
        tmp.path()
            .join("output/explain-variant-vs-small/charts/explain.png")
            .exists()
    );
    let o = forumsim(
        tmp.path(),
        &[
            "explain",
            b,
            b,
            "--reps",
            "2",
            "--method",
            "one-at-a-time",
            "--out",
            "self",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = fs::read_to_string(tmp.path().join("self/explain.csv")).expect("explain.csv");
    for line in csv.lines().skip(1) {
        let v: f64 = line
            .split(',')
            .nth(mean)
            .expect("mean")
            .parse()
            .expect("number");
        assert_eq!(v, 0.0, "{line}");
    }
}

/// `compare --posterior`: every replication draws one parameter set, the same in every
/// scenario, so a scenario against itself still differs by exactly zero; the table and
/// comparison.csv say what the spread covers; scenarios over different posteriors are refused.
#[test]
fn compare_over_a_posterior_stays_paired_and_says_what_its_intervals_cover() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = small(tmp.path());
    let b = base.to_str().expect("utf-8");
    let posterior = tmp.path().join("posterior.csv");
    fs::write(
        &posterior,
        "particle,weight,distance,world.h0_base,policy.noise\n0,0.5,0.1,0.2,0.05\n1,0.5,0.1,0.6,0.3\n",
    )
    .expect("write");
    let p = posterior.to_str().expect("utf-8");
    let o = forumsim(
        tmp.path(),
        &[
            "compare",
            b,
            b,
            "--posterior",
            p,
            "--no-charts",
            "--quiet",
            "--out",
            "self",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("over the posterior"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("replication noise and the posterior's parameter uncertainty"),
        "{}",
        stdout(&o)
    );
    let csv = fs::read_to_string(tmp.path().join("self/comparison.csv")).expect("csv");
    let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        for c in [
            "difference",
            "sd_difference",
            "spread95_low",
            "spread95_high",
            "p_lower",
        ] {
            assert_eq!(
                f[col(c)].parse::<f64>().expect("number"),
                0.0,
                "{c}: {line}"
            );
        }
        assert!(f[col("spread_covers")].starts_with("replication noise and parameters"));
    }
    // Over the posterior the status quo's RTB index varies more across replications than at
    // its point values: the drawn hostility and noise move it.
    let sd = |dir: &str| -> f64 {
        let folder = fs::read_dir(tmp.path().join(dir))
            .expect("folder")
            .map(|e| e.expect("entry").path())
            .find(|p| p.join("replications.csv").exists())
            .expect("a scenario folder");
        let text = fs::read_to_string(folder.join("replications.csv")).expect("replications");
        let rtb: Vec<f64> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).expect("rtb").parse().expect("number"))
            .collect();
        let mean = rtb.iter().sum::<f64>() / rtb.len() as f64;
        (rtb.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (rtb.len() - 1) as f64).sqrt()
    };
    let o = forumsim(
        tmp.path(),
        &[
            "compare",
            b,
            b,
            "--no-posterior",
            "--no-charts",
            "--quiet",
            "--out",
            "point",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("replication noise only"),
        "{}",
        stdout(&o)
    );
    assert!(
        sd("self") > 2.0 * sd("point"),
        "{} vs {}",
        sd("self"),
        sd("point")
    );
    // Two identical proposals tie in every replication: both take rank 1.
    let o = forumsim(
        tmp.path(),
        &[
            "compare",
            b,
            b,
            b,
            "--posterior",
            p,
            "--no-charts",
            "--quiet",
            "--out",
            "ties",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ranks = fs::read_to_string(tmp.path().join("ties/ranks.csv")).expect("ranks.csv");
    let lines: Vec<&str> = ranks.lines().collect();
    assert_eq!(lines[0], "scenario,rank,probability,replications");
    assert_eq!(lines.len(), 5, "{ranks}");
    for line in &lines[1..] {
        let f: Vec<&str> = line.split(',').collect();
        let expected = if f[1] == "1" { "1" } else { "0" };
        assert_eq!(f[2], expected, "{line}");
    }
    // A variant over another posterior is not paired in its parameters: refused.
    let other = tmp.path().join("other.toml");
    fs::write(
        &other,
        format!("extends = {b:?}\nname = \"other\"\n[calibration]\nposterior = {p:?}\n"),
    )
    .expect("write");
    let o = forumsim(
        tmp.path(),
        &[
            "compare",
            b,
            other.to_str().expect("utf-8"),
            "--no-charts",
            "--quiet",
            "--out",
            "bad",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--posterior FILE"), "{}", stderr(&o));
    assert!(!tmp.path().join("bad").exists());
}

/// `differences_by_year.csv` holds, per proposal, metric and year, the mean of the paired
/// differences of the two scenarios' per-replication traces (each replication reproduced alone
/// by `rerun`), and the difference charts are drawn after `compare` and again by `plot`.
#[test]
fn compare_writes_paired_differences_by_year_and_their_charts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    firewall_variant(dir);
    let reps = 3;
    let o = forumsim(
        dir,
        &[
            "compare",
            "small.toml",
            "variant.toml",
            "--reps",
            "3",
            "--quiet",
            "--out",
            "cmp",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let cmp = dir.join("cmp");
    let csv = fs::read_to_string(cmp.join("differences_by_year.csv")).expect("written");
    assert!(csv.starts_with("scenario,baseline,metric,year,n,mean,ci95_low,ci95_high,covers\n"));
    // Each replication's trace, by year, of one scenario.
    let trace = |folder: &str, k: usize| -> Vec<Vec<String>> {
        let o = forumsim(
            dir,
            &[
                "rerun",
                &format!("cmp/{folder}"),
                "--replication",
                &k.to_string(),
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        fs::read_to_string(cmp.join(folder).join(format!("rerun-{k}.csv")))
            .expect("trace")
            .lines()
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    };
    let base: Vec<_> = (0..reps).map(|k| trace("small", k)).collect();
    let variant: Vec<_> = (0..reps).map(|k| trace("variant", k)).collect();
    let header = &base[0][0];
    let mut checked = 0;
    let mut nonzero = false;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!((f[0], f[1]), ("variant", "small"), "{line}");
        let col = header
            .iter()
            .position(|h| h == f[2])
            .expect("metric traced");
        let row = base[0]
            .iter()
            .position(|r| r[0] == f[3])
            .expect("year traced");
        let value = |t: &Vec<Vec<String>>| t[row][col].parse::<f64>().expect("number");
        let mean = (0..reps)
            .map(|k| value(&variant[k]) - value(&base[k]))
            .sum::<f64>()
            / reps as f64;
        let written: f64 = f[5].parse().expect("mean");
        assert!((written - mean).abs() < 1e-9, "{line}: expected {mean}");
        assert_eq!(f[4], "3");
        let (lo, hi): (f64, f64) = (f[6].parse().unwrap(), f[7].parse().unwrap());
        assert!(lo <= written && written <= hi, "{line}");
        nonzero |= mean.abs() > 1e-6;
        checked += 1;
    }
    assert!(
        checked >= 4 * 5,
        "every headline metric and year: {checked}"
    );
    assert!(nonzero, "firewalls move something");
    for m in [
        "protection_mean",
        "protection_migrant_weighted",
        "enforcement_mean",
        "irregular_share",
    ] {
        for ext in ["png", "svg"] {
            let chart = cmp.join(format!("charts/difference_{m}.{ext}"));
            assert!(chart.exists(), "{}", chart.display());
            fs::remove_file(&chart).expect("remove");
        }
    }
    let o = forumsim(dir, &["plot", "cmp"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(cmp.join("charts/difference_irregular_share.png").exists());
    assert!(cmp.join("charts/difference_protection_mean.svg").exists());
}
