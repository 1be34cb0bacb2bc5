//! Observation (`docs/ODD.md` section 3.4): the metrics recorded every year of a replication, and the
//! replication-level indices (race-to-the-bottom index, drift, time to the floor).
//!
//! Metric names are fixed for the core, then one set per forum and per treaty of the scenario. A
//! metric that is not observed in a year (attendance of a forum that did not meet) is NaN in the
//! trace and left out of the summary.

use crate::scenario::Scenario;
use crate::stats::quantile_unsorted;
use crate::world::{IncomeGroup, N_DOMAINS, World};

/// Core metrics, in order; `metric_names` appends the per-forum and per-treaty ones.
pub const CORE_METRICS: [&str; 23] = [
    "protection_mean",
    "protection_asylum",
    "protection_labour",
    "protection_trafficking",
    "protection_migrant_weighted",
    "protection_p10",
    "share_below_floor",
    "dispersion_across",
    "dispersion_within_forums",
    "enforcement_mean",
    "legal_channels_mean",
    "irregular_share",
    "irregular_share_workers",
    "trafficking_exposure_thousands",
    "migrant_stock_millions",
    "arrivals_millions",
    "pressure_mean",
    "reputation_mean",
    "recognition_rate",
    "refugee_stock_millions",
    "agreements_labour",
    "agreements_readmission",
    "labour_under_agreements",
];

/// Per-forum metric prefixes.
pub const FORUM_METRICS: [&str; 2] = ["attendance", "anchor"];
/// Per-treaty metric prefixes.
pub const TREATY_METRICS: [&str; 4] = ["parties", "parties_high_income", "compliance", "detected"];

/// A region's name as a metric suffix: lowercase, spaces and dashes as underscores.
pub fn region_slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// All metric names of a scenario in a world with regions `region_names`.
pub fn metric_names(scenario: &Scenario, region_names: &[String]) -> Vec<String> {
    let mut names: Vec<String> = CORE_METRICS.iter().map(|s| s.to_string()).collect();
    for f in &scenario.forums {
        for m in FORUM_METRICS {
            names.push(format!("{m}_{}", f.name));
        }
    }
    for t in &scenario.treaties {
        for m in TREATY_METRICS {
            names.push(format!("{m}_{}", t.name));
        }
    }
    for r in region_names {
        names.push(format!("protection_region_{}", region_slug(r)));
    }
    names
}

/// Mean protection overall and migrant-weighted, per domain; used at the start and the end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProtectionLevels {
    pub domains: [f64; N_DOMAINS],
    pub mean: f64,
    pub migrant_weighted: f64,
}

pub fn protection_levels(world: &World) -> ProtectionLevels {
    let n = world.n_states as f64;
    let mut domains = [0.0; N_DOMAINS];
    for (d, slot) in domains.iter_mut().enumerate() {
        *slot = world.protection[d].iter().sum::<f64>() / n;
    }
    let (mut weighted, mut stock_total) = (0.0, 0.0);
    for i in 0..world.n_states {
        let s = world.stock(i);
        weighted += s * world.mean_protection(i);
        stock_total += s;
    }
    ProtectionLevels {
        domains,
        mean: domains.iter().sum::<f64>() / N_DOMAINS as f64,
        migrant_weighted: if stock_total > 0.0 {
            weighted / stock_total
        } else {
            f64::NAN
        },
    }
}

