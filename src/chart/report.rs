//! `report.html`: one self-contained page per result folder (charts inlined as data URIs, no
//! scripts, no network), written for a policy reader: the headline first (the RTB index and its
//! distribution, with the sign that is good), then the rest in a fixed order (protection overall,
//! by domain, by region, institutions, enforcement and channels, pressure, ratifications,
//! details), a caption under every chart, numbers rounded for reading (the CSV files keep full
//! precision), what the intervals cover, and the definition of every metric and the full name of
//! every forum and treaty that appears. Runs, comparisons, sweeps, sensitivity analyses and
//! calibrations each get one; every word comes from [`crate::names`].

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use rayon::prelude::*;

use super::data::{ComparisonData, ComparisonRow, RunData};
use crate::error::{Error, Result};
use crate::names::{self, RTB_SIGN};
use crate::stats::summarize;

/// Standard base64 (RFC 4648) with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1040px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
figure{margin:1.5em 0}img{max-width:100%;border:1px solid #eee}figcaption{color:#444;font-size:14px;max-width:960px}\
p.sign{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 10px;font-size:14px}\
p.warn{background:#fdecea;border-left:4px solid #c62828;padding:6px 10px}\
p.note{color:#444;font-size:14px}dt{font-weight:bold;margin-top:.5em}dd{margin-left:1.5em}\
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:12px}";

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// A number rounded for reading: three significant digits (no exponent between 10^-6 and
/// 10^6), with a true minus sign; empty when not finite.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    if x == 0.0 {
        return "0".into();
    }
    let fixed = |magnitude: i32| format!("{x:.prec$}", prec = (2 - magnitude).max(0) as usize);
    let magnitude = x.abs().log10().floor() as i32;
    let text = if !(-6..6).contains(&magnitude) {
        format!("{x:.2e}")
    } else {
        let rounded = fixed(magnitude);
        // Rounding can reach the next power of ten (0.09996 → 0.1000): keep three digits.
        match rounded.parse::<f64>() {
            Ok(r) if r.abs() >= 10f64.powi(magnitude + 1) => fixed(magnitude + 1),
            _ => rounded,
        }
    };
    text.replace('-', "−")
}

/// A probability or share, with two decimals.
fn probability(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}")
    } else {
        String::new()
    }
}

/// "[a, b]" rounded for reading.
fn interval(lo: f64, hi: f64) -> String {
    if lo.is_finite() && hi.is_finite() {
        format!("[{}, {}]", number(lo), number(hi))
    } else {
        String::new()
    }
}

/// The caption of a chart, from its file stem (`fan_protection_mean`, `rtb_distribution`,
/// `difference_rtb`, ...): what it shows and how to read it. `None` for a stem no command draws.
pub fn caption(stem: &str) -> Option<String> {
    let fixed = match stem {
        "rtb_distribution" => Some(format!(
            "The race-to-the-bottom (RTB) index of every replication, one row per scenario (in a \
             comparison sorted by mean, the lowest on top). Box: middle half of the replications; \
             whiskers: 5% to 95%; dots: single replications; diamond and bar: the mean and its 95% \
             confidence interval. {RTB_SIGN}"
        )),
        "fan_ratifications" => Some(
            "Parties to each treaty year by year (the number of States that have ratified it). \
             Line: the median over replications; bands: the middle 50% and 90% of replications."
                .into(),
        ),
        "breadth_depth" => Some(
            "Breadth versus depth of each forum and treaty at the end of the run: across, how many \
             States take part (attend the forum, or are party to the treaty); up, the mean \
             protection of those States. A point high and to the right is an institution that is \
             both broad and protective; one high and to the left is a small club of protective \
             States."
                .into(),
        ),
        "protection_by_region" => Some(
            "Mean protection of migrants' rights in each migration region, one panel per region, \
             year by year. Line: the median over replications; band: the middle 90% of \
             replications. Compare a region's end with its start: a fall is a race to the bottom \
             within the region."
                .into(),
        ),
        "sweep_rtb" | "sweep_protection_mean_end" => {
            let m = names::metric(&stem["sweep_".len()..]);
            Some(format!(
                "{} at each point of the sweep. With one swept parameter: the line is the mean over \
                 replications, the dark band its 95% confidence interval and the light band 5% to \
                 95% of replications. With two: each cell (or dot) is coloured by the mean; the \
                 scale beside it gives the values.{}",
                m.name,
                if stem == "sweep_rtb" {
                    format!(" {RTB_SIGN}")
                } else {
                    String::new()
                }
            ))
        }
        "posterior_marginals" => Some(
            "The posterior of each calibrated parameter: the histogram of the accepted parameter \
             sets (weighted), on the range of its prior. A narrow peak means the calibration \
             targets pin the parameter down; a flat histogram means they say little about it."
                .into(),
        ),
        "posterior_check" => Some(
            "Posterior predictive check: for each calibration target, the observed value against \
             the model's values over the posterior, with the target's tolerance. A target whose \
             observed value lies inside the model's range and the tolerance is reproduced."
                .into(),
        ),
        "explain" => Some(
            "Why the variant's RTB index differs from the base's: the part of the effect that \
             goes through each channel (bars, with 95% intervals), what no channel explains \
             (other) and the total effect. Negative: the channel holds protection up."
                .into(),
        ),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    if let Some(metric) = stem.strip_prefix("fan_") {
        let m = names::metric(metric);
        if m.definition.is_empty() {
            return None;
        }
        return Some(format!(
            "{} ({}) year by year: {} Line: the median over replications; bands: the middle 50% \
             and 90% of replications (in a comparison, the middle 50% per scenario, the baseline \
             in black on top, and a dashed line at the year the proposals' changes begin).",
            m.name, m.unit, m.definition
        ));
    }
    if let Some(metric) = stem.strip_prefix("difference_") {
        let m = names::metric(metric);
        if m.definition.is_empty() {
            return None;
        }
        return Some(format!(
            "Paired difference of {} against the baseline year by year, for each scenario: the \
             scenario's value minus the baseline's in the same replication (the same crises and \
             elections), averaged over replications, with its 95% confidence interval. Above 0: \
             higher than under the baseline; a band that crosses 0 is an effect the replications \
             cannot tell from none.",
            m.name.to_lowercase()
        ));
    }
    if let Some(output) = stem.strip_prefix("sensitivity_") {
        let m = names::metric(output);
        if m.definition.is_empty() {
            return None;
        }
        return Some(format!(
            "How much of the variance of {} each parameter explains, over the ranges given: the \
             first-order index S1 (the parameter alone) and the total index ST (with its \
             interactions), with 95% bootstrap intervals. Both lie between 0 and 1, and S1 is at \
             most ST; an estimate outside that is noise from too small a sample.",
            m.name.to_lowercase()
        ));
    }
    None
}

/// The sections of a report, in reading order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Headline,
    Protection,
    Domains,
    Regions,
    Institutions,
    Channels,
    Pressure,
    Ratifications,
    Details,
}

