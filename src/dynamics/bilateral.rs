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

use super::math::{LANES, Lanes, Real};
use super::{fill_words, to_uniform};
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

super::dispatch::simd_dispatch! {
    /// The year's agreements: timeline changes of the settings, lapses, new signatures, and
    /// removals under readmission seen.
    pub fn step / step_portable (world: &mut World, scenario: &Scenario, rng: &mut ChaCha8Rng) => step_body
}

/// Formation runs in three passes with the decisions of the one-candidate-at-a-time loop
/// (`tests::step_one_at_a_time` keeps it, and a test compares the two): which candidates consider
/// an agreement ([`consider`]), whether their two sides would sign, four candidates at a time
/// ([`accept`]), and the signatures in candidate order, each skipped if a signature earlier in
/// the year gave its pair that kind of agreement. Whether a pair is considered, and whether it
/// would sign, are coin flips the processor cannot predict: the first two passes have no branch
/// on them, and a signature's chain of divisions and exponential no longer waits on the last.
#[inline(always)]
fn step_body(world: &mut World, scenario: &Scenario, rng: &mut ChaCha8Rng) {
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
    let mut changed = lapse(world) | settings_changed;
    // Two draws per candidate pair (one per kind) and one per State, whatever happens.
    let nc = world.bilateral_candidates.len();
    let mut words = std::mem::take(&mut world.scratch_words);
    if words.len() < 2 * nc {
        words.resize(2 * nc, 0);
    }
    fill_words(rng, &mut words[..2 * nc]);
    let mut considered = std::mem::take(&mut world.scratch_considered);
    let counts = consider(world, &words[..2 * nc], bp.consider_prob, &mut considered);
    let mut accepted = std::mem::take(&mut world.scratch_accepted);
    accepted.clear();
    for (kind, (list, &count)) in considered.iter().zip(&counts).enumerate() {
        accept(world, scenario, &words, kind, &list[..count], &mut accepted);
    }
    // In candidate order, and for one candidate labour before readmission, as they were drawn.
    accepted.sort_unstable();
    for &code in &accepted {
        let (c, kind) = ((code >> 1) as usize, (code & 1) as usize);
        // A signature earlier this year may have given this pair the agreement already.
        if world.bilateral_held[c] & (1 << kind) != 0 {
            continue;
        }
        sign(world, c, kind);
        changed = true;
    }
    world.scratch_considered = considered;
    world.scratch_accepted = accepted;
    seen_removals(world, scenario, rng, &mut words);
    world.scratch_words = words;
    if changed {
        rebuild(world);
    }
}

/// Lapses the agreements older than their lifetime and flags, per candidate pair, the kinds it
/// holds (a flag per candidate instead of a search of the agreements per pair considered: the
/// same answer, in time linear in both). Whether any lapsed.
fn lapse(world: &mut World) -> bool {
    let (year, lifetime) = (world.year, world.bilateral.lifetime as i32);
    let before = world.agreements.len();
    world.agreements.retain(|a| year - a.since < lifetime);
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
    world.agreements.len() != before
}

/// Candidate `c` signs an agreement of kind `kind` (0 labour, 1 readmission) this year, and
/// every candidate of its pair is flagged as holding it.
fn sign(world: &mut World, c: usize, kind: usize) {
    let readmission = kind == 1;
    let (o, j) = world.bilateral_candidates[c];
    world.signed[kind] += 1;
    let first = slot(&world.bilateral_index, o, j);
    let held = &mut world.bilateral_held;
    hold(&world.bilateral_index, held, first, (o, j), readmission);
    world.agreements.push(Agreement {
        origin: o,
        destination: j,
        readmission,
        since: world.year,
        rights: if readmission {
            0.0
        } else {
            world.bilateral.new_rights
        },
        slot: first,
    });
}

/// Removals under readmission agreements are seen with probability `transparency` and cost the
/// destination reputation in proportion to the share of its forced arrivals removed. One draw
/// per State, whatever happens, into `words`.
fn seen_removals(world: &mut World, scenario: &Scenario, rng: &mut ChaCha8Rng, words: &mut [u32]) {
    let n = world.n_states;
    fill_words(rng, &mut words[..n]);
    let loss = scenario.forum_dynamics.reputation_loss;
    let transparency = world.bilateral.transparency;
    for (j, &word) in words[..n].iter().enumerate() {
        let forced = world.inflow[FORCED][j];
        if world.readmitted[j] > 0.0 && forced > 0.0 && to_uniform(word) < transparency {
            let seen = world.readmitted[j] / forced;
            world.reputation[j] = (world.reputation[j] - loss * seen).max(0.0);
        }
    }
}

