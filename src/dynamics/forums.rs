//! Forum meetings: attendance, practice exchange (learning), joint statement and norm anchor,
//! follow-up and detection, capacity and rights transfer, trust, and the discourse a forum gives
//! its attendees.
//!
//! Practice exchange: attendee j's practice counts by voice $v_j = b_j^\alpha$ times success
//! $\text{success}_j = (1-w)\,\tilde c_j + w\,\text{rights}_j$ with
//! $w = r \cdot \text{visibility} \cdot (1 - \text{security lens})$,
//! visibility $= 1 - (1-\tau)(1-c)$, $\tilde c_j = \tfrac12 + \tfrac12\tanh(\text{cut}_j/\text{cut}_{ref})$
//! where cut is the fall in irregular arrivals per 1000 inhabitants since last year. Each attendee
//! moves each instrument toward the weighted practice of the others by $\eta$ times the agenda weight.
//! With $w \approx 0$ restrictive practices that merely deflected flows look like successes.
//!
//! Joint statement: the anchor is the voice-weighted $q$-quantile of attending members' protection;
//! with memory $m$ it ratchets: $a_t = \max(Q_t, m\,a_{t-1} + (1-m) Q_t)$.
//!
//! All pulls of all forums are computed from the same snapshot and applied together at the end,
//! so the order of forums does not matter.
//!
//! # References
//! Abbott, Keohane, Moravcsik, Slaughter and Snidal (2000), "The Concept of Legalization".

use rand_chacha::ChaCha8Rng;

use super::math::{LANES, Lanes, Real, block, fmax, fmin, pos};
use super::{fill_words, to_uniform};
use crate::scenario::{ForumDynamics, Scenario};
use crate::world::{ForumState, N_DOMAINS, World, forum_voice, mean_of_domains};

/// Agenda weight per instrument: asylum, labour, trafficking, enforcement, legal channels (labour).
#[inline(always)]
pub fn agenda(f: &ForumState) -> [f64; 5] {
    let d = &f.design;
    [
        d.agenda_asylum,
        d.agenda_labour,
        d.agenda_trafficking,
        d.agenda_enforcement,
        d.agenda_labour,
    ]
}

/// Visibility of a forum's proceedings: $1 - (1-\tau)(1-c)$.
#[inline(always)]
pub fn visibility(f: &ForumState) -> f64 {
    1.0 - (1.0 - f.design.transparency) * (1.0 - f.design.civil_society)
}

/// Audience of a shortfall below the forum's anchor: peers see each other's practice even
/// behind closed doors (`peer_audience`); records and civil society make it public.
#[inline(always)]
pub fn audience(f: &ForumState, fd: &ForumDynamics) -> f64 {
    fd.peer_audience + (1.0 - fd.peer_audience) * visibility(f)
}

/// Probability that the follow-up of a meeting detects a shortfall below the anchor: the
/// secretariat's follow-up (memory) seen by the forum's audience, or a third party's monitoring
/// (delegation): $1 - (1 - D)(1 - m \cdot \text{audience})$.
#[inline(always)]
pub fn detection(f: &ForumState, fd: &ForumDynamics) -> f64 {
    1.0 - (1.0 - f.design.delegation) * (1.0 - f.design.memory * audience(f, fd))
}

/// The level a joint statement binds its members to: the anchor, less the room a vague statement
/// leaves (`vagueness_slack` times 1 - precision).
#[inline(always)]
pub fn effective_anchor(
    f: &ForumState,
    fd: &ForumDynamics,
    anchor: &[f64; N_DOMAINS],
) -> [f64; N_DOMAINS] {
    let slack = fd.vagueness_slack * (1.0 - f.design.precision);
    anchor.map(|a| pos(a - slack))
}

/// How strongly the latest joint statement still binds in `year`: 1 in a meeting year, fading by
/// the forum's memory each year without a meeting ($m^{\text{years since}}$), and 0 once the forum
/// has ended (after `last_year`) or before its first meeting.
#[inline(always)]
pub fn norm_strength(f: &ForumState, year: i32) -> f64 {
    match f.last_meeting {
        Some(last) if year <= f.design.last_year as i32 => f.design.memory.powi(year - last),
        _ => 0.0,
    }
}