const SECTIONS: [(Section, &str); 9] = [
    (Section::Headline, "Headline: the race-to-the-bottom index"),
    (
        Section::Protection,
        "Protection of migrants' rights overall",
    ),
    (Section::Domains, "Protection by domain"),
    (Section::Regions, "Protection by region"),
    (Section::Institutions, "Forums and treaties"),
    (Section::Channels, "Enforcement, legal channels and flows"),
    (Section::Pressure, "Domestic pressure"),
    (Section::Ratifications, "Ratifications"),
    (Section::Details, "Details"),
];

/// The section a metric's rows go into.
fn section_of(metric: &str) -> Section {
    let m = metric.trim_end_matches("_end").trim_end_matches("_start");
    if m.starts_with("rtb") {
        Section::Headline
    } else if m.starts_with("protection_region_") {
        Section::Regions
    } else if matches!(
        m,
        "protection_asylum" | "protection_labour" | "protection_trafficking"
    ) {
        Section::Domains
    } else if m.starts_with("protection_")
        || m.starts_with("dispersion_")
        || matches!(
            m,
            "share_below_floor" | "drift_per_decade" | "years_to_floor"
        )
    {
        Section::Protection
    } else if ["attendance_", "anchor_", "compliance_", "detected_"]
        .iter()
        .any(|p| m.starts_with(p))
    {
        Section::Institutions
    } else if m.starts_with("parties_") || m.starts_with("ratifications") {
        Section::Ratifications
    } else if m.starts_with("pressure") || m == "reputation_mean" {
        Section::Pressure
    } else if [
        "enforcement",
        "legal_channels",
        "irregular",
        "trafficking_exposure",
        "agreements_",
        "labour_under",
        "arrivals",
        "migrant_stock",
        "recognition",
        "refugee_stock",
    ]
    .iter()
    .any(|p| m.starts_with(p))
    {
        Section::Channels
    } else {
        Section::Details
    }
}

/// The section a chart goes into, from its file stem.
fn chart_section(stem: &str) -> Section {
    match stem {
        "rtb_distribution" => Section::Headline,
        "breadth_depth" => Section::Institutions,
        "protection_by_region" => Section::Regions,
        "fan_ratifications" => Section::Ratifications,
        _ => stem
            .strip_prefix("fan_")
            .or_else(|| stem.strip_prefix("difference_"))
            .map_or(Section::Details, section_of),
    }
}

/// The terms a page uses, defined at its end.
#[derive(Default)]
struct Terms {
    metrics: BTreeSet<String>,
    forums: BTreeSet<String>,
    treaties: BTreeSet<String>,
}

impl Terms {
    /// Notes a metric (and the forum or treaty it names).
    fn metric(&mut self, key: &str) {
        self.metrics.insert(key.to_string());
        for (prefix, forum) in [
            ("parties_high_income_", false),
            ("parties_", false),
            ("compliance_", false),
            ("detected_", false),
            ("attendance_", true),
            ("anchor_", true),
        ] {
            if let Some(id) = key.strip_prefix(prefix) {
                if forum {
                    self.forums.insert(id.to_string());
                } else {
                    self.treaties.insert(id.to_string());
                }
                break;
            }
        }
    }

    /// Notes the forums and treaties of a run's resolved parameters.
    fn institutions(&mut self, parameters: &serde_json::Value) {
        for (key, set) in [
            ("forums", &mut self.forums),
            ("treaties", &mut self.treaties),
        ] {
            match &parameters[key] {
                serde_json::Value::Object(m) => set.extend(m.keys().cloned()),
                serde_json::Value::Array(a) => set.extend(
                    a.iter()
                        .filter_map(|x| x["name"].as_str().map(str::to_string)),
                ),
                _ => {}
            }
        }
    }

    /// The definitions section: every metric, forum and treaty that appears.
    fn html(&self) -> String {
        let mut html = String::new();
        if !self.metrics.is_empty() {
            html.push_str("<h3 id=\"definitions\">Definitions</h3><dl>");
        }
        for key in &self.metrics {
            let m = names::metric(key);
            let _ = write!(
                html,
                "<dt>{} <code>{}</code></dt><dd>{}{}</dd>",
                escape(&m.name),
                escape(key),
                escape(&m.definition),
                if m.unit.is_empty() {
                    String::new()
                } else {
                    format!(" Unit: {}.", escape(&m.unit))
                }
            );
        }
        if !self.metrics.is_empty() {
            html.push_str("</dl>");
        }
        if !self.forums.is_empty() || !self.treaties.is_empty() {
            html.push_str("<h3 id=\"glossary\">Glossary of forums and treaties</h3><dl>");
            for (ids, short, full) in [
                (
                    &self.forums,
                    names::forum as fn(&str) -> String,
                    names::forum_full as fn(&str) -> String,
                ),
                (&self.treaties, names::treaty, names::treaty_full),
            ] {
                for id in ids {
                    let _ = write!(
                        html,
                        "<dt>{} <code>{}</code></dt><dd>{}</dd>",
                        escape(&short(id)),
                        escape(id),
                        escape(&full(id))
                    );
                }
            }
            html.push_str("</dl>");
        }
        html
    }
}

