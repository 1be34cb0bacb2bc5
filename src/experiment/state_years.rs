//! Each State's path, year by year, averaged over replications: protection per domain,
//! enforcement, legal channels, pressure, the recognition rate of asylum claims, the share of
//! its labour arrivals under bilateral agreements, and its immigrant, refugee and irregular stocks
//! (what can be set beside the record: UNHCR recognition rates and refugees by host, UN DESA
//! stocks). `forumsim states` writes them.

use rayon::prelude::*;

use super::simulate_with;
use crate::error::Result;
use crate::scenario::Scenario;
use crate::world::{Facts, World};

/// The columns, in order.
pub const COLUMNS: [&str; 11] = [
    "protection_asylum",
    "protection_labour",
    "protection_trafficking",
    "enforcement",
    "legal_channels",
    "pressure",
    "recognition_rate",
    "labour_under_agreements",
    "immigrant_stock",
    "refugee_stock",
    "irregular_stock",
];

fn values(w: &World, scenario: &Scenario, i: usize) -> [f64; 11] {
    [
        w.protection[0][i],
        w.protection[1][i],
        w.protection[2][i],
        w.enforcement[i],
        w.legal[i],
        w.pressure[i],
        w.recognition_rate(i, scenario),
        w.bilateral_share[i],
        w.stock(i),
        w.stock_refugee[i],
        w.stock_irregular[i],
    ]
}

/// Means over replications 0..`replications`, at `[(year index * n_states + State) * 11 + column]`.
pub fn state_years(
    scenario: &Scenario,
    facts: &Facts,
    replications: u64,
    seed: u64,
    threads: usize,
) -> Result<Vec<f64>> {
    let n = facts.n_states();
    let years = scenario.n_years();
    let width = COLUMNS.len();
    let pool = super::thread_pool(threads)?;
    // Replications in chunks, each summed in replication order: the same bytes for any number
    // of threads.
    let mut sums = vec![0.0; years * n * width];
    let chunk = 16;
    for start in (0..replications).step_by(chunk) {
        let end = (start + chunk as u64).min(replications);
        let parts: Vec<Result<Vec<f64>>> = pool.install(|| {
            (start..end)
                .into_par_iter()
                .map(|r| {
                    let mut own = vec![0.0; years * n * width];
                    let mut t = 0;
                    simulate_with(scenario, facts, seed, 0, r, &mut |w| {
                        for i in 0..n {
                            let at = (t * n + i) * width;
                            own[at..at + width].copy_from_slice(&values(w, scenario, i));
                        }
                        t += 1;
                    })?;
                    Ok(own)
                })
                .collect()
        });
        for part in parts {
            for (s, v) in sums.iter_mut().zip(part?) {
                *s += v;
            }
        }
    }
    let k = replications.max(1) as f64;
    sums.iter_mut().for_each(|s| *s /= k);
    Ok(sums)
}
