//! Treaties: ratification and withdrawal, endogenous floors under regional "cover", and
//! compliance detection for parties.
//!
//! Each year a non-party considers ratifying with probability $u$ and ratifies with probability
//! $\sigma(NB_i/T)$, where
//! $NB_i = b_{dia}\min(1, \text{emigrant share}/\text{ref}) + b_{trust}\,\text{trust} + b_{peer}\,\text{regional ratifier share} + b_{rep}\,\text{reputation} - O\,h_i\,\text{political cost}\cdot\text{shortfall}_i\cdot\text{exposure}_i - \text{fixed cost}$.
//! Origin States (large diasporas, few immigrants) gain and pay little; destination States under
//! pressure pay a lot: breadth versus depth emerges from this. The floors bind by their precision:
//! the effective floor is $P \cdot \text{floor}$ (the rest is "to the extent possible").
//! A party's shortfall is detected with probability $1 - (1-D)(1-\tau/2)$.
//!
//! Under cover (EU-style regional law) the floor is revised every few years to the voice-weighted
//! low quantile of the parties' protection, and `policy` values protection above it less (seed
//! 3.2.3.1: regional standards used to justify restrictive domestic policy).

use rand_chacha::ChaCha8Rng;

use super::forums::weighted_quantile;
use super::math::pos;
use super::{fill_words, logistic, to_uniform};
use crate::scenario::Scenario;
use crate::world::{N_DOMAINS, TreatyState, World};

/// Effective floor of domain `d`: the precise part of the floor.
#[inline(always)]
pub fn effective_floor(t: &TreatyState, d: usize) -> f64 {
    t.floors[d] * t.design.precision
}

/// Mean shortfall of protection value `p(d)` below the effective floors.
#[inline(always)]
pub fn shortfall_of(t: &TreatyState, p: impl Fn(usize) -> f64) -> f64 {
    shortfall_below(&effective_floors(t), p)
}

/// The effective floors of every domain.
#[inline(always)]
pub fn effective_floors(t: &TreatyState) -> [f64; N_DOMAINS] {
    std::array::from_fn(|d| effective_floor(t, d))
}

/// Mean shortfall of protection value `p(d)` below `floors`.
#[inline(always)]
fn shortfall_below(floors: &[f64; N_DOMAINS], p: impl Fn(usize) -> f64) -> f64 {
    (0..N_DOMAINS).map(|d| pos(floors[d] - p(d))).sum::<f64>() / N_DOMAINS as f64
}

/// Probability that a party's shortfall is detected: by the treaty body (delegation), by public
/// reporting (transparency), or by a court the parties' residents can petition.
#[inline(always)]
pub fn detection_probability(t: &TreatyState) -> f64 {
    1.0 - (1.0 - t.design.delegation) * (1.0 - 0.5 * t.design.transparency) * (1.0 - t.design.court)
}

/// Expected cost per unit of mean shortfall below the effective floors, for a party: sanction
/// times detection times obligation, raised by a court's judgments.
#[inline(always)]
pub fn shortfall_cost(t: &TreatyState) -> f64 {
    t.design.sanction * detection_probability(t) * t.design.obligation * (1.0 + t.design.court)
}

/// Each State's share of the refugees recognised on its territory that it keeps under the
/// responsibility sharing of the treaties it is party to: 1 − sharing × (1 − its capacity share
/// among the parties), the smallest over the treaties (1 outside any sharing treaty).
pub fn update_sharing(world: &mut World) {
    world.sharing_kept.fill(1.0);
    for t in &world.treaties {
        let s = t.design.sharing;
        if s <= 0.0 {
            continue;
        }
        let total: f64 = (0..world.n_states)
            .filter(|&i| t.party[i])
            .map(|i| world.capacity[i])
            .sum();
        if total <= 0.0 {
            continue;
        }
        for i in (0..world.n_states).filter(|&i| t.party[i]) {
            let kept = 1.0 - s * (1.0 - world.capacity[i] / total);
            world.sharing_kept[i] = world.sharing_kept[i].min(kept);
        }
    }
}

super::dispatch::simd_dispatch! {
    /// Ratification, withdrawal and compliance detection of the year.
    pub fn step / step_portable (world: &mut World, scenario: &Scenario, rngs: &mut [ChaCha8Rng]) => step_body
}

