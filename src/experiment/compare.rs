//! Paired comparison of scenarios run under common random numbers: the same master seed, so the
//! same crises and elections in each replication. Differences are taken replication by
//! replication against the first scenario, and their confidence intervals come from the paired
//! differences (Student t).

use super::{ReplicationRecord, RunOutput};
use crate::scenario::Scenario;
use crate::stats::summarize;

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
    for t in &scenario.treaties {
        if other.treaties.iter().any(|o| o.name == t.name) {
            let name = t.name.clone();
            q.push((
                format!("parties_{}", t.name),
                Box::new(move |r, s| {
                    s.treaties
                        .iter()
                        .position(|x| x.name == name)
                        .map_or(f64::NAN, |k| r.parties[k])
                }),
            ));
        }
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
        });
    }
    Ok(rows)
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
