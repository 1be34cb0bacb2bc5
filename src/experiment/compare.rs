//! Paired comparison of scenarios run under common random numbers: the same master seed, so the
//! same crises and elections in each replication (and, over a posterior, the same parameter
//! set). Differences are taken replication by replication against the first scenario. Two
//! intervals say different things, and every output names which is which:
//! - the 95% confidence interval of the mean difference (Student t over the paired
//!   differences): how precisely the replications pin the average effect down;
//! - the central 95% of the replications' own differences: how far one replication's effect
//!   may lie from the average. Without a posterior it is replication noise alone (crises,
//!   elections, choices); over a posterior each replication also draws its parameters, so it
//!   covers noise and parameter uncertainty, and `p_lower` is the probability that the scenario
//!   lowers the quantity.

use super::{ReplicationRecord, RunOutput};
use crate::scenario::Scenario;
use crate::stats::{quantile_sorted, summarize};

/// One compared quantity of one scenario against the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedRow {
    pub scenario: String,
    pub baseline: String,
    pub metric: String,
    pub n: usize,
    pub baseline_mean: f64,
    pub scenario_mean: f64,
    /// Mean of the paired differences (scenario minus baseline).
    pub difference: f64,
    pub sd: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// 2.5% and 97.5% quantiles of the replications' own differences.
    pub spread_low: f64,
    pub spread_high: f64,
    /// Share of replications in which the scenario's value is below the baseline's.
    pub p_lower: f64,
    /// What `spread_low`..`spread_high` and `p_lower` cover: [`Uncertainty::describe`].
    pub uncertainty: Uncertainty,
}

/// What the spread of a comparison's per-replication differences covers.
#[derive(Debug, Clone, PartialEq)]
pub enum Uncertainty {
    /// Every replication runs the scenarios' own parameter values.
    Noise,
    /// Every replication draws its parameters from this posterior (its source).
    NoiseAndParameters(String),
}

impl Uncertainty {
    /// Of a comparison: over a posterior when the baseline runs over one (every scenario runs
    /// over the same one: [`same_posterior`]).
    pub fn of(baseline: &Scenario) -> Uncertainty {
        match &baseline.posterior {
            Some(d) => Uncertainty::NoiseAndParameters(d.source.clone()),
            None => Uncertainty::Noise,
        }
    }

    /// The value of the `uncertainty` column of comparison.csv.
    pub fn describe(&self) -> String {
        match self {
            Uncertainty::Noise => "replication noise".into(),
            Uncertainty::NoiseAndParameters(source) => {
                format!("replication noise and parameters (posterior {source})")
            }
        }
    }
}

/// Checks that the scenarios of a comparison run over the same posterior, or all over none: a
/// comparison whose scenarios draw from different posteriors (or only some from one) would not
/// be paired in its parameters.
pub fn same_posterior(scenarios: &[Scenario]) -> Result<(), String> {
    fn hash(s: &Scenario) -> Option<&str> {
        s.posterior.as_ref().map(|d| d.hash.as_str())
    }
    let Some(first) = scenarios.first() else {
        return Ok(());
    };
    for s in &scenarios[1..] {
        if hash(s) != hash(first) {
            let name = |s: &Scenario| match &s.posterior {
                Some(d) => format!("over the posterior {}", d.source),
                None => "at its point values (no posterior)".into(),
            };
            return Err(format!(
                "scenario {} runs {}, the baseline {} {}; give every scenario the same posterior \
                 with --posterior FILE, or none with --no-posterior",
                s.name,
                name(s),
                first.name,
                name(first)
            ));
        }
    }
    Ok(())
}

/// A replication-level quantity, read from a record of a scenario.
type Quantity = Box<dyn Fn(&ReplicationRecord, &Scenario) -> f64>;