/// Cost per unit of shortfall below a forum's effective anchor, for a member who attended its
/// latest meeting, at full strength: the norm cost (its audience, or its obligation where binding)
/// and the expected loss of standing if the follow-up detects the shortfall.
#[inline(always)]
pub fn norm_weight(f: &ForumState, scenario: &Scenario) -> f64 {
    let fd = &scenario.forum_dynamics;
    let pp = &scenario.policy;
    let o = f.design.obligation;
    pp.w_reputation * (o + (1.0 - o) * audience(f, fd))
        + pp.w_standing * fd.reputation_loss * detection(f, fd)
}

/// Agenda-weighted shortfall of protection levels `p` below an anchor.
#[inline(always)]
pub fn shortfall<T: Real>(agenda: &[f64; 5], anchor: &[f64; N_DOMAINS], p: &[T]) -> T {
    let total = agenda[0] + agenda[1] + agenda[2];
    if total <= 0.0 {
        return T::splat(0.0);
    }
    // The terms are never negative (nor -0), so adding them from +0 gives the bits of `sum`.
    let mut gap = T::splat(0.0);
    for d in 0..N_DOMAINS {
        gap = gap + T::splat(agenda[d]) * (T::splat(anchor[d]) - p[d]).pos();
    }
    gap / T::splat(total)
}

/// What a meeting reads of one State, gathered once a year from the start-of-step world: every
/// forum it attends reads the same values, from one place.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    /// The five instruments.
    pub x: [f64; 5],
    pub pressure: f64,
    /// Success at cutting irregular arrivals, in (0, 1) (how an interior ministry judges).
    pub cut_score: f64,
    /// Success at raising regular labour arrivals, in (0, 1) (how a labour or development
    /// ministry judges).
    pub gain_score: f64,
    /// Success at raising rights protection, per domain, in (0, 1) (how a rights agenda judges).
    pub rights_score: [f64; N_DOMAINS],
    pub destination: bool,
}

/// Whether a forum meets in `year`.
pub fn meets(f: &ForumState, year: i32) -> bool {
    let d = &f.design;
    let first = d.first_year as i32;
    year >= first
        && year <= d.last_year as i32
        && (year - first) % (d.interval as i32) == 0
        && !f.skip_years.contains(&year)
}

/// Voice-weighted `q`-quantile of `pairs` (value, weight): the smallest value, among those of
/// positive weight, at which the cumulative weight of the values up to it reaches `q` times the
/// total (at `q` = 1, the largest value of positive weight). Leaves `pairs` overwritten (a
/// scratch buffer). An empty slice gives 0; a slice without weight gives its smallest value.
#[inline(always)]
pub fn weighted_quantile(pairs: &mut [(f64, f64)], q: f64) -> f64 {
    let [v] = weighted_quantiles([pairs], q);
    v
}