#[inline(always)]
fn step_body(world: &mut World, scenario: &Scenario, rngs: &mut [ChaCha8Rng]) {
    let mut treaties = std::mem::take(&mut world.treaties);
    for ((treaty, spec), rng) in treaties
        .iter_mut()
        .zip(&scenario.treaties)
        .zip(rngs.iter_mut())
    {
        while let Some(change) = spec.timeline.get(treaty.next_change) {
            if change.year > world.year {
                break;
            }
            if let Some(slot) = treaty.design.get_mut(change.field) {
                *slot = change.value;
            }
            // A floor in force changes with its design value.
            if let Some(d) = ["floor_asylum", "floor_labour", "floor_trafficking"]
                .iter()
                .position(|f| *f == change.field)
            {
                treaty.floors[d] = change.value;
            }
            treaty.next_change += 1;
        }
        treaty.detected = 0;
        treaty.noncompliant = 0;
        if world.year < treaty.design.opened as i32 {
            continue;
        }
        decide(world, scenario, treaty, rng, true);
        if treaty.design.cover > 0.0
            && (world.year - treaty.design.opened as i32) % (treaty.design.revision_interval as i32)
                == 0
        {
            revise_floor(world, treaty);
        }
        let p_detect = detection_probability(treaty);
        let loss = scenario.forum_dynamics.reputation_loss;
        // The floors once per treaty-year, not once per party.
        let floors = effective_floors(treaty);
        let words = &mut world.scratch_words[..world.n_states];
        fill_words(rng, words);
        // Without a branch on party status or shortfall (both vary from State to State with no
        // pattern): a non-party or a party without a shortfall keeps its reputation.
        let (mut noncompliant, mut detected) = (0, 0);
        let [asylum, labour, trafficking] = &world.protection;
        let n = world.n_states;
        let states = words
            .iter()
            .zip(&treaty.party[..n])
            .zip(&asylum[..n])
            .zip(&labour[..n])
            .zip(&trafficking[..n])
            .zip(&mut world.reputation[..n]);
        for (((((&word, &party), &p0), &p1), &p2), reputation) in states {
            let protection = [p0, p1, p2];
            let gap = shortfall_below(&floors, |d| protection[d]);
            let short = party & (gap > 0.0);
            let seen = short & (to_uniform(word) < p_detect);
            noncompliant += usize::from(short);
            detected += usize::from(seen);
            let lowered = pos(*reputation - loss * gap);
            *reputation = if seen { lowered } else { *reputation };
        }
        treaty.noncompliant = noncompliant;
        treaty.detected = detected;
    }
    world.treaties = treaties;
    update_sharing(world);
}

/// The first year the ratification mechanism decides a treaty's parties before the start: its
/// opening, or with a record of its parties the year after the record ends.
fn spin_up_from(t: &TreatyState) -> i32 {
    let opened = t.design.opened as i32;
    match t.recorded_parties {
        Some(_) => opened.max(crate::world::history::TREATY_CUTOFF + 1),
        None => opened,
    }
}

/// Ratification history before the first simulated year: the parties of the record where a
/// treaty has one (to the year before the start, or to the record's cut-off), then the
/// ratification mechanism year by year, from the opening or from the year after the record,
/// with the States' initial policies and pressure. A treaty marked `settled` has its parties and
/// stream from this history already (the factual world's spin-up of the same treaty,
/// `dynamics::start`) and is left as it is.
pub fn spin_up(world: &mut World, scenario: &Scenario, rngs: &mut [ChaCha8Rng], settled: &[bool]) {
    assert_eq!(settled.len(), world.treaties.len());
    let start = scenario.run.start_year;
    for (t, _) in world.treaties.iter_mut().zip(settled).filter(|(_, s)| !**s) {
        if let Some(recorded) = &t.recorded_parties {
            t.party.copy_from_slice(recorded);
        }
    }
    let Some(first) = world
        .treaties
        .iter()
        .map(spin_up_from)
        .filter(|&y| y < start)
        .min()
    else {
        return;
    };
    let mut treaties = std::mem::take(&mut world.treaties);
    for year in first..start {
        let unsettled = treaties
            .iter_mut()
            .zip(rngs.iter_mut())
            .zip(settled)
            .filter(|(_, s)| !**s);
        for ((treaty, rng), _) in unsettled {
            if year >= spin_up_from(treaty) {
                decide(world, scenario, treaty, rng, false);
            }
        }
    }
    world.treaties = treaties;
    update_sharing(world);
}