/// Replication-level quantities compared, by name.
fn quantities(scenario: &Scenario, other: &Scenario) -> Vec<(String, Quantity)> {
    let mut q: Vec<(String, Quantity)> = vec![
        ("rtb".into(), Box::new(|r, _| r.rtb)),
        (
            "rtb_migrant_weighted".into(),
            Box::new(|r, _| r.rtb_migrant_weighted),
        ),
        ("protection_mean_end".into(), Box::new(|r, _| r.end.mean)),
        (
            "protection_asylum_end".into(),
            Box::new(|r, _| r.end.domains[0]),
        ),
        (
            "protection_labour_end".into(),
            Box::new(|r, _| r.end.domains[1]),
        ),
        (
            "protection_trafficking_end".into(),
            Box::new(|r, _| r.end.domains[2]),
        ),
        (
            "protection_migrant_weighted_end".into(),
            Box::new(|r, _| r.end.migrant_weighted),
        ),
        (
            "irregular_share_end".into(),
            Box::new(|r, _| r.irregular_share_end),
        ),
        ("pressure_end".into(), Box::new(|r, _| r.pressure_end)),
        (
            "ratifications_total".into(),
            Box::new(|r, _| r.parties.iter().sum()),
        ),
    ];
    // Every treaty of either scenario: a treaty a scenario does not have has no parties in it,
    // so a treaty that only a proposal creates reads "0 in the baseline, 40 with the proposal".
    let mut treaties: Vec<String> = scenario.treaties.iter().map(|t| t.name.clone()).collect();
    for t in &other.treaties {
        if !treaties.contains(&t.name) {
            treaties.push(t.name.clone());
        }
    }
    for name in treaties {
        q.push((
            format!("parties_{name}"),
            Box::new(move |r, s| {
                s.treaties
                    .iter()
                    .position(|x| x.name == name)
                    .map_or(0.0, |k| r.parties[k])
            }),
        ));
    }
    q
}

/// Paired differences of `other` against `baseline`, replication by replication.
pub fn paired(
    baseline: (&Scenario, &RunOutput),
    other: (&Scenario, &RunOutput),
) -> crate::Result<Vec<PairedRow>> {
    let (bs, br) = baseline;
    let (os, or) = other;
    // Pairs are matched by replication index: a replication that failed in either scenario is
    // left out of both, and never shifts the pairs after it.
    let pairs = matched(
        &br.records.column(|r| r.replication as f64)?,
        &or.records.column(|r| r.replication as f64)?,
    );
    let mut rows = Vec::new();
    let mut scratch = Vec::new();
    let uncertainty = Uncertainty::of(bs);
    for (name, f) in quantities(bs, os) {
        let b_all = br.records.column(|r| f(r, bs))?;
        let o_all = or.records.column(|r| f(r, os))?;
        let b: Vec<f64> = pairs.iter().map(|&(x, _)| b_all[x]).collect();
        let o: Vec<f64> = pairs.iter().map(|&(_, y)| o_all[y]).collect();
        let d: Vec<f64> = b.iter().zip(&o).map(|(x, y)| y - x).collect();
        let (Some(sb), Some(so), Some(sd)) = (
            summarize(&b, &mut scratch),
            summarize(&o, &mut scratch),
            summarize(&d, &mut scratch),
        ) else {
            continue;
        };
        scratch.clear();
        scratch.extend(d.iter().copied().filter(|x| x.is_finite()));
        scratch.sort_by(f64::total_cmp);
        let (spread_low, spread_high) = (
            quantile_sorted(&scratch, 0.025),
            quantile_sorted(&scratch, 0.975),
        );
        let p_lower = scratch.iter().filter(|&&x| x < 0.0).count() as f64 / scratch.len() as f64;
        rows.push(PairedRow {
            scenario: os.name.clone(),
            baseline: bs.name.clone(),
            metric: name,
            n: sd.n,
            baseline_mean: sb.mean,
            scenario_mean: so.mean,
            difference: sd.mean,
            sd: sd.sd,
            ci_low: sd.ci_low,
            ci_high: sd.ci_high,
            spread_low,
            spread_high,
            p_lower,
            uncertainty: uncertainty.clone(),
        });
    }
    Ok(rows)
}

/// Metrics whose paired difference is taken year by year (`differences_by_year.csv`): the
/// headline levels of the fan charts.
pub const DIFFERENCE_METRICS: [&str; 9] = [
    "protection_mean",
    "protection_migrant_weighted",
    "protection_asylum",
    "protection_labour",
    "protection_trafficking",
    "enforcement_mean",
    "legal_channels_mean",
    "pressure_mean",
    "irregular_share",
];

/// One metric in one year of one scenario against the baseline: the mean of the paired
/// differences (scenario minus baseline, the same replication in both) and its 95% interval.
#[derive(Debug, Clone, PartialEq)]
pub struct YearDifference {
    pub scenario: String,
    pub baseline: String,
    pub metric: String,
    pub year: i32,
    /// Pairs in which both values were observed.
    pub n: usize,
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// What the replications behind the interval vary in: [`Uncertainty::describe`].
    pub uncertainty: Uncertainty,
}