/// [`weighted_quantile`] of `D` slices of one length at once (a joint statement's three domains,
/// whose weights are the same voices): each gives the bits it gives alone, and the passes over
/// the pairs are shared.
///
/// Linear time and almost no unpredictable branches (a global forum states its joint statement
/// every year, in three domains): the weights are binned into [`BINS`] equal bins between the
/// smallest and the largest value, the bin where the cumulative weight reaches the target is
/// found, and only that bin's values are sorted. The `D` histograms fill in one pass, so
/// consecutive additions to one bin rarely wait on each other.
#[inline(always)]
// The passes walk index k across the D slices (pairs[d][k]), which an iterator over one slice
// does not express.
#[allow(clippy::needless_range_loop)]
pub fn weighted_quantiles<const D: usize>(pairs: [&mut [(f64, f64)]; D], q: f64) -> [f64; D] {
    let len = pairs.first().map_or(0, |p| p.len());
    assert!(pairs.iter().all(|p| p.len() == len), "slices of one length");
    if len == 0 {
        return [0.0; D];
    }
    let (mut lo, mut hi, mut total) = ([f64::INFINITY; D], [f64::NEG_INFINITY; D], [0.0; D]);
    // The largest value of positive weight: the answer at q = 1, and when rounding leaves the
    // target out of reach.
    let mut top = [f64::NEG_INFINITY; D];
    for k in 0..len {
        for d in 0..D {
            let (v, w) = pairs[d][k];
            lo[d] = fmin(lo[d], v);
            hi[d] = fmax(hi[d], v);
            top[d] = fmax(top[d], if w > 0.0 { v } else { f64::NEG_INFINITY });
            total[d] += w;
        }
    }
    // About two pairs per bin: fewer bins cost less to clear and scan.
    let bins = (len / 2).clamp(4, BINS);
    let mut result = [0.0; D];
    // Domains answered without a histogram bin everything into bin 0 (scale 0) and skip the rest.
    let mut open = [false; D];
    let mut scale = [0.0; D];
    for d in 0..D {
        if total[d] <= 0.0 || hi[d] <= lo[d] {
            result[d] = lo[d];
        } else if q >= 1.0 {
            result[d] = top[d];
        } else {
            open[d] = true;
            scale[d] = bins as f64 / (hi[d] - lo[d]);
        }
    }
    if !open.contains(&true) {
        return result;
    }
    // Any binning that never decreases with the value works; rounding by the 1.5 * 2^52 trick
    // costs two instructions where a float-to-integer cast checks for NaN and overflow.
    let bin = |v: f64, d: usize| {
        let nearest = ((v - lo[d]) * scale[d] + 6_755_399_441_055_744.0).to_bits() as u32 as usize;
        nearest.min(bins - 1)
    };
    let mut weight = [[0.0; BINS]; D];
    for k in 0..len {
        for d in 0..D {
            let (v, w) = pairs[d][k];
            weight[d][bin(v, d)] += w;
        }
    }
    for d in (0..D).filter(|&d| open[d]) {
        let target = q * total[d];
        let mut below = 0.0;
        let mut found = None;
        for (b, &w) in weight[d][..bins].iter().enumerate() {
            if w > 0.0 && below + w >= target {
                found = Some(b);
                break;
            }
            below += w;
        }
        let Some(chosen) = found else {
            result[d] = top[d];
            continue;
        };
        // Gather the chosen bin's pairs at the front in their order, sort them and walk up to
        // the target. Every pair is written at the front's end, which moves on past a pair of
        // the bin only: no branch on a coin flip to the processor (the pairs left behind are
        // overwritten, not kept).
        let pairs = &mut *pairs[d];
        let mut m = 0;
        for k in 0..len {
            let p = pairs[k];
            pairs[m] = p;
            m += usize::from(bin(p.0, d) == chosen);
        }
        let range = &mut pairs[..m];
        insertion_sort(range);
        let mut cum = below;
        result[d] = top[d];
        for &(v, w) in range.iter() {
            cum += w;
            if w > 0.0 && cum >= target {
                result[d] = v;
                break;
            }
        }
    }
    result
}

/// Most bins of [`weighted_quantile`].
const BINS: usize = 64;

/// Longest bin [`insertion_sort`] sorts by insertion.
const INSERTION_MAX: usize = 32;

/// Stable sort by value, for the one bin [`weighted_quantile`] sorts: insertion for the short
/// bins of most forums, the standard library's stable sort for the long bins of very large ones
/// (insertion would cost O(len^2) there). Both leave pairs of equal value in their order, so they
/// give the same bits.
#[inline(always)]
fn insertion_sort(pairs: &mut [(f64, f64)]) {
    if pairs.len() > INSERTION_MAX {
        pairs.sort_by(|a, b| {
            if a.0 > b.0 {
                std::cmp::Ordering::Greater
            } else if a.0 < b.0 {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Equal
            }
        });
        return;
    }
    for i in 1..pairs.len() {
        let mut j = i;
        while j > 0 && pairs[j - 1].0 > pairs[j].0 {
            pairs.swap(j - 1, j);
            j -= 1;
        }
    }
}

super::dispatch::simd_dispatch! {
    /// The meetings due this year, their pulls applied together, and discourse.
    pub fn step / step_portable (world: &mut World, scenario: &Scenario, rngs: &mut [ChaCha8Rng]) => step_body
}

