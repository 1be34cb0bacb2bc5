//! Policy choice: each State moves each instrument (asylum, labour and trafficking protection,
//! enforcement, legal channels) by one of $\{-\delta, 0, +\delta\}$ a year, by logit with
//! temperature $T$ over its utility, the other instruments held at last year's values and other
//! States fixed (a noisy myopic best response). Every State chooses from the world as the year's
//! policy step found it: a State's choice reads no other State's instruments, so the step may apply
//! each block's choices as soon as they are made.
//!
//! $U_i = -h_i c_{irr} \widehat{irr}_i - h_i c_{vis} \widehat{inflow}_i + (1-h_i) c_{rights} \overline{rv(p_i)} - c_{prot}\overline{p_i^2} + c_{econ} y_i \widehat{reg}_i - c_{enf} e_i^2 - \text{treaty and forum costs} - c_{adj}|\Delta|$,
//! with arrivals per 1000 inhabitants anticipated from last year's outflows and the exact logit
//! response to the State's own change: a change $\Delta V$ of its utility turns a share $s$ into
//! $s k/(1 - s + s k)$, $k = e^{\Delta V}$. Lowering protection deflects flows to others: this is
//! the race-to-the-bottom engine, and nothing else writes it in.
//!
//! $rv$ is the value of protection; under a regional "cover" the part above the common floor is
//! worth $(1 - \text{cover})$ of itself. The quadratic running cost of protection is a change from
//! the reference design recorded in `docs/ODD.md` section 4 (it gives each State an interior optimum).

use rand_chacha::ChaCha8Rng;

use super::flows::{
    AdmissionTerms, Admitted, ShareMoments, admission, anticipated_inflow_lanes,
    share_moments_lanes,
};
use super::forums::{agenda, effective_anchor, norm_strength, norm_weight};
use super::math::{LANES, Lanes, Mask, Real, block, exp, fmin, pos};
use super::treaties::{effective_floors, shortfall_cost};
use super::{fill_words, to_uniform};
use crate::scenario::Scenario;
use crate::world::{FORCED, LABOUR, N_DOMAINS, World};

/// Number of policy instruments.
pub const N_INSTRUMENTS: usize = 5;
/// Instrument names, in order.
pub const INSTRUMENTS: [&str; N_INSTRUMENTS] = [
    "protection_asylum",
    "protection_labour",
    "protection_trafficking",
    "enforcement",
    "legal_channels",
];

super::dispatch::simd_dispatch! {
    /// Every State's choice of its instruments, each block's applied once it has chosen.
    pub fn step / step_portable (world: &mut World, scenario: &Scenario, rng: &mut ChaCha8Rng) => step_body
}

/// The States choose in blocks of [`LANES`], a State per lane: their options and utilities four
/// at a time, then the five instruments' logit draws ([`Kernel::choose`]). The last block of a
/// world whose size is not a multiple of the lanes repeats its last State in the empty lanes and
/// drops them.
#[inline(always)]
fn step_body(world: &mut World, scenario: &Scenario, rng: &mut ChaCha8Rng) {
    build_penalties(world, scenario);
    let kernel = Kernel::new(scenario);
    let n = world.n_states;
    // Five draws per State, in State order, whatever the lanes: drawn for a run of
    // `DRAW_STATES` States at a time into a buffer that stays in the first-level cache (the
    // stream gives the same words however its calls are cut).
    let mut words = [0u32; N_INSTRUMENTS * DRAW_STATES];
    for run in (0..n).step_by(DRAW_STATES) {
        let run_end = (run + DRAW_STATES).min(n);
        fill_words(rng, &mut words[..N_INSTRUMENTS * (run_end - run)]);
        for first in (run..run_end).step_by(LANES) {
            let lanes = LANES.min(n - first);
            let states = block(first, n);
            let mut u = [[0.0; LANES]; N_INSTRUMENTS];
            for l in 0..lanes {
                for (k, draw) in u.iter_mut().enumerate() {
                    draw[l] = to_uniform(words[N_INSTRUMENTS * (first - run + l) + k]);
                }
            }
            let levels = kernel.choose(world, scenario, states, &u);
            // A State's choice reads only its own values, so applying the block's choices now
            // gives what applying every State's after all the choices gives, while its lines are
            // in cache.
            for l in 0..lanes {
                let i = first + l;
                for (k, level) in levels.iter().enumerate() {
                    let before = world.instrument(i, k);
                    world.set_instrument(i, k, level.0[l]);
                    world.last_move[i][k] = world.instrument(i, k) - before;
                }
            }
        }
    }
}

/// States whose draws the policy step takes from the stream in one call (a multiple of
/// [`LANES`], so that a run holds whole blocks).
const DRAW_STATES: usize = 64;
const _: () = assert!(DRAW_STATES.is_multiple_of(LANES));

/// The constants of a year's policy choice.
struct Kernel {
    delta: f64,
    temperature: f64,
    c_adjust: f64,
    c_enforcement: f64,
    c_legal: f64,
    /// Attraction elasticities of the moves: asylum protection (forced), labour protection
    /// (labour), enforcement (both streams, negative), legal channels (forced, labour).
    betas: [f64; 5],
    /// exp(beta * delta) and exp(-beta * delta): the factors of the unclamped moves, computed
    /// once a year rather than per option.
    up: [f64; 5],
    down: [f64; 5],
}

