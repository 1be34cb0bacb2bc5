//! Shocks: crises in origin regions, election shocks to domestic pressure, and the scenario's
//! scheduled events (crises, lasting shifts of hostility, firewalls).
//!
//! Random crises: each year and origin region, a crisis starts with probability `crisis_prob`,
//! with magnitude $M = \min(\text{scale}\,U^{-1/\text{tail}}, \text{cap})$ (Pareto), and the
//! multiplier decays as $C_r(t) = \text{decay}\,C_r(t-1) + M$. The draws are made for every region
//! every year, whatever happens, so two scenarios under one seed meet the same crises.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::uniform;

use crate::scenario::{Event, Scenario};
use crate::world::World;

super::dispatch::simd_dispatch! {
    /// Crises, election shocks and scheduled events of the year.
    pub fn step / step_portable (world: &mut World, scenario: &Scenario, crises: &mut ChaCha8Rng, elections: &mut ChaCha8Rng) => step_body
}

#[inline(always)]
fn step_body(
    world: &mut World,
    scenario: &Scenario,
    crises: &mut ChaCha8Rng,
    elections: &mut ChaCha8Rng,
) {
    let fp = &scenario.flows;
    for r in 0..world.n_regions {
        let onset: f64 = crises.random();
        let size: f64 = crises.random();
        let mut c = world.crisis[r] * fp.crisis_decay;
        if onset < fp.crisis_prob {
            // 1 - size lies in (0, 1], so the power is finite.
            let m = fp.crisis_scale * (1.0 - size).powf(-1.0 / fp.crisis_tail);
            c += m.min(fp.crisis_cap);
        }
        world.crisis[r] = c;
    }
    let pp = &scenario.pressure;
    for i in 0..world.n_states {
        let u = uniform(elections);
        let period = i32::from(world.election_period[i]);
        let is_election = (world.year - scenario.run.start_year).rem_euclid(period)
            == i32::from(world.election_phase[i]);
        world.pressure_shock[i] = if is_election {
            pp.election_bias + pp.election_shock * (2.0 * u - 1.0)
        } else {
            0.0
        };
    }
    // Events are sorted by year; their targets were resolved when the world was built.
    for (k, event) in scenario.events.iter().enumerate() {
        if event.year() != world.year {
            continue;
        }
        let targets = &world.event_targets[k];
        match event {
            Event::Crisis { magnitude, .. } => {
                for &r in targets {
                    world.crisis[r as usize] += magnitude;
                }
            }
            Event::Pressure { shift, .. } => {
                for &i in targets {
                    let i = i as usize;
                    world.h0[i] = (world.h0[i] + shift).clamp(0.0, 1.0);
                }
            }
            Event::Firewall { level, .. } => {
                for &i in targets {
                    world.firewall[i as usize] = *level;
                }
            }
            Event::LegalChannels { level, .. } => {
                for &i in targets {
                    let i = i as usize;
                    world.legal_floor[i] = *level;
                    world.legal[i] = world.legal[i].max(*level);
                }
            }
            Event::Enforcement { level, .. } => {
                for &i in targets {
                    let i = i as usize;
                    world.enforcement_floor[i] = *level;
                    world.enforcement[i] = world.enforcement[i].max(*level);
                }
            }
        }
    }
}