/// The PNG charts of `dir/charts` by file stem, sorted by stem.
fn charts(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let folder = dir.join("charts");
    let mut stems: Vec<String> = match std::fs::read_dir(&folder) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_string_lossy()
                    .strip_suffix(".png")
                    .map(str::to_string)
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    stems.sort();
    stems
        .into_iter()
        .map(|stem| {
            let path = folder.join(format!("{stem}.png"));
            let bytes = std::fs::read(&path).map_err(|source| Error::Read {
                file: path.clone(),
                source,
            })?;
            Ok((stem, bytes))
        })
        .collect()
}

/// One chart as a `<figure>` with its caption (a chart without one says so, and the tests
/// catch it).
fn figure(stem: &str, png: &[u8], terms: &mut Terms) -> String {
    if let Some(m) = stem
        .strip_prefix("fan_")
        .or_else(|| stem.strip_prefix("difference_"))
        .or_else(|| stem.strip_prefix("sweep_"))
        .or_else(|| stem.strip_prefix("sensitivity_"))
        .filter(|m| *m != "ratifications")
    {
        terms.metric(m);
    }
    if stem == "rtb_distribution" {
        terms.metric("rtb");
    }
    let text = match caption(stem) {
        Some(c) => format!("<figcaption>{}", escape(&c)),
        None => "<figcaption class=\"nocaption\">".to_string(),
    };
    format!(
        "<figure><img alt=\"{a}\" src=\"data:image/png;base64,{b}\">{text} <small>(charts/{s}.png and .svg)</small></figcaption></figure>\n",
        a = escape(&caption(stem).unwrap_or_else(|| stem.to_string())),
        b = base64(png),
        s = escape(stem)
    )
}

/// The figures of `charts` that go into `section`.
fn figures_of(charts: &[(String, Vec<u8>)], section: Section, terms: &mut Terms) -> String {
    // A level before its paired difference (fan_X before difference_X).
    let mut of: Vec<&(String, Vec<u8>)> = charts
        .iter()
        .filter(|(stem, _)| chart_section(stem) == section)
        .collect();
    of.sort_by_key(|(stem, _)| {
        let metric = stem.strip_prefix("difference_").unwrap_or(stem);
        let metric = metric.strip_prefix("fan_").unwrap_or(metric);
        (metric.to_string(), stem.starts_with("difference_"))
    });
    of.into_iter()
        .map(|(stem, png)| figure(stem, png, terms))
        .collect()
}

/// What the intervals cover, in words: replication noise only, or noise and the parameters of
/// a posterior (`posterior`: its manifest entry).
/// `spread` names the column of single replications' spread ("95% of replications"), `ci`
/// whether the page shows a 95% CI of the mean.
fn intervals_statement(
    posterior: Option<&serde_json::Value>,
    recorded: bool,
    spread: &str,
    ci: bool,
) -> String {
    let what = match posterior {
        Some(p) => format!(
            "<b>The intervals cover replication noise and parameter uncertainty.</b> Each \
             replication drew its parameter values from the posterior {} ({} parameter sets from \
             the calibration), so the spread across replications includes both chance events \
             (crises, elections) and what the calibration leaves open about the parameters.",
            escape(p["source"].as_str().unwrap_or("?")),
            p["parameter_sets"]
        ),
        None if recorded => "<b>The intervals cover replication noise only.</b> Every \
             replication ran the scenario's own parameter values, so the spread across \
             replications reflects chance events (crises, elections), not uncertainty about the \
             parameters themselves."
            .to_string(),
        None => "<b>What the intervals cover was not recorded</b> in this folder's manifest \
             (written by an older forumsim): rerun to know whether the parameters were drawn \
             from a posterior."
            .to_string(),
    };
    let ci = if ci {
        "The <i>95% CI</i> says how precisely the replications pin down the mean (it narrows \
         with more replications); "
    } else {
        ""
    };
    format!(
        "<p class=\"note\">{what} {ci}<i>{spread}</i> is the spread of single replications (it \
         does not narrow with more of them).</p>"
    )
}

fn sign_line() -> String {
    format!("<p class=\"sign\">{}</p>", escape(RTB_SIGN))
}

fn manifest_table(m: &serde_json::Value) -> String {
    let mut html = String::from("<table>");
    for key in [
        "program",
        "version",
        "command_line",
        "scenario",
        "scenario_source",
        "scenario_hash",
        "master_seed",
        "replications",
        "threads",
        "wall_seconds",
        "years",
        "seed_derivation",
    ] {
        if let Some(v) = m.get(key) {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(" "),
                other => other.to_string(),
            };
            let _ = write!(html, "<tr><th>{key}</th><td>{}</td></tr>", escape(&text));
        }
    }
    html.push_str("</table>");
    html
}

fn parameters_block(params: &serde_json::Value) -> String {
    format!(
        "<details><summary>Every resolved parameter (manifest.json)</summary><pre>{}</pre></details>",
        escape(&serde_json::to_string_pretty(params).unwrap_or_default())
    )
}

/// A metric's name for a table row, noted for the definitions.
fn metric_cell(key: &str, terms: &mut Terms) -> String {
    terms.metric(key);
    let m = names::metric(key);
    format!("<td><a href=\"#definitions\">{}</a></td>", escape(&m.name))
}

