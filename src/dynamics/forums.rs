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

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::logistic;
use crate::scenario::Scenario;
use crate::world::{ForumState, N_DOMAINS, World};

/// Agenda weight per instrument: asylum, labour, trafficking, enforcement, legal channels (labour).
#[inline]
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
#[inline]
pub fn visibility(f: &ForumState) -> f64 {
    1.0 - (1.0 - f.design.transparency) * (1.0 - f.design.civil_society)
}

/// Agenda-weighted shortfall of State `i` below an anchor.
#[inline]
pub fn shortfall(world: &World, agenda: &[f64; 5], anchor: &[f64; N_DOMAINS], i: usize) -> f64 {
    let total = agenda[0] + agenda[1] + agenda[2];
    if total <= 0.0 {
        return 0.0;
    }
    (0..N_DOMAINS)
        .map(|d| agenda[d] * (anchor[d] - world.protection[d][i]).max(0.0))
        .sum::<f64>()
        / total
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

/// Voice-weighted quantile of `pairs` (value, weight); sorts `pairs` in place.
pub fn weighted_quantile(pairs: &mut [(f64, f64)], q: f64) -> f64 {
    pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    if pairs.is_empty() {
        return 0.0;
    }
    if total <= 0.0 {
        return pairs[0].0;
    }
    let target = q * total;
    let mut cum = 0.0;
    for &(v, w) in pairs.iter() {
        cum += w;
        if cum >= target && w > 0.0 {
            return v;
        }
    }
    pairs[pairs.len() - 1].0
}

pub fn step(world: &mut World, scenario: &Scenario, rngs: &mut [ChaCha8Rng]) {
    let fd = &scenario.forum_dynamics;
    for r in world.reputation.iter_mut() {
        *r += fd.reputation_recovery * (1.0 - *r);
    }
    world.scratch_pull.fill([0.0; 5]);
    world.scratch_discourse.fill(0.0);
    // The start-of-step snapshot every forum reads, contiguous per State.
    for i in 0..world.n_states {
        world.scratch_policy[i] = [
            world.protection[0][i],
            world.protection[1][i],
            world.protection[2][i],
            world.enforcement[i],
            world.legal[i],
        ];
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
            for (k, &i) in forum.participants.iter().enumerate() {
                forum.voice[k] = world.power[i as usize].powf(forum.voice_exponent);
            }
        }
        forum.met_this_year = meets(forum, world.year);
        if forum.met_this_year {
            meet(world, scenario, forum, rng);
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

fn meet(world: &mut World, scenario: &Scenario, forum: &mut ForumState, rng: &mut ChaCha8Rng) {
    let fd = &scenario.forum_dynamics;
    let design = forum.design.clone();
    let agenda = agenda(forum);
    let vis = visibility(forum);
    let w = design.rights_agenda * vis * (1.0 - design.security_lens);
    let agenda_p = agenda[0] + agenda[1] + agenda[2];

    // Attendance and trust.
    let mut attendance = 0;
    for (k, &i) in forum.participants.iter().enumerate() {
        let i = i as usize;
        let u: f64 = rng.random();
        let gap = forum
            .anchor
            .map_or(0.0, |a| shortfall(world, &agenda, &a, i));
        let logit = fd.attend_base + fd.attend_trust * forum.trust[k]
            - fd.attend_obligation * design.obligation * world.pressure[i] * gap;
        let attended = u < logistic(logit);
        forum.attended[k] = attended;
        if attended {
            attendance += 1;
            forum.trust[k] += fd.trust_gain * (1.0 - forum.trust[k]);
        } else {
            forum.trust[k] -= fd.trust_decay * forum.trust[k];
        }
    }
    forum.attendance = attendance;

    // Success and voice of each attendee.
    for (k, &i) in forum.participants.iter().enumerate() {
        let i = i as usize;
        if !forum.attended[k] {
            forum.scratch_success[k] = 0.0;
            forum.scratch_voice[k] = 0.0;
            continue;
        }
        let per_mille = 1000.0 / world.population[i];
        let cut = (world.arrivals_irregular_prev[i] - world.arrivals_irregular[i]) * per_mille;
        let cut_score = 0.5 + 0.5 * (cut / fd.cut_ref).tanh();
        let rights = if agenda_p > 0.0 {
            (0..N_DOMAINS)
                .map(|d| agenda[d] * world.protection[d][i])
                .sum::<f64>()
                / agenda_p
        } else {
            world.mean_protection(i)
        };
        forum.scratch_success[k] = (1.0 - w) * cut_score + w * rights;
        forum.scratch_voice[k] = forum.voice[k];
    }

    // Practice exchange: pull toward the success-and-voice-weighted practice of the others.
    let mut total = 0.0;
    let mut sums = [0.0; 5];
    for (k, &i) in forum.participants.iter().enumerate() {
        let wt = forum.scratch_voice[k] * forum.scratch_success[k];
        if wt > 0.0 {
            total += wt;
            let x = &world.scratch_policy[i as usize];
            for (s, xk) in sums.iter_mut().zip(x) {
                *s += wt * xk;
            }
        }
    }
    if fd.eta > 0.0 {
        for (k, &i) in forum.participants.iter().enumerate() {
            if !forum.attended[k] {
                continue;
            }
            let i = i as usize;
            let wt = forum.scratch_voice[k] * forum.scratch_success[k];
            let others = total - wt;
            if others <= total * 1e-12 {
                continue;
            }
            let x = world.scratch_policy[i];
            for inst in 0..5 {
                let target = (sums[inst] - wt * x[inst]) / others;
                world.scratch_pull[i][inst] += fd.eta * agenda[inst] * (target - x[inst]);
            }
        }
    }

    // Joint statement of the attending members and the norm anchor.
    let mut quantiles = [0.0; N_DOMAINS];
    let mut any_member = false;
    for (d, q) in quantiles.iter_mut().enumerate() {
        forum.scratch_sort.clear();
        for k in 0..forum.n_members {
            if forum.attended[k] {
                let i = forum.participants[k] as usize;
                forum
                    .scratch_sort
                    .push((world.protection[d][i], forum.scratch_voice[k]));
            }
        }
        any_member = !forum.scratch_sort.is_empty();
        *q = weighted_quantile(&mut forum.scratch_sort, design.consensus_quantile);
    }
    if any_member {
        let m = design.memory;
        let anchor = match forum.anchor {
            Some(prev) => {
                let mut a = [0.0; N_DOMAINS];
                for d in 0..N_DOMAINS {
                    a[d] = quantiles[d].max(m * prev[d] + (1.0 - m) * quantiles[d]);
                }
                a
            }
            None => quantiles,
        };
        forum.anchor = Some(anchor);
    }

    // Follow-up: a shortfall below the anchor is seen with probability visibility x memory.
    let p_detect = vis * design.memory;
    for k in 0..forum.participants.len() {
        let u: f64 = rng.random();
        if k >= forum.n_members || !forum.attended[k] {
            continue;
        }
        let i = forum.participants[k] as usize;
        if let Some(anchor) = forum.anchor {
            let gap = shortfall(world, &agenda, &anchor, i);
            if gap > 0.0 && u < p_detect {
                world.reputation[i] = (world.reputation[i] - fd.reputation_loss * gap).max(0.0);
            }
        }
    }

    // Capacity transfer: transit and origin members' enforcement toward destination members'.
    if design.capacity_transfer > 0.0 {
        let (mut wsum, mut esum) = (0.0, 0.0);
        for k in 0..forum.n_members {
            let i = forum.participants[k] as usize;
            if forum.attended[k] && world.destination[i] {
                let v = forum.voice[k];
                wsum += v;
                esum += v * world.enforcement[i];
            }
        }
        if wsum > 0.0 {
            let e_dest = esum / wsum;
            for k in 0..forum.n_members {
                let i = forum.participants[k] as usize;
                if forum.attended[k] && !world.destination[i] {
                    world.scratch_pull[i][3] +=
                        design.capacity_transfer * (e_dest - world.enforcement[i]);
                }
            }
        }
    }

    // Rights transfer (a protection mandate): members' protection up toward the anchor.
    if let (true, Some(anchor)) = (design.rights_transfer > 0.0, forum.anchor) {
        for k in 0..forum.n_members {
            if !forum.attended[k] {
                continue;
            }
            let i = forum.participants[k] as usize;
            for d in 0..N_DOMAINS {
                let gap = (anchor[d] - world.protection[d][i]).max(0.0);
                world.scratch_pull[i][d] += design.rights_transfer * agenda[d] * gap;
            }
        }
    }

    // A balanced discourse for the attendees' domestic debate (seed 3.2.1).
    let discourse = design.rights_agenda * (0.5 + 0.5 * design.civil_society);
    if discourse > 0.0 {
        for (k, &i) in forum.participants.iter().enumerate() {
            if forum.attended[k] {
                world.scratch_discourse[i as usize] += discourse;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_quantile_picks_lowest_at_zero_and_median_at_half() {
        let mut v = vec![(0.5, 1.0), (0.1, 1.0), (0.9, 1.0)];
        assert_eq!(weighted_quantile(&mut v, 0.0), 0.1);
        assert_eq!(weighted_quantile(&mut v, 0.5), 0.5);
        assert_eq!(weighted_quantile(&mut v, 1.0), 0.9);
        // A dominant voice moves the median to its own level.
        let mut v = vec![(0.5, 1.0), (0.1, 1.0), (0.9, 10.0)];
        assert_eq!(weighted_quantile(&mut v, 0.5), 0.9);
    }
}
