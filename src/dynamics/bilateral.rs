//! Bilateral agreements between an origin and a destination State (seed 3.2.3.3): labour
//! agreements (a legal channel for the origin's workers, and rights provisions such as equal
//! treatment or a ban on recruitment fees) and readmission agreements (expedited return of the
//! origin's rejected claimants, in exchange for visa facilitation; negotiated privately).
//!
//! Unlike a forum, an agreement acts per corridor. With coverage $c_{rj}$, the share of origin
//! region r's potential movers whose State has an agreement with destination j (by their share of
//! the region's poverty-weighted population), the labour stream's attraction of j for r is
//! multiplied by $1 + c^L_{rj}(e^{\beta_L} - 1) + c^R_{rj}(e^{\beta_V} - 1)$; the labour arrivals
//! under a labour agreement are regular outside the quota; of the rejected claimants from
//! readmission partners, `readmission_removal` of those enforcement would not remove are removed.
//! A destination commits to a labour floor (`rights_floor` times the agreement's share of rights
//! provisions), whose shortfall is seen with probability `transparency` and costs `sanction` per
//! unit, weighted by its share of labour arrivals under agreements; removals under readmission
//! are seen with the same probability, and cost reputation.
//!
//! Formation: each year a candidate pair (a corridor whose recorded stock reaches `min_stock`)
//! without an agreement of a kind considers one with probability `consider_prob` and signs with
//! probability $\sigma(\min(G_d, G_o)/T)$: both sides must gain. For a labour agreement the
//! destination gains `deal_value` × its covered flow per mille × income × (1 − pressure), the origin
//! `deal_value` × its emigrants' flow per mille; for readmission the destination gains
//! `deal_value` × its irregular arrivals from the origin per mille × pressure, the origin the
//! visas' value less `readmission_cost`. Each side pays `fixed_cost`. Agreements lapse after
//! `lifetime` years; those of the record (`data/bilateral_labour_agreements_to_2007.csv`) signed
//! within `lifetime` years before the start are in force at the start.

use rand_chacha::ChaCha8Rng;

use super::{fill_words, logistic, to_uniform};
use crate::scenario::Scenario;
use crate::world::{FORCED, LABOUR, World};

/// One agreement in force.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agreement {
    pub origin: u32,
    pub destination: u32,
    pub readmission: bool,
    pub since: i32,
    /// Share of the rights provisions (labour agreements).
    pub rights: f64,
    /// Where the pair's candidates begin in `World::bilateral_index` ([`slot`]): found once,
    /// when the agreement is made, not every year it is in force.
    pub slot: u32,
}

/// The position of the pair (origin, destination) in `index` (the candidates sorted by pair, with
/// their positions: `World::bilateral_index`); where it would be if it is not a candidate.
pub fn slot(index: &[(u32, u32, u32)], origin: u32, destination: u32) -> u32 {
    index.partition_point(|&(o, j, _)| (o, j) < (origin, destination)) as u32
}