/// Ratification and (when `allow_withdrawal`) withdrawal decisions of one year.
#[inline(always)]
fn decide(
    world: &mut World,
    scenario: &Scenario,
    treaty: &mut TreatyState,
    rng: &mut ChaCha8Rng,
    allow_withdrawal: bool,
) {
    if let Some(members) = &treaty.fixed_members {
        for &i in members {
            treaty.party[i as usize] = true;
        }
        return;
    }
    let tp = &scenario.treaty_dynamics;
    // Peer shares from the start-of-year snapshot.
    world.scratch_region_count.fill(0.0);
    for (&region, &party) in world.region.iter().zip(&treaty.party) {
        world.scratch_region_count[region as usize] += f64::from(u8::from(party));
    }
    let design = &treaty.design;
    let n = world.n_states;
    let mut words = std::mem::take(&mut world.scratch_words);
    fill_words(rng, &mut words[..n]);
    let withdraw = if allow_withdrawal {
        tp.withdraw_prob
    } else {
        0.0
    };
    // One draw for every State, whatever happens, so the stream stays aligned. It decides whether
    // the State considers the question (u < p) and then, rescaled to u / p (uniform on [0, 1)
    // given u < p), what it decides.
    let consider = |party: bool, eligible: bool| {
        if party {
            withdraw
        } else if eligible {
            design.consider_prob
        } else {
            0.0
        }
    };
    // Who considers it is found 64 States at a time without a branch (few do, and which is
    // random), then only those are visited, in State order. A decision changes only the
    // deciding State's own status, so the block's mask stays true while it is visited.
    for (block, chunk) in words[..n].chunks(64).enumerate() {
        let first = block * 64;
        let states = first..first + chunk.len();
        let statuses = treaty.party[states.clone()]
            .iter()
            .zip(&treaty.eligible[states]);
        let mut mask = 0u64;
        for (b, (&word, (&party, &eligible))) in chunk.iter().zip(statuses).enumerate() {
            mask |= u64::from(to_uniform(word) < consider(party, eligible)) << b;
        }
        while mask != 0 {
            let b = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let i = first + b;
            let p = consider(treaty.party[i], treaty.eligible[i]);
            let u_decide = to_uniform(chunk[b]) / p;
            let benefit = net_benefit(world, scenario, treaty, i);
            if treaty.party[i] {
                if u_decide < logistic(-benefit / tp.ratify_temperature) {
                    treaty.party[i] = false;
                }
            } else if u_decide < logistic(benefit / tp.ratify_temperature) {
                treaty.party[i] = true;
            }
        }
    }
    world.scratch_words = words;
}

/// Net benefit of ratification for State `i` (the module's $NB_i$), with the regional peer shares
/// of the start of the year in `world.scratch_region_count`.
#[inline(always)]
fn net_benefit(world: &World, scenario: &Scenario, treaty: &TreatyState, i: usize) -> f64 {
    let tp = &scenario.treaty_dynamics;
    let design = &treaty.design;
    let region = world.region[i] as usize;
    let peers = world.scratch_region_count[region] / world.region_size[region];
    let trust = match treaty.trust_forum {
        Some(f) => {
            let forum = &world.forums[f];
            match forum.position[i] {
                u32::MAX => 0.0,
                k => forum.trust[k as usize],
            }
        }
        None => 0.5,
    };
    let gap = shortfall_of(treaty, |d| world.protection[d][i]);
    let exposure = world.stock(i) / world.population[i] / tp.exposure_ref
        + tp.exposure_income * world.income[i];
    tp.b_diaspora * (world.emigrant_share[i] / tp.diaspora_ref).min(1.0)
        + tp.b_trust * trust
        + tp.b_peer * peers
        + tp.b_reputation * world.reputation[i]
        - design.obligation * world.pressure[i] * design.political_cost * gap * exposure
        - design.fixed_cost
}

/// Under cover: the floor becomes the voice-weighted low quantile of the parties' protection.
#[inline(always)]
fn revise_floor(world: &World, treaty: &mut TreatyState) {
    let alpha = treaty.design.power_exponent;
    let q = treaty.design.floor_quantile;
    let mut floors = treaty.floors;
    for (d, floor) in floors.iter_mut().enumerate() {
        treaty.scratch_sort.clear();
        for i in 0..world.n_states {
            if treaty.party[i] {
                treaty
                    .scratch_sort
                    .push((world.protection[d][i], world.power[i].powf(alpha)));
            }
        }
        if !treaty.scratch_sort.is_empty() {
            *floor = weighted_quantile(&mut treaty.scratch_sort, q);
        }
    }
    treaty.floors = floors;
}
