//! Issue 15: `report.html` for a policy reader, as a user gets it from each command.

use std::fs;
use std::path::Path;

use super::{analysis_runs, forumsim, small, small_sensitivity, stderr, stdout};

fn report(dir: &Path) -> String {
    fs::read_to_string(dir.join("report.html"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("report.html").display()))
}

/// Every `<img>` of a page is inside a `<figure>` with a caption that says what the chart shows
/// (not the fallback a chart without a caption gets), and the page draws every PNG of its
/// `charts/`.
fn assert_every_chart_captioned(dir: &Path) {
    let html = report(dir);
    let images = html.matches("<img ").count();
    let pngs = fs::read_dir(dir.join("charts"))
        .map(|e| {
            e.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".png"))
            })
            .count()
        })
        .unwrap_or(0);
    assert!(images > 0, "{}: no chart", dir.display());
    assert_eq!(
        images,
        pngs,
        "{}: every chart is in the page",
        dir.display()
    );
    assert_eq!(
        html.matches("<figcaption>").count(),
        images,
        "{}: a caption under every chart",
        dir.display()
    );
    assert!(!html.contains("nocaption"), "{}", dir.display());
}

/// A comparison's report: the RTB headline before every other section, a caption under every
/// chart, every metric defined (`ratifications_total` among them), a treaty that only the
/// baseline has still shown, the RTB sign beside the RTB figures, and what the intervals cover.
#[test]
fn comparison_report_puts_the_headline_first_and_defines_what_it_shows() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    fs::write(
        dir.join("no_icrmw.toml"),
        "extends = \"small.toml\"\nname = \"no_icrmw\"\n[treaties.ICRMW]\nenabled = false\n",
    )
    .expect("write");
    let o = forumsim(
        dir,
        &[
            "compare",
            "small.toml",
            "no_icrmw.toml",
            "--reps",
            "3",
            "--no-posterior",
            "--quiet",
            "--out",
            "cmp",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = fs::read_to_string(dir.join("cmp/comparison.csv")).expect("comparison.csv");
    assert!(
        csv.lines()
            .any(|l| l.starts_with("no_icrmw,small,parties_ICRMW,")),
        "a treaty the variant does not have keeps its row: {csv}"
    );
    let html = report(&dir.join("cmp"));
    let at = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("the report lacks {needle:?}"))
    };
    let headline = at("<h2 id=\"headline\">");
    for later in [
        "Protection of migrants' rights overall</h2>",
        "Protection by domain</h2>",
        "Domestic pressure</h2>",
        "Ratifications</h2>",
        "Details</h2>",
    ] {
        assert!(headline < at(later), "the headline comes before {later}");
    }
    assert!(at("charts/rtb_distribution.png") < at("Protection of migrants' rights overall</h2>"));
    assert!(at("Ratifications</h2>") < at("Details</h2>"));
    assert!(html.contains("<code>ratifications_total</code></dt>"));
    assert!(html.contains("<code>parties_ICRMW</code></dt>"));
    assert!(html.contains("Migrant Workers Convention"));
    assert!(html.contains("Global Forum on Migration and Development"));
    assert!(html.contains("The intervals cover replication noise only."));
    assert!(!html.contains("parameter uncertainty."));
    assert!(html.contains("Lower is better."));
    // Numbers are rounded for reading: no figure with more than 3 significant digits below 1.
    assert!(
        !html.contains("class=n>0.0000"),
        "numbers are rounded for reading"
    );
    assert_every_chart_captioned(&dir.join("cmp"));
    for run in ["cmp/small", "cmp/no_icrmw"] {
        let page = report(&dir.join(run));
        let headline = page.find("<h2 id=\"headline\">").expect("headline");
        let overall = page
            .find("Protection of migrants' rights overall</h2>")
            .expect("protection section");
        assert!(headline < overall, "{run}");
        assert!(page.contains("Lower is better."), "{run}");
        assert!(
            page.contains("<code>ratifications_total</code></dt>"),
            "{run}"
        );
        assert_every_chart_captioned(&dir.join(run));
    }
}

