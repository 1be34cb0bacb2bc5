//! `report.html`: one self-contained page per result folder (charts inlined as data URIs, no
//! scripts, no network) with the scenario, the manifest, the summary table, the comparison table
//! when there is one, and the charts.

use std::fmt::Write as _;
use std::path::Path;

use rayon::prelude::*;

use super::FAN_METRICS;
use super::data::{ComparisonData, RunData};
use crate::error::{Error, Result};
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

const STYLE: &str = "body{font-family:sans-serif;max-width:1040px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}\
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}\
figure{margin:1.5em 0}img{max-width:100%;border:1px solid #eee}figcaption{color:#555;font-size:13px}\
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:12px}";

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        path: path.to_path_buf(),
        source,
    }
}

fn fmt(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        String::new()
    }
}

/// The PNG charts of `dir/charts`, as `<figure>` elements, sorted by file name.
fn figures(dir: &Path) -> Result<String> {
    let charts = dir.join("charts");
    let mut names: Vec<String> = match std::fs::read_dir(&charts) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".png"))
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    let mut html = String::new();
    for name in names {
        let path = charts.join(&name);
        let bytes = std::fs::read(&path).map_err(|source| Error::Read {
            file: path.clone(),
            source,
        })?;
        let _ = writeln!(
            html,
            "<figure><img alt=\"{n}\" src=\"data:image/png;base64,{b}\"><figcaption>charts/{n} (and .svg)</figcaption></figure>",
            n = escape(&name),
            b = base64(&bytes)
        );
    }
    Ok(html)
}

fn manifest_table(m: &serde_json::Value) -> String {
    let mut html = String::from("<table>");
    for key in [
        "program",
        "version",
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
                other => other.to_string(),
            };
            let _ = write!(html, "<tr><th>{key}</th><td>{}</td></tr>", escape(&text));
        }
    }
    html.push_str("</table>");
    html
}

fn run_body(run: &RunData) -> Result<String> {
    let m = &run.manifest;
    let params = &m["parameters"];
    let mut html = String::new();
    let _ = write!(
        html,
        "<h1>forumsim: {}</h1><p>{}</p>",
        escape(&run.scenario),
        escape(params["description"].as_str().unwrap_or(""))
    );
    if let Some(p) = params["passage"].as_str().filter(|p| !p.trim().is_empty()) {
        let _ = write!(html, "<p><b>Seed passage.</b> {}</p>", escape(p.trim()));
    }
    html.push_str("<h2>Run</h2>");
    html.push_str(&manifest_table(m));
    html.push_str("<h2>Summary</h2><table><tr><th>metric</th><th>first year: mean [95% CI]</th><th>last year: mean [95% CI]</th></tr>");
    let mut scratch = Vec::new();
    if let Some(s) = summarize(
        run.replications
            .get("rtb")
            .map(Vec::as_slice)
            .unwrap_or(&[]),
        &mut scratch,
    ) {
        let _ = write!(
            html,
            "<tr><td>RTB index (whole run)</td><td></td><td class=n>{} [{}, {}]</td></tr>",
            fmt(s.mean),
            fmt(s.ci_low),
            fmt(s.ci_high)
        );
    }
    for (metric, title, _) in FAN_METRICS {
        let Some(bands) = run.summary.get(metric) else {
            continue;
        };
        let (Some(a), Some(b)) = (bands.first(), bands.last()) else {
            continue;
        };
        let _ = write!(
            html,
            "<tr><td>{} ({})</td><td class=n>{:.0}: {} [{}, {}]</td><td class=n>{:.0}: {} [{}, {}]</td></tr>",
            escape(title),
            metric,
            a.year,
            fmt(a.mean),
            fmt(a.ci_low),
            fmt(a.ci_high),
            b.year,
            fmt(b.mean),
            fmt(b.ci_low),
            fmt(b.ci_high)
        );
    }
    html.push_str("</table><h2>Charts</h2>");
    html.push_str(&figures(&run.dir)?);
    let _ = write!(
        html,
        "<h2>Parameters</h2><details><summary>every resolved parameter (manifest.json)</summary><pre>{}</pre></details>",
        escape(&serde_json::to_string_pretty(params).unwrap_or_default())
    );
    Ok(html)
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        escape(title)
    )
}

/// Writes `report.html` in the folder of a run read back.
pub fn run_report(run: &RunData) -> Result<()> {
    let html = page(&format!("forumsim: {}", run.scenario), &run_body(run)?);
    let path = run.dir.join("report.html");
    std::fs::write(&path, html).map_err(write_err(&path))
}

/// Writes `dir/report.html` for a comparison folder read back as `data`, and a report in each
/// scenario's folder (in parallel: each report is its own file).
pub fn comparison_report(dir: &Path, data: &ComparisonData) -> Result<()> {
    data.runs.par_iter().try_for_each(run_report)?;
    let baseline = data
        .runs
        .first()
        .map(|r| r.name.clone())
        .unwrap_or_default();
    let mut html = String::new();
    let _ = write!(
        html,
        "<h1>forumsim: comparison against {}</h1><p>{}</p>",
        escape(&baseline),
        escape(data.manifest["comparison"].as_str().unwrap_or(""))
    );
    html.push_str("<h2>Scenarios</h2><table><tr><th>scenario</th><th>description</th><th>hash</th><th>report</th></tr>");
    for s in data.manifest["scenarios"].as_array().into_iter().flatten() {
        let folder = s["folder"].as_str().unwrap_or("");
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><a href=\"{}/report.html\">{}</a></td></tr>",
            escape(folder),
            escape(s["description"].as_str().unwrap_or("")),
            escape(s["scenario_hash"].as_str().unwrap_or("")),
            escape(folder),
            escape(folder)
        );
    }
    html.push_str("</table>");
    let _ = write!(
        html,
        "<p>Master seed {}, {} replications per scenario; the same crises and elections in each replication.</p>",
        data.manifest["master_seed"], data.manifest["replications"]
    );
    let covers = data.manifest["intervals"]["spread_covers"]
        .as_str()
        .unwrap_or("replication noise");
    let _ = write!(
        html,
        "<h2>Paired differences against the baseline</h2><p>Two intervals, which say different things. \
         <b>95% CI</b>: how precisely the replications pin down the average effect (the confidence \
         interval of the mean paired difference). <b>95% of replications</b> and <b>P(lower)</b>: the \
         spread of single replications' effects and the share of replications in which the scenario's \
         value is below the baseline's; they cover <b>{}</b>.</p>\
         <table><tr><th>scenario</th><th>metric</th><th>baseline</th><th>scenario</th><th>difference</th>\
         <th>95% CI</th><th>95% of replications</th><th>P(lower)</th></tr>",
        escape(covers)
    );
    for r in &data.rows {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>[{}, {}]</td><td class=n>[{}, {}]</td><td class=n>{}</td></tr>",
            escape(&r.scenario),
            escape(&r.metric),
            fmt(r.baseline_mean),
            fmt(r.scenario_mean),
            fmt(r.difference),
            fmt(r.ci_low),
            fmt(r.ci_high),
            fmt(r.spread_low),
            fmt(r.spread_high),
            fmt(r.p_lower)
        );
    }
    html.push_str("</table><h2>Charts</h2>");
    html.push_str(&figures(dir)?);
    let html = page(&format!("forumsim: comparison against {baseline}"), &html);
    let path = dir.join("report.html");
    std::fs::write(&path, html).map_err(write_err(&path))
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
    fn escape_html() {
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