/// Recomputes the coverage of every corridor and the labour floors from the agreements in force,
/// under the bilateral settings in force (`world.bilateral`).
///
/// Only the corridors an agreement covers are touched: those of the last rebuild are reset, the
/// agreements in force added, and their factors recomputed. A corridor no agreement covers has
/// coverage 0, factor exactly 1 and no labour under agreements, as a pass over every corridor
/// would give it ($1 + 0 \cdot k_L + 0 \cdot k_V = 1$ for the finite $k$ the parameter bounds
/// allow), at the cost of the agreements rather than of all region-destination pairs.
pub fn rebuild(world: &mut World) {
    let bp = world.bilateral.clone();
    let n = world.n_states;
    let kl = bp.labour_attraction.exp() - 1.0;
    let kv = bp.visa_attraction.exp() - 1.0;
    let mut touched = std::mem::take(&mut world.bilateral_touched);
    for &k in &touched {
        let k = k as usize;
        world.coverage_labour[k] = 0.0;
        world.coverage_readmission[k] = 0.0;
        world.labour_factor[k] = 1.0;
        world.covered_labour[k] = 0.0;
    }
    touched.clear();
    world.bilateral_floor.fill(0.0);
    let mut floor_weight = std::mem::take(&mut world.scratch_floor_weight);
    floor_weight.clear();
    floor_weight.resize(n, 0.0);
    for a in &world.agreements {
        let (o, j) = (a.origin as usize, a.destination as usize);
        let k = world.region[o] as usize * n + j;
        touched.push(k as u32);
        let w = world.origin_share[o];
        if a.readmission {
            world.coverage_readmission[k] = (world.coverage_readmission[k] + w).min(1.0);
        } else {
            world.coverage_labour[k] = (world.coverage_labour[k] + w).min(1.0);
            world.bilateral_floor[j] += w * bp.rights_floor * a.rights;
            floor_weight[j] += w;
        }
    }
    for (floor, &weight) in world.bilateral_floor.iter_mut().zip(&floor_weight) {
        if weight > 0.0 {
            *floor /= weight;
        }
    }
    world.scratch_floor_weight = floor_weight;
    // A corridor of several agreements is recomputed once per agreement, to the same value.
    for &k in &touched {
        let k = k as usize;
        let (cl, cr) = (world.coverage_labour[k], world.coverage_readmission[k]);
        let factor = 1.0 + cl * kl + cr * kv;
        world.labour_factor[k] = factor;
        world.covered_labour[k] = cl * (1.0 + kl) / factor;
    }
    world.bilateral_touched = touched;
}

/// Each destination's share of this year's labour arrivals under labour agreements and of its
/// forced arrivals from readmission partners, from the corridor shares of destination choice.
/// Compiled into the AVX2 build of the flows (it runs inside them), a row of destinations per
/// origin region.
#[inline(always)]
pub fn corridor_shares(world: &mut World) {
    let (n, nr) = (world.n_states, world.n_regions);
    world.bilateral_share.fill(0.0);
    world.readmission_share.fill(0.0);
    if world.agreements.is_empty() {
        return;
    }
    for r in 0..nr {
        let (pl, pf) = (world.pool[LABOUR * nr + r], world.pool[FORCED * nr + r]);
        let row = r * n..(r + 1) * n;
        let labour = &world.share[(LABOUR * nr + r) * n..(LABOUR * nr + r + 1) * n];
        let forced = &world.share[(FORCED * nr + r) * n..(FORCED * nr + r + 1) * n];
        let (covered, readmission) = (
            &world.covered_labour[row.clone()],
            &world.coverage_readmission[row],
        );
        let (bilateral_share, readmission_share) = (
            &mut world.bilateral_share[..n],
            &mut world.readmission_share[..n],
        );
        let (labour, forced, covered, readmission) =
            (&labour[..n], &forced[..n], &covered[..n], &readmission[..n]);
        for j in 0..n {
            bilateral_share[j] += pl * labour[j] * covered[j];
            readmission_share[j] += pf * forced[j] * readmission[j];
        }
    }
    for j in 0..n {
        let (l, f) = (world.inflow[LABOUR][j], world.inflow[FORCED][j]);
        world.bilateral_share[j] = if l > 0.0 {
            (world.bilateral_share[j] / l).min(1.0)
        } else {
            0.0
        };
        world.readmission_share[j] = if f > 0.0 {
            (world.readmission_share[j] / f).min(1.0)
        } else {
            0.0
        };
    }
}

/// Marks every candidate of the pair (origin, destination) as holding an agreement of a kind
/// (bit 0 labour, bit 1 readmission); `index` is the candidates sorted by pair, with their
/// positions (`World::bilateral_index`), and the pair's candidates begin at `first` ([`slot`]).
/// A pair that is not a candidate marks nothing.
fn hold(
    index: &[(u32, u32, u32)],
    held: &mut [u8],
    first: u32,
    (origin, destination): (u32, u32),
    readmission: bool,
) {
    for &(_, _, c) in index[first as usize..]
        .iter()
        .take_while(|&&(o, j, _)| (o, j) == (origin, destination))
    {
        held[c as usize] |= 1 << u8::from(readmission);
    }
}