#[inline(always)]
fn step_body(world: &mut World, scenario: &Scenario, rngs: &mut [ChaCha8Rng]) {
    let fd = &scenario.forum_dynamics;
    for r in world.reputation.iter_mut() {
        *r += fd.reputation_recovery * (1.0 - *r);
    }
    world.scratch_pull.fill([0.0; 5]);
    world.scratch_discourse.fill(0.0);
    // Divisions are slow and sit on every chain below: each divisor is inverted once.
    let cut_scale = 2.0 / fd.cut_ref;
    let gain_scale = 2.0 / fd.gain_ref;
    // A rise of one policy step counts as a clear success for rights.
    let rights_scale = 2.0 / scenario.policy.delta.max(1e-9);
    // The start-of-step snapshot every forum reads, contiguous per State, and each State's
    // success at cutting irregular arrivals (the same in every forum it attends).
    // Four States at a time: their five scores are logistics, twenty exponentials in five
    // vector calls (the bits of one at a time). The last block repeats the world's last State.
    let n = world.n_states;
    for first in (0..n).step_by(LANES) {
        let states = block(first, n);
        let per_mille = Lanes::gather(&world.per_mille, states);
        let cut = (Lanes::gather(&world.entries_irregular_prev, states)
            - Lanes::gather(&world.entries_irregular, states))
            * per_mille;
        let gain = (Lanes::gather(&world.arrivals_regular, states)
            - Lanes::gather(&world.arrivals_regular_prev, states))
            * per_mille;
        // 1/2 + tanh(c)/2 is the logistic of 2c: one exponential instead of tanh.
        let c = Lanes::splat;
        let cut_score = (cut * c(cut_scale)).logistic();
        let gain_score = (gain * c(gain_scale)).logistic();
        let mut rights_score = [c(0.0); N_DOMAINS];
        for (d, score) in rights_score.iter_mut().enumerate() {
            let moved = Lanes::from_fn(|l| world.last_move[states[l]][d]);
            *score = (moved * c(rights_scale)).logistic();
        }
        for (l, &i) in states.iter().enumerate().take(n - first) {
            world.scratch_snapshot[i] = Snapshot {
                x: world.instruments(i),
                pressure: world.pressure[i],
                cut_score: cut_score.0[l],
                gain_score: gain_score.0[l],
                rights_score: rights_score.map(|s| s.0[l]),
                destination: world.destination[i],
            };
        }
    }
    let mut forums = std::mem::take(&mut world.forums);
    for ((forum, spec), rng) in forums.iter_mut().zip(&scenario.forums).zip(rngs.iter_mut()) {
        let mut changed = false;
        while let Some(change) = spec.timeline.get(forum.next_change) {
            if change.year > world.year {
                break;
            }
            if let Some(slot) = forum.design.get_mut(change.field) {
                *slot = change.value;
                changed = true;
            }
            forum.next_change += 1;
        }
        if changed || forum.voice_exponent != forum.design.power_exponent {
            forum.voice_exponent = forum.design.power_exponent;
            forum_voice(
                &world.power,
                &forum.participants,
                forum.n_members,
                &forum.chair,
                forum.voice_exponent,
                fd.chair_voice,
                &mut forum.voice,
            );
        }
        forum.met_this_year = meets(forum, world.year);
        if forum.met_this_year {
            meet(world, scenario, forum, rng);
            forum.last_meeting = Some(world.year);
        }
    }
    world.forums = forums;
    for i in 0..world.n_states {
        let pull = world.scratch_pull[i];
        for (k, p) in pull.iter().enumerate() {
            if *p != 0.0 {
                let x = world.instrument(i, k);
                world.set_instrument(i, k, x + p);
            }
        }
        let d = scenario.pressure.discourse_decay * world.discourse[i] + world.scratch_discourse[i];
        world.discourse[i] = d.clamp(0.0, 1.0);
    }
}

