//! Reading a finished run's CSV files back for charts and the report. Charts depend only on these
//! files, so `forumsim plot DIR` redraws them without running the model.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Quantiles of one metric in one year, across replications.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub year: f64,
    pub mean: f64,
    pub q05: f64,
    pub q25: f64,
    pub q50: f64,
    pub q75: f64,
    pub q95: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// A run's result folder, read back.
#[derive(Debug, Clone)]
pub struct RunData {
    /// The label of the run in charts: the scenario's name, or in a comparison its folder's.
    pub name: String,
    /// The scenario's own name (from `manifest.json`, else the folder's), for its report.
    pub scenario: String,
    pub dir: PathBuf,
    /// Metric name to its bands by year, in year order.
    pub summary: BTreeMap<String, Vec<Band>>,
    /// Column name to its values by replication.
    pub replications: BTreeMap<String, Vec<f64>>,
    /// The header of `states.csv` and its rows.
    pub state_header: Vec<String>,
    pub states: Vec<Vec<String>>,
    pub manifest: serde_json::Value,
}

fn read_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Read {
        file: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, message.into()),
    }
}

fn reader(path: &Path) -> Result<csv::Reader<std::fs::File>> {
    csv::Reader::from_path(path).map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(source) => Error::Read {
            file: path.to_path_buf(),
            source,
        },
        other => read_err(path, format!("{other:?}")),
    })
}