impl Kernel {
    fn new(scenario: &Scenario) -> Kernel {
        let pp = &scenario.policy;
        let fp = &scenario.flows;
        let delta = pp.delta;
        let betas = [
            fp.beta_protection_forced,
            fp.beta_protection_labour,
            -fp.beta_enforcement,
            fp.beta_legal_forced,
            fp.beta_legal_labour,
        ];
        Kernel {
            delta,
            // The temperature scales with the step: the logit reads the marginal utility of a
            // move against `noise`, whatever the step (see `docs/ODD.md`, section 4).
            temperature: (pp.noise * delta).max(f64::MIN_POSITIVE),
            c_adjust: pp.c_adjust,
            c_enforcement: pp.c_enforcement,
            c_legal: pp.c_legal,
            betas,
            up: betas.map(|b| exp(b * delta)),
            down: betas.map(|b| exp(-b * delta)),
        }
    }

    /// The factor $e^{\beta_b \Delta}$ by which move `m` changes each lane's attraction.
    #[inline(always)]
    fn factor(&self, b: usize, m: &Move) -> Lanes {
        // (x + delta) - x is not exactly delta in floating point, so the precomputed factor is
        // chosen by the step, not by the difference.
        let full = Lanes::splat(if m.option == 2 {
            self.up[b]
        } else {
            self.down[b]
        });
        if m.nominal.all() {
            return full;
        }
        Lanes::select(
            m.nominal,
            full,
            (Lanes::splat(self.betas[b]) * m.change).exp(),
        )
    }

    /// The move of an instrument at `x` (bounded below by `lowest`) by option 0 (down) or 2
    /// (up), per lane.
    #[inline(always)]
    fn step_to(&self, x: Lanes, lowest: Lanes, option: usize) -> Move {
        let delta = Lanes::splat(self.delta);
        let raw = if option == 0 { x - delta } else { x + delta };
        let v = raw.max(lowest).min(Lanes::splat(1.0));
        let change = v - x;
        Move {
            v,
            change,
            option,
            room: Mask::from_fn(|l| change.0[l] != 0.0),
            nominal: raw.eq(v),
        }
    }

    /// The utility and the level of each option (down, stay, up) of instrument `k` at `x`
    /// (bounded below by `lowest`), with `gains` the utility gains of its moves before the
    /// State's taste for the instrument and the adjustment cost. An option a bound leaves no
    /// room for is a second stay.
    #[inline(always)]
    fn options(
        &self,
        gains: &Gains,
        k: usize,
        x: Lanes,
        lowest: Lanes,
        taste: Lanes,
    ) -> ([Lanes; 3], [Lanes; 3]) {
        let zero = Lanes::splat(0.0);
        let mut utility = [zero; 3];
        let mut values = [x; 3];
        for option in [0, 2] {
            let m = self.step_to(x, lowest, option);
            let moved =
                gains.of(k, &m) + taste * m.change - Lanes::splat(self.c_adjust) * m.change.abs();
            values[option] = Lanes::select(m.room, m.v, x);
            utility[option] = Lanes::select(m.room, moved, zero);
        }
        (utility, values)
    }

    /// The options of each instrument of the block's States, the others at last year's values,
    /// as [`Kernel::options`] gives them: what [`Kernel::choose`] draws from, for the tests
    /// (`choose` builds them in its own body: returned from a function of their own, the
    /// compiler gave the step 0.3 M more instructions per replication).
    #[cfg(test)]
    fn choices(
        &self,
        world: &World,
        scenario: &Scenario,
        states: [usize; LANES],
    ) -> [([Lanes; 3], [Lanes; 3]); N_INSTRUMENTS] {
        let gains = Gains::new(self, world, scenario, states);
        let taste = lanes_of(|l| world.taste[states[l]]);
        let lowest = lowest_of(world, states);
        std::array::from_fn(|k| self.options(&gains, k, gains.x[k], lowest[k], taste[k]))
    }

    /// The level each instrument of the block's States moves to, the others at last year's
    /// values: the logit draw `u[k]` among the options [`Kernel::options`] gives.
    #[inline(always)]
    fn choose(
        &self,
        world: &World,
        scenario: &Scenario,
        states: [usize; LANES],
        u: &[[f64; LANES]; N_INSTRUMENTS],
    ) -> [Lanes; N_INSTRUMENTS] {
        let gains = Gains::new(self, world, scenario, states);
        let x = gains.x;
        let taste = lanes_of(|l| world.taste[states[l]]);
        let lowest = lowest_of(world, states);
        // Five calls written out, not `std::array::from_fn` (its closure would be compiled on its
        // own, outside the AVX2 build of the step: it was, at a third of the policy's time) nor
        // a loop over the instruments (the instrument is then a constant in each call, so the
        // compiler resolves `Gains::of`'s match on it and stores no placeholder options: 2.8%
        // fewer policy instructions). All options first, then the five draws: each draw is a
        // long chain (exponentials, sums, comparisons), and the five are independent, so the
        // processor runs them side by side.
        let options = [
            self.options(&gains, 0, x[0], lowest[0], taste[0]),
            self.options(&gains, 1, x[1], lowest[1], taste[1]),
            self.options(&gains, 2, x[2], lowest[2], taste[2]),
            self.options(&gains, 3, x[3], lowest[3], taste[3]),
            self.options(&gains, 4, x[4], lowest[4], taste[4]),
        ];
        let mut chosen = x;
        for (k, (utility, levels)) in options.iter().enumerate() {
            let (past_0, past_1) = logit_draw(utility, self.temperature, Lanes(u[k]));
            chosen[k] = Lanes::select(
                past_1,
                levels[2],
                Lanes::select(past_0, levels[1], levels[0]),
            );
        }
        chosen
    }
}

/// One candidate move of an instrument, per lane.
#[derive(Clone, Copy)]
struct Move {
    /// The new level.
    v: Lanes,
    /// v minus the current level (0 where a bound leaves no room).
    change: Lanes,
    /// 0 down, 2 up.
    option: usize,
    /// Whether the bounds leave room for the move (its change is not 0).
    room: Mask,
    /// Whether the move is the full step (not clamped at a bound).
    nominal: Mask,
}