/// Paired differences of `other` against `baseline` per year, for each of
/// [`DIFFERENCE_METRICS`] both runs trace: per replication both runs kept (matched by index, as
/// in [`paired`]), the scenario's value minus the baseline's in that year.
pub fn paired_by_year(
    baseline: (&Scenario, &RunOutput),
    other: (&Scenario, &RunOutput),
) -> crate::Result<Vec<YearDifference>> {
    let (bs, br) = baseline;
    let (os, or) = other;
    let pairs = matched(
        &br.records.column(|r| r.replication as f64)?,
        &or.records.column(|r| r.replication as f64)?,
    );
    let uncertainty = Uncertainty::of(bs);
    let (mut b_reader, mut o_reader) = (br.traces.reader(), or.traces.reader());
    let (mut b, mut o, mut d, mut scratch) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // Both runs' trace columns of each metric, in column order (year-major, as stored), so that
    // a trace file is read ahead and not once per column.
    let columns: Vec<(&str, usize, usize)> = DIFFERENCE_METRICS
        .iter()
        .filter_map(|&m| {
            let bm = br.metrics.iter().position(|x| x == m)?;
            let om = or.metrics.iter().position(|x| x == m)?;
            Some((m, bm, om))
        })
        .collect();
    let mut per_metric: Vec<Vec<YearDifference>> = vec![Vec::new(); columns.len()];
    for (bt, year) in br.years.iter().enumerate() {
        let Some(ot) = or.years.iter().position(|y| y == year) else {
            continue;
        };
        for (rows, &(metric, bm, om)) in per_metric.iter_mut().zip(&columns) {
            b_reader.column(bt * br.metrics.len() + bm, &mut b)?;
            o_reader.column(ot * or.metrics.len() + om, &mut o)?;
            d.clear();
            d.extend(pairs.iter().map(|&(x, y)| o[y] - b[x]));
            let Some(s) = summarize(&d, &mut scratch) else {
                continue;
            };
            rows.push(YearDifference {
                scenario: os.name.clone(),
                baseline: bs.name.clone(),
                metric: metric.to_string(),
                year: *year,
                n: s.n,
                mean: s.mean,
                ci_low: s.ci_low,
                ci_high: s.ci_high,
                uncertainty: uncertainty.clone(),
            });
        }
    }
    let rows = per_metric.into_iter().flatten().collect();
    Ok(rows)
}

/// The probability of each rank among the proposals (every scenario but the baseline): in each
/// replication all of them have, the proposals are ranked by their RTB index, 1 the lowest (the
/// most protection held up); ties share the better rank. `None` with fewer than two proposals.
pub fn ranks(names: &[String], runs: &[&RunOutput]) -> crate::Result<Option<Ranks>> {
    if runs.len() < 3 {
        return Ok(None);
    }
    let proposals = &runs[1..];
    // Replications every scenario has (a failed one drops out of all).
    let mut common = runs[0].records.column(|r| r.replication as f64)?;
    for run in &runs[1..] {
        let theirs = run.records.column(|r| r.replication as f64)?;
        common = matched(&common, &theirs)
            .into_iter()
            .map(|(i, _)| common[i])
            .collect();
    }
    let mut rtb = Vec::with_capacity(proposals.len());
    for run in proposals {
        let reps = run.records.column(|r| r.replication as f64)?;
        let values = run.records.column(|r| r.rtb)?;
        rtb.push(
            matched(&common, &reps)
                .into_iter()
                .map(|(_, j)| values[j])
                .collect::<Vec<f64>>(),
        );
    }
    let k = proposals.len();
    let mut counts = vec![vec![0u64; k]; k];
    for r in 0..common.len() {
        for (p, row) in counts.iter_mut().enumerate() {
            let better = rtb.iter().filter(|q| q[r] < rtb[p][r]).count();
            row[better] += 1;
        }
    }
    let n = common.len().max(1) as f64;
    Ok(Some(Ranks {
        scenarios: names[1..].to_vec(),
        replications: common.len(),
        probability: counts
            .into_iter()
            .map(|c| c.into_iter().map(|x| x as f64 / n).collect())
            .collect(),
    }))
}

/// [`ranks`]: `probability[p][r]` is the probability that proposal `p` ranks `r + 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranks {
    pub scenarios: Vec<String>,
    pub replications: usize,
    pub probability: Vec<Vec<f64>>,
}

/// Positions of the replications both runs have, as (position in `a`, position in `b`); both
/// lists are in ascending replication order.
fn matched(a: &[f64], b: &[f64]) -> Vec<(usize, usize)> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push((i, j));
            i += 1;
            j += 1;
        } else if a[i] < b[j] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The comparison as the console prints it: the baseline's RTB index, then per proposal the