/// The rows of a run's summary table for `section`: per metric of `summary.csv` its first and
/// last year, and per column of `replications.csv` its mean over replications.
fn run_rows(run: &RunData, section: Section, terms: &mut Terms) -> String {
    let mut html = String::new();
    let mut scratch = Vec::new();
    // The metrics drawn as fan charts first, in their order (mean protection before its
    // spread), then the rest by name.
    let mut metrics: Vec<(&String, &Vec<super::data::Band>)> = run
        .summary
        .iter()
        .filter(|(m, _)| section_of(m) == section)
        .collect();
    metrics.sort_by_key(|(m, _)| {
        super::FAN_METRICS
            .iter()
            .position(|f| *f == m.as_str())
            .unwrap_or(usize::MAX)
    });
    for (metric, bands) in metrics {
        let (Some(a), Some(b)) = (
            bands.iter().find(|b| b.mean.is_finite()),
            bands.iter().rev().find(|b| b.mean.is_finite()),
        ) else {
            continue;
        };
        let _ = write!(
            html,
            "<tr>{}<td class=n>{:.0}: {}</td><td class=n>{:.0}: {}</td><td class=n>{}</td></tr>",
            metric_cell(metric, terms),
            a.year,
            number(a.mean),
            b.year,
            number(b.mean),
            interval(b.ci_low, b.ci_high)
        );
    }
    // The replication-level figures the yearly table does not already hold (not a first or
    // last year of a yearly metric), and the sum of the treaties' parties at the end.
    let mut columns: Vec<(&str, std::borrow::Cow<[f64]>)> = run
        .replications
        .iter()
        .filter(|(c, _)| {
            !run.summary.contains_key(*c)
                && !c.ends_with("_start")
                && !c.ends_with("_end")
                && !names::metric(c).definition.is_empty()
        })
        .map(|(c, v)| (c.as_str(), std::borrow::Cow::Borrowed(v.as_slice())))
        .collect();
    let parties: Vec<&Vec<f64>> = run
        .replications
        .iter()
        .filter(|(c, _)| c.starts_with("parties_") && !c.starts_with("parties_high_income_"))
        .map(|(_, v)| v)
        .collect();
    if !parties.is_empty() && !run.replications.contains_key("ratifications_total") {
        let total = (0..parties[0].len())
            .map(|r| parties.iter().map(|p| p[r]).sum())
            .collect();
        columns.push(("ratifications_total", std::borrow::Cow::Owned(total)));
    }
    for (column, values) in &columns {
        if section_of(column) != section {
            continue;
        }
        let Some(s) = summarize(values, &mut scratch) else {
            continue;
        };
        let _ = write!(
            html,
            "<tr>{}<td></td><td class=n>{}</td><td class=n>{}</td></tr>",
            metric_cell(column, terms),
            number(s.mean),
            interval(s.ci_low, s.ci_high)
        );
    }
    if html.is_empty() {
        return html;
    }
    format!(
        "<table><tr><th>measure</th><th>first year: mean</th><th>last year (or whole run): mean</th><th>95% CI</th></tr>{html}</table>"
    )
}

fn run_body(run: &RunData) -> Result<String> {
    let m = &run.manifest;
    let params = &m["parameters"];
    let mut terms = Terms::default();
    terms.institutions(params);
    let charts = charts(&run.dir)?;
    let mut html = String::new();
    let _ = write!(
        html,
        "<h1>forumsim: {}</h1><p>{}</p>",
        escape(&names::scenario(&run.scenario)),
        escape(params["description"].as_str().unwrap_or(""))
    );
    if let Some(p) = params["passage"].as_str().filter(|p| !p.trim().is_empty()) {
        let _ = write!(html, "<p><b>Seed passage.</b> {}</p>", escape(p.trim()));
    }
    let years = m["years"]
        .as_array()
        .map(|y| {
            y.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join("–")
        })
        .unwrap_or_default();
    let _ = write!(
        html,
        "<h2 id=\"headline\">{}</h2><p>{} replications, {}, master seed {}.</p>",
        SECTIONS[0].1,
        m["replications"],
        escape(&years),
        m["master_seed"]
    );
    html.push_str(&sign_line());
    let mut scratch = Vec::new();
    html.push_str(
        "<table><tr><th>measure</th><th>mean</th><th>95% CI</th><th>95% of replications</th></tr>",
    );
    for key in ["rtb", "rtb_migrant_weighted"] {
        let values = run.replications.get(key).map(Vec::as_slice).unwrap_or(&[]);
        if let Some(s) = summarize(values, &mut scratch) {
            let mut sorted: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
            sorted.sort_by(f64::total_cmp);
            let _ = write!(
                html,
                "<tr>{}<td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                metric_cell(key, &mut terms),
                number(s.mean),
                interval(s.ci_low, s.ci_high),
                interval(
                    crate::stats::quantile_sorted(&sorted, 0.025),
                    crate::stats::quantile_sorted(&sorted, 0.975)
                )
            );
        }
    }
    html.push_str("</table>");
    let intervals = &m["intervals"];
    html.push_str(&intervals_statement(
        intervals.get("posterior").filter(|p| !p.is_null()),
        intervals.is_object(),
        "95% of replications",
        true,
    ));
    html.push_str(&figures_of(&charts, Section::Headline, &mut terms));
    for (section, title) in &SECTIONS[1..8] {
        let rows = run_rows(run, *section, &mut terms);
        let figures = figures_of(&charts, *section, &mut terms);
        if rows.is_empty() && figures.is_empty() {
            continue;
        }
        let _ = write!(html, "<h2>{title}</h2>{rows}{figures}");
    }
    let _ = write!(html, "<h2>{}</h2>", SECTIONS[8].1);
    html.push_str(&run_rows(run, Section::Details, &mut terms));
    html.push_str(&figures_of(&charts, Section::Details, &mut terms));
    html.push_str(&terms.html());
    html.push_str("<h3>Run</h3>");
    html.push_str(&manifest_table(m));
    html.push_str(&parameters_block(params));
    Ok(html)
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        escape(title)
    )
}

fn write_page(dir: &Path, title: &str, body: &str) -> Result<()> {
    let path = dir.join("report.html");
    std::fs::write(&path, page(title, body)).map_err(write_err(&path))
}

/// Writes `report.html` in the folder of a run read back.
pub fn run_report(run: &RunData) -> Result<()> {
    write_page(
        &run.dir,
        &format!("forumsim: {}", names::scenario(&run.scenario)),
        &run_body(run)?,
    )
}