/// A run over the posterior says its intervals cover the parameters too; one with
/// `--no-posterior` says they cover replication noise only.
#[test]
fn run_report_says_what_its_intervals_cover() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    // The status quo, and so `small`, runs over its built-in posterior unless told otherwise.
    for (flag, out, says) in [
        (
            Some("--no-posterior"),
            "point",
            "The intervals cover replication noise only.",
        ),
        (
            None,
            "over",
            "The intervals cover replication noise and parameter uncertainty.",
        ),
    ] {
        let mut args = vec!["run", "small.toml", "--reps", "3", "--quiet", "--out", out];
        args.extend(flag);
        let o = forumsim(dir, &args);
        assert!(o.status.success(), "{}", stderr(&o));
        let html = report(&dir.join(out));
        assert!(html.contains(says), "{out}: {says}");
        assert_every_chart_captioned(&dir.join(out));
    }
}

/// A sweep, a sensitivity analysis and a calibration each get a report from their command, and
/// `plot` of their folder writes it again (and says so).
#[test]
fn sweep_sensitivity_and_calibration_get_a_report() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let runs = analysis_runs();
    for (out, args) in &runs {
        let o = forumsim(dir, args);
        assert!(o.status.success(), "{out}: {}", stderr(&o));
        let page = dir.join(out);
        let html = report(&page);
        assert!(html.contains("<h2 id=\"headline\">"), "{out}");
        fs::remove_file(page.join("report.html")).expect("remove");
        let o = forumsim(dir, &["plot", out]);
        assert!(o.status.success(), "{out}: {}", stderr(&o));
        assert!(
            stdout(&o).contains("report.html") && !stdout(&o).contains("no report.html"),
            "{out}: {}",
            stdout(&o)
        );
        assert_eq!(report(&page), html, "{out}: plot writes the same report");
    }
    let sweep = report(&dir.join("sw"));
    assert!(
        sweep.contains(&forumsim::chart::report::escape(
            &forumsim::names::parameter("forums.GFMD.memory",)
        )) && sweep.contains("GFMD (forums.GFMD.memory)"),
        "the swept parameter is named in words, with its key"
    );
    assert!(sweep.contains("RTB difference from point 0"));
    assert!(sweep.contains("baseline point"));
    assert!(sweep.contains("Lower is better."));
    assert_every_chart_captioned(&dir.join("sw"));
    let sens = report(&dir.join("sens"));
    assert!(sens.contains("<th>ST</th>"));
    assert!(
        sens.contains("(policy.c_rights)</td>"),
        "a parameter of the indices is named in words, with its key"
    );
    assert!(
        sens.contains("is too small for Sobol indices to mean much"),
        "the warning of a small N is in the page"
    );
    assert_every_chart_captioned(&dir.join("sens"));
    let cal = report(&dir.join("cal"));
    for needle in [
        "<code>gfmd_attendance</code>",
        "<th>tolerance</th>",
        "<th>met</th>",
        "targets met</h2>",
    ] {
        assert!(cal.contains(needle), "calibration report lacks {needle}");
    }
}

/// The RTB index and final mean protection move together when no parameter changes the start:
/// the second is left out, in one line that says why, and sensitivity.csv holds the first only.
#[test]
fn sensitivity_drops_an_output_that_repeats_another() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    small(dir);
    let o = forumsim(dir, &small_sensitivity("s"));
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let line: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("protection_mean_end left out"))
        .collect();
    assert_eq!(line.len(), 1, "{err}");
    assert!(line[0].contains("affine function of rtb"), "{err}");
    let csv = fs::read_to_string(dir.join("s/sensitivity.csv")).expect("sensitivity.csv");
    assert!(csv.lines().skip(1).all(|l| l.starts_with("rtb,")), "{csv}");
    assert_eq!(csv.lines().count(), 1 + 2);
    assert!(!stdout(&o).contains("protection_mean_end, ranked"));
    let manifest = fs::read_to_string(dir.join("s/manifest.json")).expect("manifest");
    assert!(manifest.contains("\"dropped_outputs\""));
    assert!(report(&dir.join("s")).contains("protection_mean_end left out"));
}