/// Records one year's metrics into `out` (length of `metric_names`); `scratch` is a buffer of at
/// least `n_states` and `region_scratch` one of `2 * n_regions`, reused across years.
pub fn observe(
    world: &World,
    scenario: &Scenario,
    out: &mut [f64],
    scratch: &mut Vec<f64>,
    region_scratch: &mut [f64],
) {
    let n = world.n_states;
    let nf = n as f64;
    let levels = protection_levels(world);
    scratch.clear();
    scratch.extend((0..n).map(|i| world.mean_protection(i)));
    let mean = levels.mean;
    let across = (scratch.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / nf).sqrt();
    let below = scratch
        .iter()
        .filter(|&&p| p < scenario.observation.floor)
        .count() as f64
        / nf;
    let mut within = 0.0;
    let mut within_n = 0;
    for f in &world.forums {
        let m = f.n_members;
        if m < 2 {
            continue;
        }
        let members = &f.participants[..m];
        let mu = members.iter().map(|&i| scratch[i as usize]).sum::<f64>() / m as f64;
        let var = members
            .iter()
            .map(|&i| (scratch[i as usize] - mu).powi(2))
            .sum::<f64>()
            / m as f64;
        within += var.sqrt();
        within_n += 1;
    }
    let p10 = quantile_unsorted(scratch, 0.1);
    let (mut regular, mut refugee, mut irregular, mut traff, mut arrivals) =
        (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut recognised, mut forced, mut labour, mut under_agreements) = (0.0, 0.0, 0.0, 0.0);
    for i in 0..n {
        regular += world.stock_regular[i];
        refugee += world.stock_refugee[i];
        irregular += world.stock_irregular[i];
        traff += world.trafficking[i];
        arrivals +=
            world.arrivals_regular[i] + world.arrivals_refugee[i] + world.arrivals_irregular[i];
        recognised += world.arrivals_refugee[i];
        forced += world.inflow[crate::world::FORCED][i];
        labour += world.inflow[crate::world::LABOUR][i];
        under_agreements += world.inflow[crate::world::LABOUR][i] * world.bilateral_share[i];
    }
    let (labour_agreements, readmission_agreements) = crate::dynamics::bilateral::counts(world);
    let stock = regular + refugee + irregular;
    let core = [
        mean,
        levels.domains[0],
        levels.domains[1],
        levels.domains[2],
        levels.migrant_weighted,
        p10,
        below,
        across,
        if within_n > 0 {
            within / within_n as f64
        } else {
            f64::NAN
        },
        world.enforcement.iter().sum::<f64>() / nf,
        world.legal.iter().sum::<f64>() / nf,
        if stock > 0.0 { irregular / stock } else { 0.0 },
        if regular + irregular > 0.0 {
            irregular / (regular + irregular)
        } else {
            0.0
        },
        traff / 1e3,
        stock / 1e6,
        arrivals / 1e6,
        world.pressure.iter().sum::<f64>() / nf,
        world.reputation.iter().sum::<f64>() / nf,
        if forced > 0.0 {
            recognised / forced
        } else {
            f64::NAN
        },
        refugee / 1e6,
        labour_agreements as f64,
        readmission_agreements as f64,
        if labour > 0.0 {
            under_agreements / labour
        } else {
            0.0
        },
    ];
    out[..core.len()].copy_from_slice(&core);
    let mut k = core.len();
    for f in &world.forums {
        out[k] = if f.met_this_year {
            f.attendance as f64
        } else {
            f64::NAN
        };
        out[k + 1] = f
            .anchor
            .map_or(f64::NAN, |a| a.iter().sum::<f64>() / N_DOMAINS as f64);
        k += FORUM_METRICS.len();
    }
    for t in &world.treaties {
        let parties = t.n_parties();
        // Counted without a branch: party status is a coin flip to the processor.
        let high: u32 = t
            .party
            .iter()
            .zip(&world.income_group)
            .map(|(&party, &group)| u32::from(party & (group == IncomeGroup::High)))
            .sum();
        out[k] = parties as f64;
        out[k + 1] = high as f64;
        out[k + 2] = if parties > 0 {
            1.0 - t.noncompliant as f64 / parties as f64
        } else {
            f64::NAN
        };
        out[k + 3] = t.detected as f64;
        k += TREATY_METRICS.len();
    }
    // Mean protection per region.
    let nr = world.n_regions;
    region_scratch[..2 * nr].fill(0.0);
    for i in 0..n {
        let r = world.region[i] as usize;
        region_scratch[r] += world.mean_protection(i);
        region_scratch[nr + r] += 1.0;
    }
    for r in 0..nr {
        out[k + r] = if region_scratch[nr + r] > 0.0 {
            region_scratch[r] / region_scratch[nr + r]
        } else {
            f64::NAN
        };
    }
}