/// Five values per State of a block, as five lanes of the block's States. Loops, not
/// `std::array::from_fn`, whose closures would be compiled on their own, outside the AVX2 build.
#[inline(always)]
fn lanes_of(f: impl Fn(usize) -> [f64; N_INSTRUMENTS]) -> [Lanes; N_INSTRUMENTS] {
    let mut out = [Lanes::splat(0.0); N_INSTRUMENTS];
    for l in 0..LANES {
        let row = f(l);
        for (lanes, v) in out.iter_mut().zip(row) {
            lanes.0[l] = v;
        }
    }
    out
}

/// The instruments of the block's States, a lane each ([`World::instruments`]).
#[inline(always)]
fn instruments_of(world: &World, states: [usize; LANES]) -> [Lanes; N_INSTRUMENTS] {
    let gather = |v: &[f64]| Lanes::gather(v, states);
    [
        gather(&world.protection[0]),
        gather(&world.protection[1]),
        gather(&world.protection[2]),
        gather(&world.enforcement),
        gather(&world.legal),
    ]
}

/// The lowest level each instrument of the block's States can take, a lane each: 0 for the
/// protection domains, the floors events set on enforcement and legal channels.
#[inline(always)]
fn lowest_of(world: &World, states: [usize; LANES]) -> [Lanes; N_INSTRUMENTS] {
    let zero = Lanes::splat(0.0);
    [
        zero,
        zero,
        zero,
        Lanes::gather(&world.enforcement_floor, states),
        Lanes::gather(&world.legal_floor, states),
    ]
}

/// The utility gain of a move of each instrument for the States of a block, the others held at
/// last year's values: everything but the State's taste and the adjustment cost.
struct Gains<'a> {
    kernel: &'a Kernel,
    world: &'a World,
    states: [usize; LANES],
    x: [Lanes; N_INSTRUMENTS],
    mf: ShareMoments<Lanes>,
    ml: ShareMoments<Lanes>,
    parts: Parts<'a>,
    f0: Lanes,
    l0: Lanes,
    flow0: Lanes,
    /// Admission at last year's arrivals and instruments: a move of trafficking protection
    /// changes what follows admission, not admission itself.
    admitted0: Admitted<Lanes>,
    domain0: [Lanes; N_DOMAINS],
}

impl<'a> Gains<'a> {
    #[inline(always)]
    fn new(
        kernel: &'a Kernel,
        world: &'a World,
        scenario: &'a Scenario,
        states: [usize; LANES],
    ) -> Gains<'a> {
        let x = instruments_of(world, states);
        let parts = Parts::new(world, scenario, states);
        let f0 = Lanes::gather(&world.inflow[FORCED], states);
        let l0 = Lanes::gather(&world.inflow[LABOUR], states);
        let admitted0 = admission(scenario, &parts.terms, l0, f0, x[0], x[3], x[4]);
        let flow0 = parts.flow_admitted(&admitted0, f0, l0, x[2], x[3]);
        let domain0 = [
            parts.domain(0, x[0], 1),
            parts.domain(1, x[1], 1),
            parts.domain(2, x[2], 1),
        ];
        Gains {
            kernel,
            world,
            states,
            x,
            mf: share_moments_lanes(world, FORCED, states),
            ml: share_moments_lanes(world, LABOUR, states),
            parts,
            f0,
            l0,
            flow0,
            admitted0,
            domain0,
        }
    }

    /// The anticipated inflows of stream `s` if the attraction changed by `factor`.
    #[inline(always)]
    fn anticipated(&self, s: usize, factor: Lanes) -> Lanes {
        let (m, current) = if s == FORCED {
            (&self.mf, self.f0)
        } else {
            (&self.ml, self.l0)
        };
        anticipated_inflow_lanes(self.world, s, self.states, m, factor, current)
    }

    /// The gain of move `m` of instrument `k`.
    #[inline(always)]
    fn of(&self, k: usize, m: &Move) -> Lanes {
        let (x, parts) = (&self.x, &self.parts);
        let (f0, l0, flow0) = (self.f0, self.l0, self.flow0);
        let kernel = self.kernel;
        match k {
            // Asylum protection moves forced arrivals and the asylum domain.
            0 => {
                let f = self.anticipated(FORCED, kernel.factor(0, m));
                parts.flow(f, l0, m.v, x[2], x[3], x[4]) - flow0 + parts.domain(0, m.v, m.option)
                    - self.domain0[0]
            }
            // Labour protection moves labour arrivals and the labour domain.
            1 => {
                let l = self.anticipated(LABOUR, kernel.factor(1, m));
                parts.flow(f0, l, x[0], x[2], x[3], x[4]) - flow0 + parts.domain(1, m.v, m.option)
                    - self.domain0[1]
            }
            // Trafficking protection moves the victims among irregular arrivals and its domain.
            2 => {
                parts.flow_admitted(&self.admitted0, f0, l0, m.v, x[3]) - flow0
                    + parts.domain(2, m.v, m.option)
                    - self.domain0[2]
            }
            // Enforcement deters both streams and costs.
            3 => {
                let k = kernel.factor(2, m);
                parts.flow(
                    self.anticipated(FORCED, k),
                    self.anticipated(LABOUR, k),
                    x[0],
                    x[2],
                    m.v,
                    x[4],
                ) - flow0
                    - Lanes::splat(kernel.c_enforcement) * (m.v * m.v - x[3] * x[3])
            }
            // Legal channels attract both streams, each by its own elasticity, and cost.
            _ => {
                let f = self.anticipated(FORCED, kernel.factor(3, m));
                let l = self.anticipated(LABOUR, kernel.factor(4, m));
                parts.flow(f, l, x[0], x[2], x[3], m.v)
                    - flow0
                    - Lanes::splat(kernel.c_legal) * (m.v * m.v - x[4] * x[4])
            }
        }
    }
}