/// The cells of a paired effect: the difference, its 95% CI, 95% of replications, P(lower).
fn effect_cells(r: &ComparisonRow) -> String {
    format!(
        "<td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td>",
        number(r.difference),
        interval(r.ci_low, r.ci_high),
        interval(r.spread_low, r.spread_high),
        probability(r.p_lower)
    )
}

/// The comparison table of `rows` (one section's rows).
fn comparison_table(rows: &[&ComparisonRow], terms: &mut Terms) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut html = String::from(
        "<table><tr><th>measure</th><th>scenario</th><th>baseline</th><th>scenario</th>\
         <th>difference</th><th>95% CI</th><th>95% of replications</th><th>P(lower)</th></tr>",
    );
    for r in rows {
        let _ = write!(
            html,
            "<tr>{}<td>{}</td><td class=n>{}</td><td class=n>{}</td>{}</tr>",
            metric_cell(&r.metric, terms),
            escape(&names::scenario(&r.scenario)),
            number(r.baseline_mean),
            number(r.scenario_mean),
            effect_cells(r)
        );
    }
    html.push_str("</table>");
    html
}

/// Writes `dir/report.html` for a comparison folder read back as `data`, and a report in each
/// scenario's folder (in parallel: each report is its own file).
/// The probability of each rank among the proposals (`ranks.csv`), one row per proposal in the
/// file's order, one column per rank; empty without ranks.
fn ranks_table(ranks: &[(String, usize, f64)]) -> String {
    let k = ranks.iter().map(|r| r.1).max().unwrap_or(0);
    if k < 2 {
        return String::new();
    }
    let mut html = String::from(
        "<h3>Ranking among the proposals</h3><p class=\"note\">The share of replications in \
         which each proposal has each rank by its RTB index (1: the lowest, the best at holding \
         protection up); the same replications for every proposal.</p><table><tr><th>scenario</th>",
    );
    for rank in 1..=k {
        let _ = write!(html, "<th>rank {rank}</th>");
    }
    html.push_str("</tr>");
    let mut scenarios: Vec<&str> = Vec::new();
    for (s, _, _) in ranks {
        if !scenarios.contains(&s.as_str()) {
            scenarios.push(s);
        }
    }
    for s in scenarios {
        let _ = write!(html, "<tr><td>{}</td>", escape(&names::scenario(s)));
        for rank in 1..=k {
            let p = ranks
                .iter()
                .find(|r| r.0 == s && r.1 == rank)
                .map_or(0.0, |r| r.2);
            let _ = write!(html, "<td class=n>{}</td>", probability(p));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    html
}

pub fn comparison_report(dir: &Path, data: &ComparisonData) -> Result<()> {
    data.runs.par_iter().try_for_each(run_report)?;
    let baseline = data
        .runs
        .first()
        .map(|r| names::scenario(&r.scenario))
        .unwrap_or_default();
    let mut terms = Terms::default();
    for r in &data.runs {
        terms.institutions(&r.manifest["parameters"]);
    }
    let charts = charts(dir)?;
    let mut html = String::new();
    let _ = write!(
        html,
        "<h1>forumsim: comparison against {}</h1><p>Each scenario is compared with the baseline, \
         {}, replication by replication: the same master seed gives both the same crises and \
         elections, so a difference is the scenario's effect, not luck.</p>",
        escape(&baseline),
        escape(&baseline)
    );
    let _ = write!(html, "<h2 id=\"headline\">{}</h2>", SECTIONS[0].1);
    html.push_str(&sign_line());
    html.push_str(
        "<table><tr><th>scenario</th><th>RTB index (mean)</th><th>difference from the baseline</th>\
         <th>95% CI</th><th>95% of replications</th><th>P(lower than the baseline)</th></tr>",
    );
    terms.metric("rtb");
    let rtb: Vec<&ComparisonRow> = data.rows.iter().filter(|r| r.metric == "rtb").collect();
    if let Some(first) = rtb.first() {
        let _ = write!(
            html,
            "<tr><td>{} (baseline)</td><td class=n>{}</td><td></td><td></td><td></td><td></td></tr>",
            escape(&baseline),
            number(first.baseline_mean)
        );
    }
    for r in &rtb {
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=n>{}</td>{}</tr>",
            escape(&names::scenario(&r.scenario)),
            number(r.scenario_mean),
            effect_cells(r)
        );
    }
    html.push_str("</table>");
    let intervals = &data.manifest["intervals"];
    html.push_str(&intervals_statement(
        intervals.get("posterior").filter(|p| !p.is_null()),
        intervals.get("spread_covers").is_some_and(|c| !c.is_null()),
        "95% of replications",
        true,
    ));
    html.push_str(
        "<p class=\"note\"><i>Difference</i>: the scenario's value minus the baseline's, averaged \
         over the pairs of replications. <i>P(lower)</i>: the share of replications in which the \
         scenario's value is below the baseline's.</p>",
    );
    html.push_str(&ranks_table(&data.ranks));
    let others: Vec<&ComparisonRow> = data
        .rows
        .iter()
        .filter(|r| r.metric != "rtb" && section_of(&r.metric) == Section::Headline)
        .collect();
    html.push_str(&comparison_table(&others, &mut terms));
    html.push_str(&figures_of(&charts, Section::Headline, &mut terms));
    for (section, title) in &SECTIONS[1..8] {
        let rows: Vec<&ComparisonRow> = data
            .rows
            .iter()
            .filter(|r| section_of(&r.metric) == *section)
            .collect();
        let table = comparison_table(&rows, &mut terms);
        let figures = figures_of(&charts, *section, &mut terms);
        if table.is_empty() && figures.is_empty() {
            continue;
        }
        let _ = write!(html, "<h2>{title}</h2>{table}{figures}");
    }
    let _ = write!(html, "<h2>{}</h2>", SECTIONS[8].1);
    let rest: Vec<&ComparisonRow> = data
        .rows
        .iter()
        .filter(|r| section_of(&r.metric) == Section::Details)
        .collect();
    html.push_str(&comparison_table(&rest, &mut terms));
    html.push_str(&figures_of(&charts, Section::Details, &mut terms));
    html.push_str(&terms.html());
    html.push_str("<h3>Scenarios</h3><table><tr><th>scenario</th><th>description</th><th>folder and its report</th><th>hash</th></tr>");
    for s in data.manifest["scenarios"].as_array().into_iter().flatten() {
        let folder = s["folder"].as_str().unwrap_or("");
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td><a href=\"{}/report.html\">{}</a></td><td>{}</td></tr>",
            escape(&names::scenario(s["name"].as_str().unwrap_or(folder))),
            escape(s["description"].as_str().unwrap_or("")),
            escape(folder),
            escape(folder),
            escape(s["scenario_hash"].as_str().unwrap_or(""))
        );
    }
    let _ = write!(
        html,
        "</table><p>Master seed {}, {} replications per scenario.</p>",
        data.manifest["master_seed"], data.manifest["replications"]
    );
    write_page(
        dir,
        &format!("forumsim: comparison against {baseline}"),
        &html,
    )
}