/// Writes into `lists[kind]` the candidates that consider an agreement of that kind this year
/// (their draw, `words[2 * candidate + kind]`, falls below `consider_prob`) and did not hold one
/// at the start of the year, in candidate order, and returns how many of each. Every candidate is
/// written and the count moves on only for those kept, so the loop has no branch on the draws.
#[inline(always)]
fn consider(
    world: &World,
    words: &[u32],
    consider_prob: f64,
    lists: &mut [Vec<u32>; 2],
) -> [usize; 2] {
    let mut counts = [0usize; 2];
    // Room for every candidate and one more: the last written is kept only if it counts.
    let room = words.len() / 2 + 1;
    let [labour, readmission] = lists;
    let (labour, readmission) = (&mut labour[..room], &mut readmission[..room]);
    for (c, (pair, &held)) in words.chunks_exact(2).zip(&world.bilateral_held).enumerate() {
        let [w_labour, w_readmission] = [pair[0], pair[1]];
        labour[counts[0]] = c as u32;
        counts[0] += usize::from((to_uniform(w_labour) < consider_prob) & (held & 1 == 0));
        readmission[counts[1]] = c as u32;
        counts[1] += usize::from((to_uniform(w_readmission) < consider_prob) & (held & 2 == 0));
    }
    counts
}

/// Appends to `accepted`, as `2 * candidate + kind`, the candidates of `list` (considering an
/// agreement of kind `kind`: 0 labour, 1 readmission) whose two sides would sign: with $G$ the
/// smaller side's gain less the fixed cost, the draw scaled to the consideration, $u / p$, falls
/// below $\sigma(G / T)$. Four candidates at a time, a lane each, with the IEEE operations of one
/// candidate per lane in the formula's order; the last block repeats its last candidate in its
/// empty lanes and drops them.
#[inline(always)]
fn accept(
    world: &World,
    scenario: &Scenario,
    words: &[u32],
    kind: usize,
    list: &[u32],
    accepted: &mut Vec<u32>,
) {
    let bp = &world.bilateral;
    let n = world.n_states;
    let c = Lanes::splat;
    let flow_scale = c(1000.0 * scenario.admission.mu);
    let deal_value = c(bp.deal_value);
    for first in (0..list.len()).step_by(LANES) {
        let cs: [usize; LANES] =
            std::array::from_fn(|l| list[(first + l).min(list.len() - 1)] as usize);
        let o = cs.map(|c| world.bilateral_candidates[c].0 as usize);
        let j = cs.map(|c| world.bilateral_candidates[c].1 as usize);
        let at = |v: &[f64], i: [usize; LANES]| Lanes::from_fn(|l| v[i[l]]);
        let stock = Lanes::from_fn(|l| {
            world.network[world.region[o[l]] as usize * n + j[l]] * world.origin_share[o[l]]
        });
        let flow_origin = flow_scale * stock / at(&world.population, o);
        let (gain_dest, gain_origin) = if kind == 1 {
            let hosted = Lanes::from_fn(|l| world.stock(j[l]).max(1.0));
            let irregular = c(1000.0) * at(&world.arrivals_irregular, j) * (stock / hosted)
                / at(&world.population, j);
            (
                deal_value * irregular * at(&world.pressure, j),
                deal_value * flow_origin - c(bp.readmission_cost),
            )
        } else {
            let flow_dest = flow_scale * stock / at(&world.population, j);
            (
                deal_value * flow_dest * at(&world.income, j) * (c(1.0) - at(&world.pressure, j)),
                deal_value * flow_origin,
            )
        };
        // `f64::min` per lane, as the formula reads (it treats NaN as the scalar code did).
        let gain = Lanes::from_fn(|l| gain_dest.0[l].min(gain_origin.0[l])) - c(bp.fixed_cost);
        let p_sign = (gain / c(bp.temperature)).logistic();
        let u = Lanes::from_fn(|l| to_uniform(words[2 * cs[l] + kind]));
        let signs = p_sign.gt(u / c(bp.consider_prob)).to_bools();
        for l in 0..LANES.min(list.len() - first) {
            if signs[l] {
                accepted.push(2 * cs[l] as u32 + kind as u32);
            }
        }
    }
}