/// Sets every State's taste for each instrument so that its current policy is its best response
/// to the world as it stands: the taste cancels the slope of its utility (domestic terms and the
/// treaty and forum costs of `world`) between the move down and the move up, so neither is
/// favoured. Called once, on the factual start-year world (`dynamics::factual_start`): the
/// tastes absorb what the model does not explain of the start-year policies, and hold fixed
/// whatever a scenario changes afterwards.
pub fn calibrate_tastes(world: &mut World, scenario: &Scenario) {
    let kernel = Kernel::new(scenario);
    build_penalties(world, scenario);
    let n = world.n_states;
    for first in (0..n).step_by(LANES) {
        let states = block(first, n);
        let gains = Gains::new(&kernel, world, scenario, states);
        let lowest = lowest_of(world, states);
        let taste: [Lanes; N_INSTRUMENTS] = std::array::from_fn(|k| {
            let x = gains.x[k];
            // A side the bounds leave no room for stays at x and gains nothing.
            let side = |option| {
                let m = kernel.step_to(x, lowest[k], option);
                let g = gains.of(k, &m);
                (
                    Lanes::select(m.room, m.v, x),
                    Lanes::select(m.room, g, Lanes::splat(0.0)),
                )
            };
            let ((down, g_down), (up, g_up)) = (side(0), side(2));
            let slope = -(g_up - g_down) / (up - down);
            Lanes::select(up.gt(down), slope, Lanes::splat(0.0))
        });
        for l in 0..LANES.min(n - first) {
            world.taste[first + l] = taste.map(|t| t.0[l]);
        }
    }
}

/// Index of the option drawn by logit with temperature `t` from uniform `u`: one lane of
/// [`logit_pick_lanes`].
pub fn logit_pick(utility: &[f64; 3], t: f64, u: f64) -> usize {
    logit_pick_lanes(&utility.map(|v| [v; LANES]), t, &[u; LANES])[0]
}

/// Index of the option drawn by logit with temperature `t` from uniform `u`, for [`LANES`]
/// draws at once: `utility[option][lane]` ([`logit_draw`], as indices).
pub fn logit_pick_lanes(utility: &[[f64; LANES]; 3], t: f64, u: &[f64; LANES]) -> [usize; LANES] {
    let (past_0, past_1) = logit_draw(&utility.map(Lanes), t, Lanes(*u));
    std::array::from_fn(|l| usize::from(past_0.lane(l)) + usize::from(past_1.lane(l)))
}

/// The logit draw with temperature `t` from uniform `u` among three options, for [`LANES`]
/// draws at once: where the draw falls past option 0, and where past option 1 (the option
/// drawn is the number of the two that hold). Each lane gets the IEEE operations of one draw,
/// in the same order, so the draws do not depend on which lanes they share.
///
/// Written without a branch: which option is best, and which is drawn, are coin flips the
/// processor cannot predict, and a select per lane is one blend. The best option's weight is
/// exp(0) = 1 exactly, so only the other two are computed: the same weights, two exponentials
/// instead of three.
#[inline(always)]
pub fn logit_draw(utility: &[Lanes; 3], t: f64, u: Lanes) -> (Mask, Mask) {
    let inverse = Lanes::splat(1.0 / t);
    let max = utility[0].max(utility[1]).max(utility[2]);
    let d = utility.map(|v| (v - max) * inverse);
    // One of the three is 0, the best. With the best at 0: exponentials of 1 and 2; at 1: of 0
    // and 2; at 2: of 0 and 1. Ties give exp(0) = 1 wherever they fall.
    let (zero, one) = (Lanes::splat(0.0), Lanes::splat(1.0));
    let best_0 = d[0].eq(zero);
    let best_2 = d[2].eq(zero);
    let first = Lanes::select(best_0, d[1], d[0]).exp();
    let second = Lanes::select(best_2, d[1], d[2]).exp();
    let w0 = Lanes::select(best_0, one, first);
    let w1 = Lanes::select(best_0, first, Lanes::select(best_2, second, one));
    let w2 = Lanes::select(best_2, one, second);
    let target = u * (w0 + w1 + w2);
    (target.ge(w0), target.ge(w0 + w1))
}

/// The parts of the utility of the States of a block (a lane each) that one instrument can
/// move: the flow part (arrivals and labour gains), one part per protection domain (rights
/// value, running cost, treaty and forum costs) and enforcement. Their sum is [`utility_of`].
pub struct Parts<'a> {
    scenario: &'a Scenario,
    h: Lanes,
    per_mille: Lanes,
    income: Lanes,
    terms: AdmissionTerms<Lanes>,
    /// Share of its recognised refugees the State keeps under responsibility sharing.
    kept: Lanes,
    /// Regional cover: its strength and floors.
    cover: Lanes,
    floors: [Lanes; N_DOMAINS],
    /// Treaty and forum costs per domain and option.
    penalty: [[Lanes; 3]; N_DOMAINS],
}