/// The figures of a folder whose charts all belong to one page (a sweep, a sensitivity analysis,
/// a calibration), under one heading.
fn all_figures(dir: &Path, terms: &mut Terms) -> Result<String> {
    let charts = charts(dir)?;
    if charts.is_empty() {
        return Ok(String::new());
    }
    let mut html = String::from("<h2>Charts</h2>");
    // The RTB index first: the headline figure.
    let mut charts = charts;
    charts.sort_by_key(|(stem, _)| (!stem.contains("rtb"), stem.clone()));
    for (stem, png) in &charts {
        html.push_str(&figure(stem, png, terms));
    }
    Ok(html)
}

/// The scenario a folder's manifest names, in words.
fn scenario_of(m: &serde_json::Value) -> String {
    names::scenario(m["scenario"].as_str().unwrap_or("scenario"))
}

/// The end of a page of a sweep, sensitivity analysis or calibration: definitions and the run.
fn page_end(html: &mut String, m: &serde_json::Value, terms: &Terms) {
    let _ = write!(html, "<h2>{}</h2>", SECTIONS[8].1);
    html.push_str(&terms.html());
    html.push_str("<h3>Run</h3>");
    html.push_str(&manifest_table(m));
    if !m["parameters"].is_null() {
        html.push_str(&parameters_block(&m["parameters"]));
    }
}

/// Writes `dir/report.html` for a sweep folder (`sweep.csv`, and `sweep_paired.csv` when it has
/// one): what was swept, a row per point with the RTB index and final protection, the paired
/// differences against point 0, and the charts.
pub fn sweep_report(dir: &Path) -> Result<()> {
    let m = super::data::manifest(dir)?;
    let table = super::data::Table::read(&dir.join("sweep.csv"))?;
    let paired = dir.join("sweep_paired.csv");
    let paired = if paired.exists() {
        Some(super::data::Table::read(&paired)?)
    } else {
        None
    };
    let keys: Vec<String> = table
        .header
        .iter()
        .skip(1)
        .take_while(|h| !h.starts_with("rtb_"))
        .cloned()
        .collect();
    let mut terms = Terms::default();
    terms.institutions(&m["parameters"]);
    let name = scenario_of(&m);
    let mut html = String::new();
    let _ = write!(
        html,
        "<h1>forumsim: sweep of {}</h1><p>The scenario run at every point of a design ({}) over \
         {}: {} points, {} replications each. Every point runs the same replications (the same \
         crises and elections), so two points differ by the swept values, not by luck.</p>",
        escape(&name),
        escape(m["design"].as_str().unwrap_or("")),
        keys.iter()
            .map(|k| escape(&crate::names::parameter(k)))
            .collect::<Vec<_>>()
            .join(" and "),
        table.rows.len(),
        m["replications_per_point"]
    );
    let _ = write!(html, "<h2 id=\"headline\">{}</h2>", SECTIONS[0].1);
    html.push_str(&sign_line());
    let intervals = &m["intervals"];
    html.push_str(&intervals_statement(
        intervals.get("posterior").filter(|p| !p.is_null()),
        intervals.is_object(),
        "90% of replications",
        true,
    ));
    terms.metric("rtb");
    terms.metric("protection_mean_end");
    html.push_str("<table><tr><th>point</th>");
    for k in &keys {
        let _ = write!(html, "<th>{}</th>", escape(&crate::names::parameter(k)));
    }
    html.push_str("<th>RTB index: mean</th><th>95% CI</th><th>90% of replications</th>");
    if paired.is_some() {
        html.push_str("<th>RTB difference from point 0</th><th>95% CI</th>");
    }
    html.push_str("<th>mean protection at the end</th><th>95% CI</th></tr>");
    for row in &table.rows {
        let point = table.text(row, "point");
        let _ = write!(html, "<tr><td class=n>{}</td>", escape(point));
        for k in &keys {
            let _ = write!(html, "<td class=n>{}</td>", number(table.number(row, k)));
        }
        let g = |c: &str| table.number(row, c);
        let _ = write!(
            html,
            "<td class=n>{}</td><td class=n>{}</td><td class=n>{}</td>",
            number(g("rtb_mean")),
            interval(g("rtb_ci95_low"), g("rtb_ci95_high")),
            interval(g("rtb_q05"), g("rtb_q95"))
        );
        if let Some(p) = &paired {
            let d = p
                .rows
                .iter()
                .find(|r| p.text(r, "point") == point && p.text(r, "metric") == "rtb");
            match d {
                Some(d) if point != "0" => {
                    let _ = write!(
                        html,
                        "<td class=n>{}</td><td class=n>{}</td>",
                        number(p.number(d, "difference")),
                        interval(p.number(d, "ci95_low"), p.number(d, "ci95_high"))
                    );
                }
                _ => html.push_str("<td>baseline point</td><td></td>"),
            }
        }
        let _ = write!(
            html,
            "<td class=n>{}</td><td class=n>{}</td></tr>",
            number(g("protection_mean_end_mean")),
            interval(
                g("protection_mean_end_ci95_low"),
                g("protection_mean_end_ci95_high")
            )
        );
    }
    html.push_str("</table>");
    html.push_str(&all_figures(dir, &mut terms)?);
    page_end(&mut html, &m, &terms);
    write_page(dir, &format!("forumsim: sweep of {name}"), &html)
}