#[inline(always)]
fn meet(world: &mut World, scenario: &Scenario, forum: &mut ForumState, rng: &mut ChaCha8Rng) {
    let fd = &scenario.forum_dynamics;
    let design = &forum.design;
    let agenda = agenda(forum);
    let vis = visibility(forum);
    // Success: rights where they are on the agenda and visible (an interior ministry discounts
    // them); the rest as each ministry judges it: cuts in irregular arrivals (the security lens)
    // or gains in regular labour arrivals (labour and development ministries).
    let w = design.rights_agenda * vis * (1.0 - design.security_lens);
    let lens = design.security_lens;
    let agenda_p = agenda[0] + agenda[1] + agenda[2];
    let inverse_agenda = 1.0 / agenda_p;
    let obligation = fd.attend_obligation * design.obligation;
    let capacity = design.capacity_transfer;
    let rights_transfer = design.rights_transfer;
    let p_detect = detection(forum, fd);
    let memory = design.memory;
    let quantile = design.consensus_quantile;
    let discourse = design.rights_agenda * (0.5 + 0.5 * design.civil_society);
    let n_members = forum.n_members;
    let previous = forum.anchor;
    let binding = previous.map(|a| effective_anchor(forum, fd, &a));

    // Attendance and trust; each attendee's success, voice and practice; the joint statement's
    // inputs and the destination members' enforcement. One draw per participant. Who attends
    // is a coin flip per participant, so the pass has no branch on it: a non-attendee adds
    // zeros and is not written to the lists.
    let np = forum.participants.len();
    let mut words = std::mem::take(&mut world.scratch_words);
    let (draws, follow_up) = words[..2 * np].split_at_mut(np);
    fill_words(rng, draws);
    let mut attendance = 0;
    let mut members = 0;
    let mut total = 0.0;
    let mut sums = [0.0; 5];
    let (mut dest_voice, mut dest_enforcement) = (0.0, 0.0);
    let snapshot = &world.scratch_snapshot;
    // The practice each State adopted last year (its own policy move per instrument), which no
    // meeting changes: read where the policy left it rather than copied into the snapshot.
    let practice = &world.last_move;
    // First each participant's attendance, trust and weight, four participants at a time, a
    // lane each: no participant waits on another, so the long chain of each (shortfall,
    // exponential, division, coin, trust) runs in the lanes of one register. The last block
    // repeats the last participant in its empty lanes and drops them.
    let c = Lanes::splat;
    for first in (0..np).step_by(LANES) {
        let k = block(first, np);
        let s = k.map(|k| &snapshot[forum.participants[k] as usize]);
        let x: [Lanes; N_DOMAINS] = std::array::from_fn(|d| Lanes::from_fn(|l| s[l].x[d]));
        let gap = binding.map_or(c(0.0), |a| shortfall(&agenda, &a, &x));
        let t = Lanes::gather(&forum.trust, k);
        let pressure = Lanes::from_fn(|l| s[l].pressure);
        let logit = c(fd.attend_base) + c(fd.attend_trust) * t - c(obligation) * pressure * gap;
        let p_attend = logit.logistic();
        let came = Lanes::from_fn(|l| to_uniform(draws[k[l]])).lt(p_attend);
        let gained = t + c(fd.trust_gain) * (c(1.0) - t);
        let lost = t - c(fd.trust_decay) * t;
        let trust = Lanes::select(came, gained, lost);
        let r: [Lanes; N_DOMAINS] =
            std::array::from_fn(|d| Lanes::from_fn(|l| s[l].rights_score[d]));
        let rights = if agenda_p > 0.0 {
            (c(agenda[0]) * r[0] + c(agenda[1]) * r[1] + c(agenda[2]) * r[2]) * c(inverse_agenda)
        } else {
            mean_of_domains(&r)
        };
        let judged = c(lens) * Lanes::from_fn(|l| s[l].cut_score)
            + c(1.0 - lens) * Lanes::from_fn(|l| s[l].gain_score);
        let voice = Lanes::gather(&forum.voice, k);
        // Never negative; 0 for a non-attendee, whose terms below then add exactly nothing.
        let weight = Lanes::select(came, voice * (c(1.0 - w) * judged + c(w) * rights), c(0.0));
        let end = first + LANES.min(np - first);
        forum.attended[first..end].copy_from_slice(&came.to_bools()[..end - first]);
        forum.trust[first..end].copy_from_slice(&trust.0[..end - first]);
        forum.scratch_weight[first..end].copy_from_slice(&weight.0[..end - first]);
    }
    // Then the sums, in participant order: the members first (who also state the joint
    // statement), then the observers. Two loops rather than a test per participant, so the
    // compiler lays out one body each.
    let attendees = &mut forum.attendees[..np];
    let [q0, q1, q2] = &mut forum.scratch_quantile;
    let (q0, q1, q2) = (
        &mut q0[..n_members],
        &mut q1[..n_members],
        &mut q2[..n_members],
    );
    for k in 0..n_members {
        let (voice, came, wt) = (forum.voice[k], forum.attended[k], forum.scratch_weight[k]);
        let i = forum.participants[k] as usize;
        let s = &snapshot[i];
        attendees[attendance] = k as u32;
        attendance += usize::from(came);
        total += wt;
        for (sum, move_k) in sums.iter_mut().zip(&practice[i]) {
            *sum += wt * move_k;
        }
        q0[members] = (s.x[0], voice);
        q1[members] = (s.x[1], voice);
        q2[members] = (s.x[2], voice);
        members += usize::from(came);
        let counts = f64::from(u8::from(came & s.destination));
        dest_voice += voice * counts;
        dest_enforcement += voice * s.x[3] * counts;
    }
    for k in n_members..np {
        let (came, wt) = (forum.attended[k], forum.scratch_weight[k]);
        let i = forum.participants[k] as usize;
        attendees[attendance] = k as u32;
        attendance += usize::from(came);
        total += wt;
        for (sum, move_k) in sums.iter_mut().zip(&practice[i]) {
            *sum += wt * move_k;
        }
    }
    forum.attendance = attendance;

    // Joint statement of the attending members and the norm anchor, which ratchets with memory.
    if members > 0 {
        let q = weighted_quantiles(
            forum.scratch_quantile.each_mut().map(|b| &mut b[..members]),
            quantile,
        );
        forum.anchor = Some(match previous {
            Some(prev) => {
                std::array::from_fn(|d| q[d].max(memory * prev[d] + (1.0 - memory) * q[d]))
            }
            None => q,
        });
    }
    let anchor = forum.anchor;
    let binding = anchor.map(|a| effective_anchor(forum, fd, &a));
    let e_dest = (capacity > 0.0 && dest_voice > 0.0).then(|| dest_enforcement / dest_voice);

    // Practice exchange, follow-up, capacity and rights transfer, discourse, for the attendees.
    // One draw per participant for the follow-up, drawn in one call; only attendees use theirs.
    fill_words(rng, follow_up);
    for &k in &forum.attendees[..attendance] {
        let k = k as usize;
        let u = to_uniform(follow_up[k]);
        let i = forum.participants[k] as usize;
        let wt = forum.scratch_weight[k];
        let s = world.scratch_snapshot[i];
        let own = world.last_move[i];
        let x = s.x;
        let pull = &mut world.scratch_pull[i];
        // Practice exchange: adopt the success-and-voice-weighted practice (last year's policy
        // move) of the others.
        let others = total - wt;
        if fd.eta > 0.0 && others > total * 1e-12 {
            let inverse = 1.0 / others;
            for inst in 0..5 {
                let practice = (sums[inst] - wt * own[inst]) * inverse;
                pull[inst] += fd.eta * agenda[inst] * practice;
            }
        }
        if k < n_members {
            // Capacity transfer: transit and origin members' enforcement toward destination
            // members' (a destination member's pull gets an exact zero, without a branch).
            if let Some(e) = e_dest {
                let transit = f64::from(u8::from(!s.destination));
                pull[3] += capacity * (e - x[3]) * transit;
            }
            if let Some(anchor) = anchor {
                // Rights transfer (a protection mandate): protection up toward the anchor.
                if rights_transfer > 0.0 {
                    for d in 0..N_DOMAINS {
                        pull[d] += rights_transfer * agenda[d] * (anchor[d] - x[d]).max(0.0);
                    }
                }
                // Follow-up: a shortfall below the binding level is detected with the
                // probability of `detection`.
                let gap = binding.map_or(0.0, |b| shortfall(&agenda, &b, &x));
                let seen = gap > 0.0 && u < p_detect;
                let reputation = world.reputation[i];
                let lowered = (reputation - fd.reputation_loss * gap).max(0.0);
                world.reputation[i] = if seen { lowered } else { reputation };
            }
        }
        // A balanced discourse for the attendees' domestic debate (seed 3.2.1).
        if discourse > 0.0 {
            world.scratch_discourse[i] += discourse;
        }
    }
    world.scratch_words = words;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_quantile_picks_lowest_at_zero_and_median_at_half() {
        // Each call gets its own copy: a call leaves its pairs overwritten.
        let v = [(0.5, 1.0), (0.1, 1.0), (0.9, 1.0)];
        assert_eq!(weighted_quantile(&mut v.clone(), 0.0), 0.1);
        assert_eq!(weighted_quantile(&mut v.clone(), 0.5), 0.5);
        assert_eq!(weighted_quantile(&mut v.clone(), 1.0), 0.9);
        // A dominant voice moves the median to its own level.
        let mut v = vec![(0.5, 1.0), (0.1, 1.0), (0.9, 10.0)];
        assert_eq!(weighted_quantile(&mut v, 0.5), 0.9);
    }

    /// The stable sort of long bins orders pairs exactly as insertion does (ties, signed zeros).
    #[test]
    fn long_bins_sort_as_insertion_does() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(16);
        for len in [INSERTION_MAX + 1, 100, 1000] {
            let pairs: Vec<(f64, f64)> = (0..len)
                .map(|k| {
                    let v = match rng.random_range(0..5u32) {
                        0 => -0.0,
                        1 => 0.0,
                        _ => rng.random_range(0..7u32) as f64 * 0.25,
                    };
                    (v, k as f64)
                })
                .collect();
            let mut by_insertion = pairs.clone();
            for i in 1..len {
                let mut j = i;
                while j > 0 && by_insertion[j - 1].0 > by_insertion[j].0 {
                    by_insertion.swap(j - 1, j);
                    j -= 1;
                }
            }
            let mut sorted = pairs;
            insertion_sort(&mut sorted);
            let bits = |p: &[(f64, f64)]| -> Vec<(u64, u64)> {
                p.iter().map(|x| (x.0.to_bits(), x.1.to_bits())).collect()
            };
            assert_eq!(bits(&sorted), bits(&by_insertion), "len = {len}");
        }
    }

    /// Three domains at once give, per domain, the bits of three separate calls (also when one
    /// domain is answered without a histogram: all equal values, or no weight).
    #[test]
    fn three_domains_at_once_agree_with_one_at_a_time() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for case in 0..500 {
            let n = 1 + case % 150;
            let voices: Vec<f64> = (0..n)
                .map(|_| match case % 7 {
                    0 => 0.0,
                    _ => rng.random::<f64>(),
                })
                .collect();
            let domains: Vec<Vec<(f64, f64)>> = (0..3)
                .map(|d| {
                    voices
                        .iter()
                        .map(|&w| {
                            let v = if d == 1 && case % 5 == 0 {
                                0.5
                            } else {
                                (rng.random_range(0..20u32) as f64 / 20.0).powi(2)
                            };
                            (v, w)
                        })
                        .collect()
                })
                .collect();
            for q in [0.0, 0.3, 0.5, 1.0] {
                let mut each = domains.clone();
                let alone: Vec<u64> = each
                    .iter_mut()
                    .map(|p| weighted_quantile(p, q).to_bits())
                    .collect();
                let mut all = domains.clone();
                let [a, b, c] = &mut all[..] else {
                    unreachable!()
                };
                let together = weighted_quantiles([&mut a[..], &mut b[..], &mut c[..]], q);
                assert_eq!(
                    together.map(f64::to_bits).to_vec(),
                    alone,
                    "case {case}, q {q}"
                );
            }
        }
    }

    /// The binned selection agrees with the definition (sort, then walk up the cumulative
    /// weight) on random inputs with ties, zero weights and clustered values.
    #[test]
    fn weighted_quantile_agrees_with_sorting() {
        use rand::{RngExt, SeedableRng};
        fn by_sorting(pairs: &[(f64, f64)], q: f64) -> f64 {
            let mut p = pairs.to_vec();
            p.sort_by(|a, b| a.0.total_cmp(&b.0));
            let total: f64 = p.iter().map(|x| x.1).sum();
            if total <= 0.0 {
                return p[0].0;
            }
            if q >= 1.0 {
                // The largest value of positive weight (the walk below may stop short of it
                // by rounding).
                return p.iter().rev().find(|x| x.1 > 0.0).map_or(p[0].0, |x| x.0);
            }
            let mut cum = 0.0;
            for &(v, w) in &p {
                cum += w;
                if cum >= q * total && w > 0.0 {
                    return v;
                }
            }
            p[p.len() - 1].0
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for case in 0..2000 {
            let n = 1 + case % 300;
            let levels = [2, 10, 1000][case % 3];
            let pairs: Vec<(f64, f64)> = (0..n)
                .map(|_| {
                    let v = (rng.random_range(0..levels) as f64 / levels as f64).powi(3);
                    let w = if rng.random::<f64>() < 0.1 {
                        0.0
                    } else {
                        rng.random::<f64>() * 10.0
                    };
                    (v, w)
                })
                .collect();
            for q in [0.0, 0.2, 0.5, 0.8, 1.0] {
                let mut work = pairs.clone();
                assert_eq!(
                    weighted_quantile(&mut work, q),
                    by_sorting(&pairs, q),
                    "case {case}, q {q}"
                );
            }
        }
    }
}