impl<'a> Parts<'a> {
    #[inline(always)]
    pub fn new(world: &'a World, scenario: &'a Scenario, states: [usize; LANES]) -> Parts<'a> {
        let of = |v: &[f64]| Lanes::gather(v, states);
        let cover = states.map(|i| world.scratch_cover[i]);
        let penalty = states.map(|i| world.scratch_penalty[i]);
        Parts {
            scenario,
            h: of(&world.pressure),
            per_mille: of(&world.per_mille),
            income: of(&world.income),
            terms: AdmissionTerms::lanes(world, scenario, states),
            kept: of(&world.sharing_kept),
            cover: Lanes::from_fn(|l| cover[l].0),
            floors: std::array::from_fn(|d| Lanes::from_fn(|l| cover[l].1[d])),
            penalty: std::array::from_fn(|d| {
                std::array::from_fn(|o| Lanes::from_fn(|l| penalty[l][d][o]))
            }),
        }
    }

    /// Arrival costs, the cost of unprotected trafficking victims and labour gains for inflows
    /// `forced`, `labour` under asylum protection `p_asylum`, trafficking protection `p_traff`,
    /// enforcement `e` and legal channels `l`.
    #[inline(always)]
    pub fn flow(
        &self,
        forced: Lanes,
        labour: Lanes,
        p_asylum: Lanes,
        p_traff: Lanes,
        e: Lanes,
        l: Lanes,
    ) -> Lanes {
        let a = admission(self.scenario, &self.terms, labour, forced, p_asylum, e, l);
        self.flow_admitted(&a, forced, labour, p_traff, e)
    }

    /// [`Parts::flow`] with the admission of `forced` and `labour` already computed as `a`
    /// (under the same asylum protection, enforcement and legal channels): the same bits.
    #[inline(always)]
    pub fn flow_admitted(
        &self,
        a: &Admitted<Lanes>,
        forced: Lanes,
        labour: Lanes,
        p_traff: Lanes,
        e: Lanes,
    ) -> Lanes {
        let pp = &self.scenario.policy;
        let ap = &self.scenario.admission;
        let c = Lanes::splat;
        let victims = a.irregular
            * (c(ap.theta0) + c(ap.theta_enforcement) * e).min(c(1.0))
            * (c(1.0) - p_traff);
        // The refugees that responsibility sharing resettles elsewhere are not seen at home.
        let visible = labour + forced - a.recognised * (c(1.0) - self.kept);
        self.per_mille
            * (-self.h * c(pp.c_irregular) * a.irregular
                - self.h * c(pp.c_visible) * visible
                - c(pp.c_trafficking) * victims
                + c(pp.c_econ) * self.income * a.regular)
    }

    /// Rights value, running cost and treaty and forum costs of domain `d` at level `p`, which is
    /// option `option` (0 down, 1 stay, 2 up) of that domain.
    #[inline(always)]
    pub fn domain(&self, d: usize, p: Lanes, option: usize) -> Lanes {
        let pp = &self.scenario.policy;
        let c = Lanes::splat;
        let floor = self.floors[d];
        let covered = p.min(floor) + (c(1.0) - self.cover) * (p - floor).pos();
        let rights = Lanes::select(self.cover.gt(c(0.0)), covered, p);
        ((c(1.0) - self.h) * c(pp.c_rights) * rights - c(pp.c_protection_cost) * p * p)
            * c(1.0 / N_DOMAINS as f64)
            - self.penalty[d][option]
    }
}

/// Utility of State `i` with instruments `y`, anticipated inflows, and option `option` of
/// instrument `k` (for the precomputed treaty and forum costs).
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn utility_of(
    world: &World,
    scenario: &Scenario,
    i: usize,
    y: &[f64; N_INSTRUMENTS],
    forced: f64,
    labour: f64,
    k: usize,
    option: usize,
) -> f64 {
    let pp = &scenario.policy;
    let ap = &scenario.admission;
    let h = world.pressure[i];
    let income = world.income[i];
    let per_mille = world.per_mille[i];
    let terms = AdmissionTerms::of(world, scenario, i);
    let a = admission(scenario, &terms, labour, forced, y[0], y[3], y[4]);
    let (regular, irregular) = (a.regular, a.irregular);
    let visible = labour + forced - a.recognised * (1.0 - world.sharing_kept[i]);
    let victims = irregular * (ap.theta0 + ap.theta_enforcement * y[3]).min(1.0) * (1.0 - y[2]);
    let taste: f64 = (0..N_INSTRUMENTS).map(|k| world.taste[i][k] * y[k]).sum();
    let (cover, floors) = world.scratch_cover[i];
    let mut rights = 0.0;
    let mut running = 0.0;
    let mut penalty = 0.0;
    for d in 0..N_DOMAINS {
        let p = y[d];
        rights += if cover > 0.0 {
            p.min(floors[d]) + (1.0 - cover) * (p - floors[d]).max(0.0)
        } else {
            p
        };
        running += p * p;
        penalty += world.scratch_penalty[i][d][if d == k { option } else { 1 }];
    }
    rights /= N_DOMAINS as f64;
    running /= N_DOMAINS as f64;
    -h * pp.c_irregular * irregular * per_mille
        - h * pp.c_visible * visible * per_mille
        - pp.c_trafficking * victims * per_mille
        + taste
        + (1.0 - h) * pp.c_rights * rights
        - pp.c_protection_cost * running
        + pp.c_econ * income * regular * per_mille
        - pp.c_enforcement * y[3] * y[3]
        - pp.c_legal * y[4] * y[4]
        - penalty
}

