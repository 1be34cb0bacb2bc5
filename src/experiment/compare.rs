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
    let n = br.records.len().min(or.records.len());
    let mut rows = Vec::new();
    let mut scratch = Vec::new();
    for (name, f) in quantities(bs, os) {
        let mut b = br.records.column(|r| f(r, bs))?;
        let mut o = or.records.column(|r| f(r, os))?;
        b.truncate(n);
        o.truncate(n);
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