fn read_header(r: &mut csv::Reader<std::fs::File>, path: &Path) -> Result<Vec<String>> {
    Ok(r.headers()
        .map_err(|e| read_err(path, e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect())
}

/// The positions of the columns `names` in `header` (`usize::MAX` for one that is absent and
/// not `needed`); a needed column that is missing is an error naming it.
fn columns<const N: usize>(
    path: &Path,
    header: &[String],
    names: [(&str, bool); N],
) -> Result<[usize; N]> {
    let mut at = [usize::MAX; N];
    for (slot, (name, needed)) in at.iter_mut().zip(names) {
        match header.iter().position(|h| h == name) {
            Some(k) => *slot = k,
            None if needed => {
                return Err(read_err(
                    path,
                    format!("no column {name:?}: expected the columns forumsim writes"),
                ));
            }
            None => {}
        }
    }
    Ok(at)
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        file: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| read_err(path, e.to_string()))
}

fn parse(path: &Path, s: &str) -> Result<f64> {
    if s.is_empty() {
        return Ok(f64::NAN);
    }
    s.parse()
        .map_err(|_| read_err(path, format!("not a number: {s:?}")))
}

impl RunData {
    /// Reads `summary.csv`, `replications.csv`, `states.csv` and `manifest.json` of `dir`.
    pub fn read(dir: &Path) -> Result<RunData> {
        let path = dir.join("summary.csv");
        let mut summary: BTreeMap<String, Vec<Band>> = BTreeMap::new();
        let mut r = reader(&path)?;
        let header = read_header(&mut r, &path)?;
        // By name: a file with its columns in another order, or without one that is not drawn
        // (`n`, `sd`), gives the same charts; one without a column that is drawn is refused.
        let [
            year,
            metric,
            _n,
            mean,
            _sd,
            q05,
            q25,
            q50,
            q75,
            q95,
            ci_low,
            ci_high,
        ] = columns(
            &path,
            &header,
            crate::output::SUMMARY_COLUMNS.map(|c| (c, !matches!(c, "n" | "sd"))),
        )?;
        for rec in r.records() {
            let rec = rec.map_err(|e| read_err(&path, e.to_string()))?;
            let f = |k: usize| parse(&path, rec.get(k).unwrap_or(""));
            let band = Band {
                year: f(year)?,
                mean: f(mean)?,
                q05: f(q05)?,
                q25: f(q25)?,
                q50: f(q50)?,
                q75: f(q75)?,
                q95: f(q95)?,
                ci_low: f(ci_low)?,
                ci_high: f(ci_high)?,
            };
            summary
                .entry(rec.get(metric).unwrap_or("").to_string())
                .or_default()
                .push(band);
        }
        if summary.is_empty() {
            return Err(read_err(
                &path,
                "holds no rows: expected one row per year and metric",
            ));
        }
        let path = dir.join("replications.csv");
        let mut r = reader(&path)?;
        let header = read_header(&mut r, &path)?;
        let mut replications: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for rec in r.records() {
            let rec = rec.map_err(|e| read_err(&path, e.to_string()))?;
            for (k, name) in header.iter().enumerate() {
                replications
                    .entry(name.clone())
                    .or_default()
                    .push(parse(&path, rec.get(k).unwrap_or(""))?);
            }
        }
        let path = dir.join("states.csv");
        let mut r = reader(&path)?;
        let state_header = read_header(&mut r, &path)?;
        let mut states = Vec::new();
        for rec in r.records() {
            let rec = rec.map_err(|e| read_err(&path, e.to_string()))?;
            states.push(rec.iter().map(str::to_string).collect());
        }
        let path = dir.join("manifest.json");
        let manifest = read_json(&path)?;
        let name = manifest["scenario"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| {
                dir.file_name()
                    .map_or("run".into(), |n| n.to_string_lossy().into_owned())
            });
        Ok(RunData {
            scenario: name.clone(),
            name,
            dir: dir.to_path_buf(),
            summary,
            replications,
            state_header,
            states,
            manifest,
        })
    }

    /// A numeric column of `states.csv`.
    pub fn state_column(&self, name: &str) -> Option<Vec<f64>> {
        let k = self.state_header.iter().position(|h| h == name)?;
        Some(
            self.states
                .iter()
                .map(|row| row.get(k).and_then(|s| s.parse().ok()).unwrap_or(f64::NAN))
                .collect(),
        )
    }
}

/// One row of `comparison.csv`.
#[derive(Debug, Clone)]
pub struct ComparisonRow {
    pub scenario: String,
    pub metric: String,
    pub baseline_mean: f64,
    pub scenario_mean: f64,
    pub difference: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// The central 95% of the replications' differences and the share below zero (NaN in a
    /// folder written before they were).
    pub spread_low: f64,
    pub spread_high: f64,
    pub p_lower: f64,
}

/// A comparison folder read back: its rows and each scenario's run, in the manifest's order.
#[derive(Debug, Clone)]
pub struct ComparisonData {
    pub rows: Vec<ComparisonRow>,
    pub runs: Vec<RunData>,
    pub manifest: serde_json::Value,
    /// `ranks.csv` (two proposals or more): (scenario, rank, probability), in the file's order.
    pub ranks: Vec<(String, usize, f64)>,
}

impl ComparisonData {
    pub fn read(dir: &Path) -> Result<ComparisonData> {
        let path = dir.join("manifest.json");
        let manifest = read_json(&path)?;
        let mut runs = Vec::new();
        for s in manifest["scenarios"].as_array().into_iter().flatten() {
            let folder = s["folder"]
                .as_str()
                .ok_or_else(|| read_err(&path, "scenario without a folder"))?;
            let mut run = RunData::read(&dir.join(folder))?;
            run.name = folder.to_string();
            runs.push(run);
        }
        let path = dir.join("comparison.csv");
        let mut rows = Vec::new();
        let mut r = reader(&path)?;
        let header = read_header(&mut r, &path)?;
        let [
            scenario,
            metric,
            baseline_mean,
            scenario_mean,
            difference,
            ci_low,
            ci_high,
            spread_low,
            spread_high,
            p_lower,
        ] = columns(
            &path,
            &header,
            [
                ("scenario", true),
                ("metric", true),
                ("baseline_mean", true),
                ("scenario_mean", true),
                ("difference", true),
                ("ci95_low", true),
                ("ci95_high", true),
                ("spread95_low", false),
                ("spread95_high", false),
                ("p_lower", false),
            ],
        )?;
        for rec in r.records() {
            let rec = rec.map_err(|e| read_err(&path, e.to_string()))?;
            let f = |k: usize| parse(&path, rec.get(k).unwrap_or(""));
            let optional = |k: usize| match rec.get(k) {
                Some(text) => parse(&path, text),
                None => Ok(f64::NAN),
            };
            rows.push(ComparisonRow {
                scenario: rec.get(scenario).unwrap_or("").to_string(),
                metric: rec.get(metric).unwrap_or("").to_string(),
                baseline_mean: f(baseline_mean)?,
                scenario_mean: f(scenario_mean)?,
                difference: f(difference)?,
                ci_low: f(ci_low)?,
                ci_high: f(ci_high)?,
                spread_low: optional(spread_low)?,
                spread_high: optional(spread_high)?,
                p_lower: optional(p_lower)?,
            });
        }
        let path = dir.join("ranks.csv");
        let mut ranks = Vec::new();
        if path.exists() {
            let mut r = reader(&path)?;
            let header = read_header(&mut r, &path)?;
            let [scenario, rank, probability] = columns(
                &path,
                &header,
                [("scenario", true), ("rank", true), ("probability", true)],
            )?;
            for rec in r.records() {
                let rec = rec.map_err(|e| read_err(&path, e.to_string()))?;
                let rank_text = rec.get(rank).unwrap_or("");
                let k = rank_text.parse::<usize>().map_err(|_| {
                    read_err(&path, format!("rank {rank_text:?} is not a whole number"))
                })?;
                ranks.push((
                    rec.get(scenario).unwrap_or("").to_string(),
                    k,
                    parse(&path, rec.get(probability).unwrap_or(""))?,
                ));
            }
        }
        Ok(ComparisonData {
            rows,
            runs,
            manifest,
            ranks,
        })
    }
}

/// One row of `differences_by_year.csv`: a scenario's paired difference from the baseline in
/// one metric and year.
#[derive(Debug, Clone, PartialEq)]
pub struct DifferenceRow {
    pub scenario: String,
    pub baseline: String,
    pub metric: String,
    pub year: f64,
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// What the replications behind the interval vary in.
    pub covers: String,
}

/// Reads `differences_by_year.csv` of a comparison folder; empty for a folder written before it
/// was (no such file).
pub fn read_differences(dir: &Path) -> Result<Vec<DifferenceRow>> {
    let path = dir.join("differences_by_year.csv");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut r = reader(&path)?;
    let header = read_header(&mut r, &path)?;
    let [
        scenario,
        baseline,
        metric,
        year,
        _n,
        mean,
        ci_low,
        ci_high,
        covers,
    ] = columns(
        &path,
        &header,
        crate::output::DIFFERENCE_COLUMNS.map(|c| (c, c != "n")),
    )?;
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| read_err(&path, e.to_string()))?;
        let f = |k: usize| parse(&path, rec.get(k).unwrap_or(""));
        let s = |k: usize| rec.get(k).unwrap_or("").to_string();
        rows.push(DifferenceRow {
            scenario: s(scenario),
            baseline: s(baseline),
            metric: s(metric),
            year: f(year)?,
            mean: f(mean)?,
            ci_low: f(ci_low)?,
            ci_high: f(ci_high)?,
            covers: s(covers),
        });
    }
    Ok(rows)
}

/// A CSV file forumsim wrote, read back by column name (a sweep's, sensitivity's or
/// calibration's table, for its report).
#[derive(Debug, Clone)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn read(path: &Path) -> Result<Table> {
        let mut r = reader(path)?;
        let header = read_header(&mut r, path)?;
        let mut rows = Vec::new();
        for rec in r.records() {
            let rec = rec.map_err(|e| read_err(path, e.to_string()))?;
            rows.push(rec.iter().map(str::to_string).collect());
        }
        Ok(Table { header, rows })
    }

    /// The text of column `name` in row `k` (empty when the column is absent).
    pub fn text<'a>(&'a self, row: &'a [String], name: &str) -> &'a str {
        self.header
            .iter()
            .position(|h| h == name)
            .and_then(|k| row.get(k))
            .map_or("", String::as_str)
    }

    /// The number in column `name` of `row` (NaN when absent or empty).
    pub fn number(&self, row: &[String], name: &str) -> f64 {
        self.text(row, name).parse().unwrap_or(f64::NAN)
    }
}

/// A result folder's `manifest.json`.
pub fn manifest(dir: &Path) -> Result<serde_json::Value> {
    read_json(&dir.join("manifest.json"))
}
