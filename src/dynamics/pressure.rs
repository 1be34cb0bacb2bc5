//! Domestic political pressure (hostility to immigration) of each State.
//!
//! $h_i(t+1) = \text{clamp}_{[0,1]}\big(h_i + \rho(h_{0i} - h_i) + a_{irr}\,g(x_i) - \kappa_{disc}\,\text{discourse}_i - \kappa_{voice} f_i m_i + \varepsilon_i\big)$, with
//! $x_i$ the irregular arrivals per 1000 inhabitants, $g(x) = x/(x + x_{ref})$ saturating,
//! $m_i$ the migrant share of the population, $f_i$ the firewall and $\varepsilon_i$ the election
//! shock. A balanced discourse from forums (seed 3.2.1) and migrants' voice behind a firewall
//! (seed 4) calm the domestic debate.

use crate::scenario::Scenario;
use crate::world::World;

/// The saturating push $g(x)$ of State `i`'s irregular arrivals this year.
#[inline(always)]
fn push(world: &World, scenario: &Scenario, i: usize) -> f64 {
    let irregular_pm = 1000.0 * world.arrivals_irregular[i] / world.population[i];
    irregular_pm / (irregular_pm + scenario.pressure.irregular_ref)
}

/// Sets each State's pressure to its quasi-steady level for this year's arrivals and its current
/// discourse, with the mean election shock spread over the electoral cycle (firewalls are
/// events of a scenario, not part of a start):
/// $h^* = \text{clamp}_{[0,1]}(h_0 + (a_{irr}\,g(x) + \text{bias}/\text{period} - \kappa_{disc}\,\text{discourse})/\rho)$.
/// With $\rho = 0$ pressure has no steady level and is left at $h_0$.
pub fn steady_state(world: &mut World, scenario: &Scenario) {
    let pp = &scenario.pressure;
    if pp.rho <= 0.0 {
        return;
    }
    for i in 0..world.n_states {
        let drift = pp.a_irregular * push(world, scenario, i)
            + pp.election_bias / f64::from(world.election_period[i])
            - pp.kappa_discourse * world.discourse[i];
        world.pressure[i] = (world.h0[i] + drift / pp.rho).clamp(0.0, 1.0);
    }
}

pub fn step(world: &mut World, scenario: &Scenario) {
    let pp = &scenario.pressure;
    for i in 0..world.n_states {
        let pop = world.population[i];
        let push = push(world, scenario, i);
        let migrant_share = (world.stock(i) / pop).min(1.0);
        let h = world.pressure[i];
        let next = h + pp.rho * (world.h0[i] - h) + pp.a_irregular * push
            - pp.kappa_discourse * world.discourse[i]
            - pp.kappa_voice * world.firewall[i] * migrant_share
            + world.pressure_shock[i];
        world.pressure[i] = next.clamp(0.0, 1.0);
    }
}