/// Writes `dir/report.html` for a sensitivity folder (`sensitivity.csv`): per output the indices
/// of each parameter, the warnings of the manifest (too small a sample, outputs dropped as
/// repeating another) and the charts.
pub fn sensitivity_report(dir: &Path) -> Result<()> {
    let m = super::data::manifest(dir)?;
    let table = super::data::Table::read(&dir.join("sensitivity.csv"))?;
    let mut terms = Terms::default();
    let name = scenario_of(&m);
    let sobol = table
        .rows
        .first()
        .is_none_or(|r| table.text(r, "method") == "sobol");
    let mut html = String::new();
    let _ = write!(
        html,
        "<h1>forumsim: sensitivity of {}</h1><p>Which parameters the results depend on, each \
         varied over the range given: {} model runs of {} replications each (every run the same \
         replications), seed {}. Method: {}.</p>",
        escape(&name),
        m["design_points"],
        m["replications_per_point"],
        m["master_seed"],
        escape(m["method"].as_str().unwrap_or(""))
    );
    html.push_str(if sobol {
        "<p class=\"note\"><b>S1</b> (first-order index): the share of the output's variance that \
         the parameter explains alone. <b>ST</b> (total index): the share it explains with its \
         interactions with the others. Both lie between 0 and 1 and S1 ≤ ST; a parameter with ST \
         near 0 does not matter over its range. Intervals: 95% bootstrap intervals of the \
         estimates.</p>"
    } else {
        "<p class=\"note\"><b>μ*</b>: the mean absolute effect of moving the parameter across its \
         range, in the output's unit (larger: more influential); <b>σ</b>: how much that effect \
         varies with the other parameters (interactions or non-linearity); <b>μ</b>: the mean \
         signed effect.</p>"
    });
    let warnings: Vec<&str> = m["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w.as_str())
        .collect();
    for w in &warnings {
        let _ = write!(html, "<p class=\"warn\"><b>Warning.</b> {}</p>", escape(w));
    }
    let mut outputs: Vec<&str> = Vec::new();
    for r in &table.rows {
        let o = table.text(r, "output");
        if !outputs.contains(&o) {
            outputs.push(o);
        }
    }
    for (k, output) in outputs.into_iter().enumerate() {
        let m = names::metric(output);
        if k == 0 {
            let _ = write!(
                html,
                "<h2 id=\"headline\">Headline: what {} depends on</h2>",
                escape(&m.name.to_lowercase())
            );
        } else {
            let _ = write!(html, "<h2>{}</h2>", escape(&m.name));
        }
        if output.starts_with("rtb") {
            html.push_str(&sign_line());
        }
        terms.metric(output);
        let mut rows: Vec<&Vec<String>> = table
            .rows
            .iter()
            .filter(|r| table.text(r, "output") == output)
            .collect();
        let score = |r: &Vec<String>| {
            let t = table.number(r, "total");
            if t.is_finite() {
                t
            } else {
                table.number(r, "morris_mu_star")
            }
        };
        rows.sort_by(|a, b| score(b).total_cmp(&score(a)));
        html.push_str("<table><tr><th>parameter</th><th>range</th>");
        html.push_str(if sobol {
            "<th>S1</th><th>95% interval</th><th>ST</th><th>95% interval</th></tr>"
        } else {
            "<th>μ*</th><th>σ</th><th>μ</th></tr>"
        });
        for r in rows {
            let n = |c: &str| table.number(r, c);
            let _ = write!(
                html,
                "<tr><td>{}</td><td class=n>{}</td>",
                escape(&crate::names::parameter(table.text(r, "parameter"))),
                interval(n("low"), n("high"))
            );
            if sobol {
                let _ = write!(
                    html,
                    "<td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                    number(n("first_order")),
                    interval(n("first_order_ci95_low"), n("first_order_ci95_high")),
                    number(n("total")),
                    interval(n("total_ci95_low"), n("total_ci95_high"))
                );
            } else {
                let _ = write!(
                    html,
                    "<td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                    number(n("morris_mu_star")),
                    number(n("morris_sigma")),
                    number(n("morris_mu"))
                );
            }
        }
        html.push_str("</table>");
    }
    html.push_str(&all_figures(dir, &mut terms)?);
    page_end(&mut html, &m, &terms);
    write_page(dir, &format!("forumsim: sensitivity of {name}"), &html)
}

/// Writes `dir/report.html` for a calibration folder (`calibration.csv`; with
/// `posterior_summary.csv`, the posterior of `calibrate --posterior`): each target against the
/// model, whether it is met, the posterior and the charts.
pub fn calibration_report(dir: &Path) -> Result<()> {
    let m = super::data::manifest(dir)?;
    let table = super::data::Table::read(&dir.join("calibration.csv"))?;
    let summary = dir.join("posterior_summary.csv");
    let posterior = if summary.exists() {
        Some(super::data::Table::read(&summary)?)
    } else {
        None
    };
    let mut terms = Terms::default();
    let name = scenario_of(&m);
    let met = table
        .rows
        .iter()
        .filter(|r| table.text(r, "within_tolerance") == "true")
        .count();
    let title = if posterior.is_some() {
        format!("posterior of {name}")
    } else {
        format!("calibration of {name}")
    };
    let mut html = String::new();
    let _ = write!(
        html,
        "<h1>forumsim: {}</h1><p>The model's values for the years of the record ({}) against what \
         was observed. A target is met when the model's mean lies within its tolerance.</p>",
        escape(&title),
        escape(
            &m["years"]
                .as_array()
                .map(|y| y
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join("–"))
                .unwrap_or_default()
        )
    );
    let _ = write!(
        html,
        "<h2 id=\"headline\">Headline: {met} of {} targets met</h2>",
        table.rows.len()
    );
    let over = if posterior.is_some() {
        Some(serde_json::json!({"source": "of this calibration", "parameter_sets": m["particles"]}))
    } else {
        m["posterior"].as_object().map(|_| m["posterior"].clone())
    };
    html.push_str(&intervals_statement(
        over.as_ref(),
        posterior.is_some() || m.get("posterior").is_some(),
        "90% of replications",
        false,
    ));
    html.push_str(
        "<table><tr><th>target</th><th>year</th><th>observed</th><th>model: mean</th>\
         <th>90% of replications</th><th>tolerance</th><th>met</th><th>source</th></tr>",
    );
    for r in &table.rows {
        let n = |c: &str| table.number(r, c);
        let within = table.text(r, "within_tolerance") == "true";
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td><td>{}</td></tr>",
            escape(table.text(r, "target")),
            escape(table.text(r, "year")),
            number(n("observed")),
            number(n("model_mean")),
            interval(n("model_q05"), n("model_q95")),
            interval(n("tolerance_low"), n("tolerance_high")),
            if within { "yes" } else { "<b>no</b>" },
            escape(table.text(r, "source"))
        );
    }
    html.push_str("</table>");
    if let Some(p) = &posterior {
        html.push_str(
            "<h2>Posterior of the parameters</h2><table><tr><th>parameter</th><th>prior range</th>\
             <th>default</th><th>median</th><th>90% interval</th></tr>",
        );
        for r in &p.rows {
            let n = |c: &str| p.number(r, c);
            let _ = write!(
                html,
                "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                escape(&crate::names::parameter(p.text(r, "parameter"))),
                interval(n("prior_low"), n("prior_high")),
                number(n("default")),
                number(n("median")),
                interval(n("q05"), n("q95"))
            );
        }
        html.push_str("</table>");
    }
    html.push_str(&all_figures(dir, &mut terms)?);
    page_end(&mut html, &m, &terms);
    write_page(dir, &format!("forumsim: {title}"), &html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn ranks_table_has_a_column_per_rank_and_a_row_per_proposal() {
        let ranks = vec![
            ("un_platform".to_string(), 1, 0.25),
            ("un_platform".to_string(), 2, 0.75),
            ("firewalls".to_string(), 1, 0.75),
            ("firewalls".to_string(), 2, 0.25),
        ];
        let html = ranks_table(&ranks);
        assert!(
            html.contains("<th>rank 1</th><th>rank 2</th></tr>"),
            "{html}"
        );
        assert!(
            html.contains("rights</td><td class=n>0.25</td><td class=n>0.75</td></tr>"),
            "{html}"
        );
        assert!(
            html.contains("enforcement</td><td class=n>0.75</td><td class=n>0.25</td></tr>"),
            "{html}"
        );
        assert!(html.find("UN platform").unwrap() < html.find("Firewalls").unwrap());
        assert_eq!(ranks_table(&ranks[..1]), "", "one rank: no ranking to show");
    }

    #[test]
    fn escape_html() {
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn numbers_read_with_three_significant_digits() {
        for (x, text) in [
            (0.034912345, "0.0349"),
            (-0.0056612, "−0.00566"),
            (0.0999996, "0.100"),
            (153.27, "153"),
            (45.349, "45.3"),
            (1.0, "1.00"),
            (0.0, "0"),
            (123456.7, "123457"),
            (0.00001234, "0.0000123"),
            (1.234e-7, "1.23e−7"),
        ] {
            assert_eq!(number(x), text, "{x}");
        }
        assert_eq!(number(f64::NAN), "");
        assert_eq!(interval(0.01234, 0.05678), "[0.0123, 0.0568]");
    }

    #[test]
    fn every_chart_a_command_draws_has_a_caption() {
        let mut stems: Vec<String> = super::super::FAN_METRICS
            .iter()
            .map(|m| format!("fan_{m}"))
            .collect();
        stems.extend(
            [
                "fan_ratifications",
                "rtb_distribution",
                "breadth_depth",
                "protection_by_region",
                "sweep_rtb",
                "sweep_protection_mean_end",
                "posterior_marginals",
                "posterior_check",
                "explain",
            ]
            .map(String::from),
        );
        for m in crate::experiment::observe::CORE_METRICS {
            stems.push(format!("difference_{m}"));
        }
        for o in crate::experiment::sensitivity::OUTPUTS {
            stems.push(format!("sensitivity_{o}"));
        }
        for stem in &stems {
            assert!(caption(stem).is_some(), "{stem} has no caption");
        }
        assert!(caption("fan_no_such_metric").is_none());
        assert!(caption("something_else").is_none());
    }

    #[test]
    fn sections_follow_the_reading_order() {
        assert_eq!(section_of("rtb_migrant_weighted"), Section::Headline);
        assert_eq!(section_of("protection_mean_end"), Section::Protection);
        assert_eq!(section_of("protection_labour_end"), Section::Domains);
        assert_eq!(
            section_of("protection_region_western_asia"),
            Section::Regions
        );
        assert_eq!(section_of("attendance_GFMD"), Section::Institutions);
        assert_eq!(section_of("enforcement_mean"), Section::Channels);
        assert_eq!(section_of("pressure_end"), Section::Pressure);
        assert_eq!(section_of("ratifications_total"), Section::Ratifications);
        assert_eq!(section_of("parties_ICRMW"), Section::Ratifications);
        assert_eq!(chart_section("difference_rtb"), Section::Headline);
        assert_eq!(chart_section("fan_pressure_mean"), Section::Pressure);
    }
}