/// Treaty and forum costs of each protection option, and regional cover, per State.
#[inline(always)]
fn build_penalties(world: &mut World, scenario: &Scenario) {
    let delta = scenario.policy.delta;
    world.scratch_penalty.fill([[0.0; 3]; N_DOMAINS]);
    world.scratch_cover.fill((0.0, [0.0; N_DOMAINS]));
    let n = world.n_states;
    // Of one length, stated once, so that a State's three levels need no bounds checks.
    let [p0, p1, p2] = &world.protection;
    let protection = [&p0[..n], &p1[..n], &p2[..n]];
    let penalties = &mut world.scratch_penalty;
    for t in &world.treaties {
        if world.year < t.design.opened as i32 {
            continue;
        }
        let weight = shortfall_cost(t) / N_DOMAINS as f64;
        let floors = effective_floors(t);
        for (i, _) in t.party[..n].iter().enumerate().filter(|(_, party)| **party) {
            if t.design.cover > world.scratch_cover[i].0 {
                world.scratch_cover[i] = (t.design.cover, t.floors);
            }
            add_shortfalls(
                &mut penalties[i],
                &levels_of(protection, i, delta),
                &floors,
                [weight; N_DOMAINS],
            );
        }
    }
    // The labour floors of a destination's bilateral agreements, seen with their transparency,
    // weighted by its share of labour arrivals under them.
    let bp = &world.bilateral;
    for (i, penalty) in penalties[..n].iter_mut().enumerate() {
        let weight = bp.sanction * bp.transparency * world.bilateral_share[i];
        if weight > 0.0 && world.bilateral_floor[i] > 0.0 {
            let floor = [0.0, world.bilateral_floor[i], 0.0];
            add_shortfalls(
                penalty,
                &levels_of(protection, i, delta),
                &floor,
                [0.0, weight, 0.0],
            );
        }
    }
    for f in &world.forums {
        let Some(anchor) = f.anchor else { continue };
        let a = agenda(f);
        let total = a[0] + a[1] + a[2];
        // A statement binds only while its forum is active, and fades between meetings.
        let strength = norm_strength(f, world.year);
        if total <= 0.0 || strength <= 0.0 {
            continue;
        }
        let weight = strength * norm_weight(f, scenario);
        let anchor = effective_anchor(f, &scenario.forum_dynamics, &anchor);
        let weights = std::array::from_fn(|d| weight * a[d] / total);
        // The members among the latest meeting's attendees (who come first, in order).
        let attendees = &f.attendees[..f.attendance];
        for &k in attendees
            .iter()
            .take_while(|&&k| (k as usize) < f.n_members)
        {
            let i = f.participants[k as usize] as usize;
            add_shortfalls(
                &mut penalties[i],
                &levels_of(protection, i, delta),
                &anchor,
                weights,
            );
        }
    }
}

/// The levels each protection domain of State `i` can take this year: down, stay, up. Computed
/// where they are used rather than stored (a store and reads of 72 bytes per State).
#[inline(always)]
fn levels_of(protection: [&[f64]; N_DOMAINS], i: usize, delta: f64) -> [[f64; 3]; N_DOMAINS] {
    let mut levels = [[0.0; 3]; N_DOMAINS];
    for (level, p) in levels.iter_mut().zip(protection) {
        let p = p[i];
        *level = [pos(p - delta), p, fmin(p + delta, 1.0)];
    }
    levels
}