/// The year's agreements: timeline changes of the settings, lapses, new signatures, and removals
/// under readmission seen.
pub fn step(world: &mut World, scenario: &Scenario, rng: &mut ChaCha8Rng) {
    let year = world.year;
    let mut settings_changed = false;
    while let Some(change) = scenario.bilateral_timeline.get(world.bilateral_next) {
        if change.year > year {
            break;
        }
        if let Some(slot) = world.bilateral.get_mut(change.field) {
            *slot = change.value;
            settings_changed = true;
        }
        world.bilateral_next += 1;
    }
    let bp = world.bilateral.clone();
    let before = world.agreements.len();
    let lifetime = bp.lifetime as i32;
    world.agreements.retain(|a| year - a.since < lifetime);
    let mut changed = settings_changed || world.agreements.len() != before;
    // Which candidate pairs hold an agreement of each kind: a flag per candidate instead of a
    // search of the agreements per pair considered (the same answer, in time linear in both).
    world.bilateral_held.fill(0);
    for a in &world.agreements {
        hold(
            &world.bilateral_index,
            &mut world.bilateral_held,
            a.slot,
            (a.origin, a.destination),
            a.readmission,
        );
    }
    // Two draws per candidate pair (one per kind) and one per State, whatever happens.
    let nc = world.bilateral_candidates.len();
    let mut words = std::mem::take(&mut world.scratch_words);
    if words.len() < 2 * nc {
        words.resize(2 * nc, 0);
    }
    fill_words(rng, &mut words[..2 * nc]);
    let mu = scenario.admission.mu;
    for (c, &(o, j)) in world.bilateral_candidates.iter().enumerate() {
        for kind in 0..2 {
            let u = to_uniform(words[2 * c + kind]);
            if u >= bp.consider_prob {
                continue;
            }
            let readmission = kind == 1;
            if world.bilateral_held[c] & (1 << kind) != 0 {
                continue;
            }
            let (oi, ji) = (o as usize, j as usize);
            let stock = world.network[world.region[oi] as usize * world.n_states + ji]
                * world.origin_share[oi];
            let flow_dest = 1000.0 * mu * stock / world.population[ji];
            let flow_origin = 1000.0 * mu * stock / world.population[oi];
            let (gain_dest, gain_origin) = if readmission {
                let hosted = world.stock(ji).max(1.0);
                let irregular =
                    1000.0 * world.arrivals_irregular[ji] * (stock / hosted) / world.population[ji];
                (
                    bp.deal_value * irregular * world.pressure[ji],
                    bp.deal_value * flow_origin - bp.readmission_cost,
                )
            } else {
                (
                    bp.deal_value * flow_dest * world.income[ji] * (1.0 - world.pressure[ji]),
                    bp.deal_value * flow_origin,
                )
            };
            let gain = gain_dest.min(gain_origin) - bp.fixed_cost;
            if u / bp.consider_prob < logistic(gain / bp.temperature) {
                world.signed[kind] += 1;
                let first = slot(&world.bilateral_index, o, j);
                hold(
                    &world.bilateral_index,
                    &mut world.bilateral_held,
                    first,
                    (o, j),
                    readmission,
                );
                world.agreements.push(Agreement {
                    origin: o,
                    destination: j,
                    readmission,
                    since: year,
                    rights: if readmission { 0.0 } else { bp.new_rights },
                    slot: first,
                });
                changed = true;
            }
        }
    }
    let n = world.n_states;
    fill_words(rng, &mut words[..n]);
    let loss = scenario.forum_dynamics.reputation_loss;
    for (j, &word) in words[..n].iter().enumerate() {
        let forced = world.inflow[FORCED][j];
        if world.readmitted[j] > 0.0 && forced > 0.0 && to_uniform(word) < bp.transparency {
            let seen = world.readmitted[j] / forced;
            world.reputation[j] = (world.reputation[j] - loss * seen).max(0.0);
        }
    }
    world.scratch_words = words;
    if changed {
        rebuild(world);
    }
}

/// Number of agreements of each kind in force: (labour, readmission).
pub fn counts(world: &World) -> (usize, usize) {
    let readmission = world.agreements.iter().filter(|a| a.readmission).count();
    (world.agreements.len() - readmission, readmission)
}