/// paired effect on the RTB index with both of its intervals and the probability it lowers the
/// index, the effects on final protection and the irregular share, the probability of each rank,
/// and a sentence on what the intervals cover.
pub fn console(
    scenarios: &[Scenario],
    baseline: &RunOutput,
    rows: &[PairedRow],
    ranks: Option<&Ranks>,
    seed: u64,
) -> crate::Result<String> {
    use std::fmt::Write;
    let first = &scenarios[0];
    let mut out = String::new();
    let mut scratch = Vec::new();
    let uncertainty = Uncertainty::of(first);
    let rtb = baseline.records.column(|r| r.rtb)?;
    if let Some(s) = summarize(&rtb, &mut scratch) {
        let over = match &uncertainty {
            Uncertainty::Noise => String::new(),
            Uncertainty::NoiseAndParameters(source) => format!(", over the posterior {source}"),
        };
        let _ = writeln!(
            out,
            "{}: RTB index {:.4} [95% CI {:.4}, {:.4}] over {}-{}, {} replications, seed {}{over}",
            first.name,
            s.mean,
            s.ci_low,
            s.ci_high,
            first.run.start_year,
            first.run.end_year,
            s.n,
            seed
        );
    }
    let same = match &uncertainty {
        Uncertainty::Noise => "same crises and elections",
        Uncertainty::NoiseAndParameters(_) => "same crises, elections and parameter draw",
    };
    let _ = writeln!(
        out,
        "paired effects against {} ({same} in each replication); negative RTB: protection held up",
        first.name
    );
    let _ = writeln!(
        out,
        "  {:<24} {:>26} {:>18} {:>8} {:>28} {:>28}",
        "scenario",
        "RTB index [95% CI]",
        "95% of reps",
        "P(lower)",
        "final protection [95% CI]",
        "irregular share [95% CI]"
    );
    let cell = |r: Option<&PairedRow>| -> String {
        r.map(|r| format!("{:+.4} [{:+.4}, {:+.4}]", r.difference, r.ci_low, r.ci_high))
            .unwrap_or_default()
    };
    for scenario in scenarios.iter().skip(1) {
        let find = |m: &str| {
            rows.iter()
                .find(|r| r.scenario == scenario.name && r.metric == m)
        };
        let rtb = find("rtb");
        let _ = writeln!(
            out,
            "  {:<24} {:>26} {:>18} {:>8} {:>28} {:>28}",
            scenario.name,
            cell(rtb),
            rtb.map(|r| format!("[{:+.3}, {:+.3}]", r.spread_low, r.spread_high))
                .unwrap_or_default(),
            rtb.map(|r| format!("{:.0}%", 100.0 * r.p_lower))
                .unwrap_or_default(),
            cell(find("protection_mean_end")),
            cell(find("irregular_share_end"))
        );
    }
    if let Some(ranks) = ranks {
        let k = ranks.scenarios.len();
        let _ = write!(
            out,
            "probability of each rank among the proposals (1: lowest RTB index):\n  {:<24}",
            "scenario"
        );
        for r in 1..=k {
            let _ = write!(out, " {:>6}", format!("#{r}"));
        }
        out.push('\n');
        for (name, p) in ranks.scenarios.iter().zip(&ranks.probability) {
            let _ = write!(out, "  {name:<24}");
            for x in p {
                let _ = write!(out, " {:>6}", format!("{:.0}%", 100.0 * x));
            }
            out.push('\n');
        }
    }
    let covers = match &uncertainty {
        Uncertainty::Noise => "replication noise only, at the scenarios' parameter values; \
                              run over a posterior (--posterior FILE) for parameter uncertainty too"
            .to_string(),
        Uncertainty::NoiseAndParameters(_) => {
            "replication noise and the posterior's parameter uncertainty".to_string()
        }
    };
    let _ = writeln!(
        out,
        "intervals: [95% CI] is the precision of the mean effect over the replications; \
         \"95% of reps\" and P(lower) are the spread of single replications' effects, which covers {covers}"
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A replication missing from one run (it failed there) drops out of both, and the pairs
    /// after it stay matched by replication.
    #[test]
    fn pairs_are_matched_by_replication_not_by_position() {
        let a = [0.0, 1.0, 2.0, 3.0, 5.0];
        let b = [0.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(matched(&a, &b), vec![(0, 0), (2, 1), (3, 2), (4, 4)]);
    }
}