/// Adds, for each domain and option, `weight` times the shortfall of the option's level below
/// `target`.
#[inline(always)]
fn add_shortfalls(
    penalty: &mut [[f64; 3]; N_DOMAINS],
    levels: &[[f64; 3]; N_DOMAINS],
    target: &[f64; N_DOMAINS],
    weight: [f64; N_DOMAINS],
) {
    for d in 0..N_DOMAINS {
        for o in 0..3 {
            penalty[d][o] += weight[d] * pos(target[d] - levels[d][o]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamics::flows;
    use crate::experiment::seeds;

    /// The parts an instrument moves, with the State's tastes, add up to the full utility's
    /// difference (four States in the lanes of one block).
    #[test]
    fn parts_agree_with_the_full_utility() {
        let scenario = Scenario::builtin_default().expect("scenario");
        let facts = scenario.facts().expect("facts");
        let mut rng = seeds::stream(1, seeds::WORLD);
        let mut world = World::new(&facts, &scenario, &mut rng);
        flows::initialise(&mut world, &scenario);
        calibrate_tastes(&mut world, &scenario);
        build_penalties(&mut world, &scenario);
        let states = [0, 17, 64, 180];
        let parts = Parts::new(&world, &scenario, states);
        let lane = |f: &dyn Fn(usize) -> f64| Lanes::from_fn(|l| f(states[l]));
        let x = instruments_of(&world, states);
        let f0 = lane(&|i| world.inflow[FORCED][i]);
        let l0 = lane(&|i| world.inflow[LABOUR][i]);
        let (pp, c) = (&scenario.policy, Lanes::splat);
        let mut total = parts.flow(f0, l0, x[0], x[2], x[3], x[4])
            - c(pp.c_enforcement) * x[3] * x[3]
            - c(pp.c_legal) * x[4] * x[4];
        for (d, &p) in x.iter().enumerate().take(N_DOMAINS) {
            total = total + parts.domain(d, p, 1);
        }
        for (k, &v) in x.iter().enumerate() {
            total = total + lane(&|i| world.taste[i][k]) * v;
        }
        let mut moved = x;
        moved[3] = moved[3] + c(0.02);
        let flow_moved = parts.flow(c(0.9) * f0, c(0.95) * l0, x[0], x[2], moved[3], x[4])
            - parts.flow(f0, l0, x[0], x[2], x[3], x[4])
            - c(pp.c_enforcement) * (moved[3] * moved[3] - x[3] * x[3]);
        for (l, &i) in states.iter().enumerate() {
            let y: [f64; N_INSTRUMENTS] = x.map(|v| v.0[l]);
            let taste = world.taste[i];
            assert!(taste.iter().any(|&t| t != 0.0), "State {i} has tastes");
            let (f, lb) = (f0.0[l], l0.0[l]);
            let full = utility_of(&world, &scenario, i, &y, f, lb, 0, 1);
            assert!(
                (total.0[l] - full).abs() < 1e-12,
                "{} vs {full}",
                total.0[l]
            );
            let z = moved.map(|v| v.0[l]);
            let full_moved = utility_of(&world, &scenario, i, &z, 0.9 * f, 0.95 * lb, 3, 2) - full;
            let part_moved = flow_moved.0[l] + taste[3] * (z[3] - y[3]);
            assert!(
                (part_moved - full_moved).abs() < 1e-12,
                "{part_moved} vs {full_moved}"
            );
        }
    }

    /// The status quo's start-year world of stream `seed`, tastes calibrated and penalties
    /// built, with one protection domain of every `every`-th State at a bound (0 or 1), so that
    /// blocks mix clamped and full moves.
    fn world_with_states_at_bounds(seed: u64, every: usize) -> (Scenario, World) {
        let scenario = Scenario::builtin_default().expect("scenario");
        let facts = scenario.facts().expect("facts");
        let mut world = World::new(&facts, &scenario, &mut seeds::stream(seed, seeds::WORLD));
        flows::initialise(&mut world, &scenario);
        calibrate_tastes(&mut world, &scenario);
        build_penalties(&mut world, &scenario);
        for i in (0..world.n_states).step_by(every) {
            world.protection[i % 3][i] = if i % 2 == 0 { 0.0 } else { 1.0 };
        }
        (scenario, world)
    }

    /// The step applies each block's choices as soon as the block has chosen: what applying
    /// every State's choice after all the choices gives, bit for bit, as long as a State's choice
    /// reads no other State's instruments (the States already moved are then read moved).
    #[test]
    fn applying_each_blocks_choices_at_once_changes_nothing() {
        let (scenario, world) = world_with_states_at_bounds(11, 5);
        let mut stepped = world.clone();
        let mut rng = seeds::stream(3, seeds::CHOICES);
        let mut reference_rng = rng.clone();
        step_body(&mut stepped, &scenario, &mut rng);

        let mut before = world.clone();
        build_penalties(&mut before, &scenario);
        let kernel = Kernel::new(&scenario);
        let n = before.n_states;
        let mut words = vec![0; N_INSTRUMENTS * n];
        fill_words(&mut reference_rng, &mut words);
        // Strictly: each block's options and utilities, bit for bit, on the world with the
        // blocks before it applied (as the step finds it) and on the world before any.
        let options = |w: &World, states| -> Vec<u64> {
            kernel
                .choices(w, &scenario, states)
                .iter()
                .flat_map(|(u, v)| u.iter().chain(v).flat_map(|x| x.0.map(f64::to_bits)))
                .collect()
        };
        // Each block chooses on the world before any, and its levels are applied to `progress`,
        // which ends as every choice applied after all the choices.
        let mut progress = before.clone();
        for first in (0..n).step_by(LANES) {
            let states = block(first, n);
            assert_eq!(
                options(&progress, states),
                options(&before, states),
                "block of State {first}"
            );
            let mut u = [[0.0; LANES]; N_INSTRUMENTS];
            for l in 0..LANES.min(n - first) {
                for (k, draw) in u.iter_mut().enumerate() {
                    draw[l] = to_uniform(words[N_INSTRUMENTS * (first + l) + k]);
                }
            }
            let levels = kernel.choose(&before, &scenario, states, &u);
            for l in 0..LANES.min(n - first) {
                let i = first + l;
                for (k, v) in levels.iter().enumerate() {
                    let old = progress.instrument(i, k);
                    progress.set_instrument(i, k, v.0[l]);
                    progress.last_move[i][k] = progress.instrument(i, k) - old;
                }
            }
        }
        let reference = progress;
        let mut moved = 0;
        for i in 0..n {
            for k in 0..N_INSTRUMENTS {
                assert_eq!(
                    stepped.instrument(i, k).to_bits(),
                    reference.instrument(i, k).to_bits(),
                    "State {i}, instrument {k}"
                );
                assert_eq!(
                    stepped.last_move[i][k].to_bits(),
                    reference.last_move[i][k].to_bits(),
                    "move of State {i}, instrument {k}"
                );
                moved += usize::from(stepped.last_move[i][k] != 0.0);
            }
        }
        assert!(moved > n, "only {moved} moves");
    }

    /// A State's options and utilities are the same bits whichever States share its block:
    /// alone in all four lanes, or with three others, in any lane.
    #[test]
    fn a_states_options_do_not_depend_on_its_lanes() {
        let (scenario, world) = world_with_states_at_bounds(5, 7);
        let kernel = Kernel::new(&scenario);
        let bits = |o: &[([Lanes; 3], [Lanes; 3]); N_INSTRUMENTS], l: usize| -> Vec<u64> {
            o.iter()
                .flat_map(|(u, v)| u.iter().chain(v).map(move |x| x.0[l].to_bits()))
                .collect()
        };
        let mut checked = 0;
        for first in (0..world.n_states - LANES).step_by(3) {
            // Out of order (a load per lane) and in order (one load per array).
            let mixed = [first + 3, first, first + 1, first + 2];
            let ordered = [first, first + 1, first + 2, first + 3];
            for states in [mixed, ordered] {
                let shared = kernel.choices(&world, &scenario, states);
                for (l, &i) in states.iter().enumerate() {
                    let alone = kernel.choices(&world, &scenario, [i; LANES]);
                    assert_eq!(bits(&shared, l), bits(&alone, 0), "State {i} in lane {l}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 200, "{checked}");
    }

    /// The level `Kernel::choose` draws for each instrument is the option the logit pick's
    /// index names among the options of `Kernel::choices`: its two masks and selects give the
    /// index's level, in every lane, States at their bounds included.
    #[test]
    fn choose_takes_the_level_the_logit_pick_names() {
        use rand::{RngExt, SeedableRng};
        let (scenario, world) = world_with_states_at_bounds(6, 5);
        let kernel = Kernel::new(&scenario);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        let mut picked = [0usize; 3];
        for round in 0..20 {
            for first in (0..world.n_states).step_by(LANES) {
                let states = block(first, world.n_states);
                let u: [[f64; LANES]; N_INSTRUMENTS] =
                    std::array::from_fn(|_| std::array::from_fn(|_| rng.random::<f64>()));
                let chosen = kernel.choose(&world, &scenario, states, &u);
                let options = kernel.choices(&world, &scenario, states);
                for (k, (utility, levels)) in options.iter().enumerate() {
                    let picks = logit_pick_lanes(&utility.map(|v| v.0), kernel.temperature, &u[k]);
                    for l in 0..LANES {
                        let want = levels[picks[l]].0[l];
                        assert_eq!(
                            chosen[k].0[l].to_bits(),
                            want.to_bits(),
                            "round {round}, State {}, instrument {k}",
                            states[l]
                        );
                        picked[picks[l]] += 1;
                    }
                }
            }
        }
        assert!(picked.iter().all(|&p| p > 100), "{picked:?}");
    }

    /// With its tastes, a State's start-year policy is its domestic best response: the moves
    /// down and up of every instrument gain the same (neither is favoured), and staying is the
    /// best option for every interior instrument (the quadratic running costs and the cost of
    /// adjustment outweigh the little convexity the logit inflows have).
    #[test]
    fn tastes_make_the_start_a_domestic_best_response() {
        let scenario = Scenario::builtin_default().expect("scenario");
        let facts = scenario.facts().expect("facts");
        let mut world = World::new(&facts, &scenario, &mut seeds::stream(2, seeds::WORLD));
        flows::initialise(&mut world, &scenario);
        calibrate_tastes(&mut world, &scenario);
        let kernel = Kernel::new(&scenario);
        let mut interior = 0;
        let n = world.n_states;
        for first in (0..n).step_by(LANES) {
            let states = block(first, n);
            let gains = Gains::new(&kernel, &world, &scenario, states);
            for k in 0..N_INSTRUMENTS {
                let zero = Lanes::splat(0.0);
                let (down, up) = (
                    kernel.step_to(gains.x[k], zero, 0),
                    kernel.step_to(gains.x[k], zero, 2),
                );
                let (gd, gu) = (gains.of(k, &down), gains.of(k, &up));
                for (l, &i) in states.iter().enumerate().take(LANES.min(n - first)) {
                    if !(down.room.lane(l) && up.room.lane(l)) {
                        continue;
                    }
                    let taste = world.taste[i][k];
                    let g_down = gd.0[l] + taste * down.change.0[l];
                    let g_up = gu.0[l] + taste * up.change.0[l];
                    let scale = gu.0[l].abs().max(gd.0[l].abs()).max(1e-3);
                    assert!(
                        (g_up - g_down).abs() <= 1e-9 * scale,
                        "State {i}, instrument {k}: down {g_down}, up {g_up}"
                    );
                    let adjust = scenario.policy.c_adjust * up.change.0[l].abs();
                    assert!(g_up < adjust, "State {i}, instrument {k}: up gains {g_up}");
                    interior += 1;
                }
            }
        }
        assert!(interior > 900, "{interior} interior instruments");
    }

    /// Two exponentials give the weights of three: the same draw as computing all three, on
    /// random utilities with ties, each lane of a call with its own utilities and uniform.
    #[test]
    fn logit_pick_agrees_with_three_exponentials() {
        use crate::dynamics::math::fmax;
        use rand::{RngExt, SeedableRng};
        let three = |utility: &[f64; 3], t: f64, u: f64| {
            let max = fmax(fmax(utility[0], utility[1]), utility[2]);
            let w = utility.map(|v| exp((v - max) * (1.0 / t)));
            let target = u * (w[0] + w[1] + w[2]);
            usize::from(target >= w[0]) + usize::from(target >= w[0] + w[1])
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut seen = [0usize; 3];
        for block in 0..50_000 {
            let t = [0.005, 0.02, 0.1][block % 3];
            let mut utility = [[0.0; LANES]; 3];
            let mut u = [0.0; LANES];
            for l in 0..LANES {
                let mut level = || {
                    if (block + l) % 4 == 0 {
                        f64::from(rng.random_range(0..3u8)) * 0.01
                    } else {
                        rng.random::<f64>() * 0.2 - 0.1
                    }
                };
                for option in utility.iter_mut() {
                    option[l] = level();
                }
                u[l] = rng.random::<f64>();
            }
            let picks = logit_pick_lanes(&utility, t, &u);
            for l in 0..LANES {
                let one = utility.map(|option| option[l]);
                let pick = three(&one, t, u[l]);
                assert_eq!(picks[l], pick, "{one:?} t {t} u {}", u[l]);
                assert_eq!(logit_pick(&one, t, u[l]), pick);
                seen[pick] += 1;
            }
        }
        assert!(seen.iter().all(|&s| s > 10_000), "{seen:?}");
        // Weights that underflow to 0 (a gap of thousands of temperatures), ties, and every
        // place of the best option, each lane its own case.
        let edges = [
            ([0.0, -50.0, 0.0], 0.005),
            ([-50.0, 0.0, -50.0], 0.005),
            ([0.0, 0.0, -50.0], 0.005),
            ([-50.0, -50.0, 0.0], 0.005),
            ([0.1, 0.1, 0.1], 0.02),
            ([1e-300, 0.0, -1e-300], 0.02),
        ];
        for (utility, t) in edges {
            for u in [0.0, 1e-12, 0.25, 0.5, 0.75, 1.0 - 1e-12] {
                assert_eq!(
                    logit_pick(&utility, t, u),
                    three(&utility, t, u),
                    "{utility:?} t {t} u {u}"
                );
            }
        }
    }

    #[test]
    fn logit_pick_is_greedy_at_low_temperature_and_uniform_at_high() {
        let u = [1.0, 0.0, 0.5];
        for k in 0..100 {
            assert_eq!(logit_pick(&u, 1e-6, k as f64 / 100.0), 0);
        }
        assert_eq!(logit_pick(&u, 1e6, 0.1), 0);
        assert_eq!(logit_pick(&u, 1e6, 0.5), 1);
        assert_eq!(logit_pick(&u, 1e6, 0.9), 2);
    }
}
