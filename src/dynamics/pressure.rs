//! Domestic political pressure (hostility to immigration) of each State.
//!
//! $h_i(t+1) = \text{clamp}_{[0,1]}\big(h_i + \rho(h_{0i} - h_i) + a_{irr}\,g(x_i) - \kappa_{disc}\,\text{discourse}_i - \kappa_{voice} f_i m_i + \varepsilon_i\big)$, with
//! $x_i$ the irregular arrivals per 1000 inhabitants, $g(x) = x/(x + x_{ref})$ saturating,
//! $m_i$ the migrant share of the population, $f_i$ the firewall and $\varepsilon_i$ the election
//! shock. A balanced discourse from forums (seed 3.2.1) and migrants' voice behind a firewall
//! (seed 4) calm the domestic debate.

use crate::scenario::Scenario;
use crate::world::World;

pub fn step(world: &mut World, scenario: &Scenario) {
    let pp = &scenario.pressure;
    for i in 0..world.n_states {
        let pop = world.population[i];
        let irregular_pm = 1000.0 * world.arrivals_irregular[i] / pop;
        let push = irregular_pm / (irregular_pm + pp.irregular_ref);
        let migrant_share = (world.stock(i) / pop).min(1.0);
        let h = world.pressure[i];
        let next = h + pp.rho * (world.h0[i] - h) + pp.a_irregular * push
            - pp.kappa_discourse * world.discourse[i]
            - pp.kappa_voice * world.firewall[i] * migrant_share
            + world.pressure_shock[i];
        world.pressure[i] = next.clamp(0.0, 1.0);
    }
}