/// Number of agreements of each kind in force: (labour, readmission).
pub fn counts(world: &World) -> (usize, usize) {
    let readmission = world.agreements.iter().filter(|a| a.readmission).count();
    (world.agreements.len() - readmission, readmission)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamics::logistic;
    use crate::experiment::seeds;

    /// Formation as first written: one candidate and kind at a time, each decided and signed
    /// before the next is considered. The reference the three passes of [`step`] must match.
    fn step_one_at_a_time(world: &mut World, scenario: &Scenario, rng: &mut ChaCha8Rng) {
        let bp = world.bilateral.clone();
        let mut changed = lapse(world);
        let nc = world.bilateral_candidates.len();
        let mut words = vec![0; 2 * nc.max(world.n_states)];
        fill_words(rng, &mut words[..2 * nc]);
        let mu = scenario.admission.mu;
        for c in 0..nc {
            let (o, j) = world.bilateral_candidates[c];
            for kind in 0..2 {
                let u = to_uniform(words[2 * c + kind]);
                if u >= bp.consider_prob || world.bilateral_held[c] & (1 << kind) != 0 {
                    continue;
                }
                let readmission = kind == 1;
                let (oi, ji) = (o as usize, j as usize);
                let stock = world.network[world.region[oi] as usize * world.n_states + ji]
                    * world.origin_share[oi];
                let flow_dest = 1000.0 * mu * stock / world.population[ji];
                let flow_origin = 1000.0 * mu * stock / world.population[oi];
                let (gain_dest, gain_origin) = if readmission {
                    let hosted = world.stock(ji).max(1.0);
                    let irregular = 1000.0 * world.arrivals_irregular[ji] * (stock / hosted)
                        / world.population[ji];
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
                    sign(world, c, kind);
                    changed = true;
                }
            }
        }
        seen_removals(world, scenario, rng, &mut words);
        if changed {
            rebuild(world);
        }
    }

    /// Every year of the status quo, under settings from few signatures to many, the three
    /// passes of [`step`] (both builds) sign the same agreements in the same order, hold the
    /// same flags, move the same reputations and consume the same draws as one candidate at a
    /// time.
    #[test]
    fn three_passes_sign_what_one_candidate_at_a_time_signs() {
        use rand::Rng;
        let base = Scenario::builtin_default().expect("scenario");
        let facts = base.facts().expect("facts");
        // (consider_prob, fixed_cost, temperature): the default, every candidate considering
        // cheap deals, and near-certain decisions either way.
        // The last setting lists every pair twice, as a table with repeated rows would: a pair
        // that signs a kind early in the year must not sign it again at its second listing.
        let settings = [
            (0.2, 0.2, 1.0, false),
            (1.0, -2.0, 1.0, false),
            (0.7, 0.0, 1e-3, false),
            (1.0, -2.0, 1.0, true),
        ];
        for (consider, fixed, temperature, twice) in settings {
            let mut scenario = base.at_point_values();
            for (key, value) in [
                ("bilateral.consider_prob", consider),
                ("bilateral.fixed_cost", fixed),
                ("bilateral.temperature", temperature),
            ] {
                scenario.set(key, value).expect(key);
            }
            let key = seeds::replication_key(9, 0, 1);
            let mut world = World::new(&facts, &scenario, &mut seeds::stream(key, seeds::WORLD));
            let mut streams = seeds::streams(key, &scenario);
            crate::dynamics::start(&mut world, &scenario, &facts, key, &mut streams);
            if twice {
                let pairs = world.bilateral_candidates.clone();
                world.bilateral_candidates.extend(pairs);
                let nc = world.bilateral_candidates.len();
                let index = &mut world.bilateral_index;
                *index = (world.bilateral_candidates.iter().enumerate())
                    .map(|(c, &(o, j))| (o, j, c as u32))
                    .collect();
                index.sort_unstable();
                for a in &mut world.agreements {
                    a.slot = slot(&world.bilateral_index, a.origin, a.destination);
                }
                world.bilateral_held.resize(nc, 0);
                world.scratch_considered = std::array::from_fn(|_| vec![0; nc + 1]);
                world.scratch_accepted = Vec::with_capacity(2 * nc);
            }
            let mut signed = 0;
            for year in 0..scenario.n_years() {
                let mut reference = (world.clone(), streams.bilateral.clone());
                step_one_at_a_time(&mut reference.0, &scenario, &mut reference.1);
                let passes: [fn(&mut World, &Scenario, &mut ChaCha8Rng); 2] = [step, step_portable];
                for pass in passes {
                    let (mut w, mut rng) = (world.clone(), streams.bilateral.clone());
                    pass(&mut w, &scenario, &mut rng);
                    let at = format!("consider {consider}, fixed cost {fixed}, year {year}");
                    assert_eq!(w.agreements, reference.0.agreements, "{at}");
                    assert_eq!(w.signed, reference.0.signed, "{at}");
                    assert_eq!(w.bilateral_held, reference.0.bilateral_held, "{at}");
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&w.reputation), bits(&reference.0.reputation), "{at}");
                    assert_eq!(
                        bits(&w.labour_factor),
                        bits(&reference.0.labour_factor),
                        "{at}"
                    );
                    assert_eq!(rng.next_u64(), reference.1.clone().next_u64(), "{at}");
                }
                signed += reference.0.signed[0] + reference.0.signed[1];
                crate::dynamics::step(&mut world, &scenario, &mut streams);
            }
            assert!(signed > 0, "consider {consider}: no agreement was signed");
        }
    }
}
