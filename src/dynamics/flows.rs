//! Migration flows: destination choice, admission, stocks and trafficking exposure.
//!
//! Outflow of origin region r and stream s (forced, labour):
//! $O_{rs} = g_s \sum_{o \in r} \text{pop}_o (1-y_o)^\psi (1 + w_s C_r)$.
//! Utility of destination j: $V_{rsj} = W_{sj} + \beta_{net}\ln(1+S_{rj}) - \beta_{far}[\text{region}(j) \ne r]$
//! with $W_{sj} = \beta_y y_j + \beta_{p,s} A_{sj} - \beta_e e_j + \beta_{l,s} l_j + \beta_{size} \ln(\text{pop}_j/\overline{\text{pop}})$.
//! Logit shares over destinations plus the outside option "stay" with utility
//! $V_{0s} + \ln(N/193)$ (the log term keeps the moving share of a world independent of its number
//! of States). Because $e^{V}$ factors into a destination part and an origin-destination part,
//! a year costs one exponential per destination and stream plus one per region-destination pair.
//!
//! Admission: labour arrivals are regular up to the quota $Q_j = l_j \kappa_Q \text{pop}_j y_j$,
//! the rest irregular; a share of forced arrivals is recognised, rising with asylum protection;
//! rejected claimants are removed with a share rising with enforcement, the rest become irregular.
//! Trafficking exposure = irregular arrivals × (θ0 + θe e) × (1 − p_trafficking).
//!
//! # References
//! McFadden (1974), conditional logit; Beine, Docquier and Özden (2011) on diaspora networks.

use super::math::{LANES, Lanes, Real, exp, exp_lanes, fmax, ln_1p, ln_1p_slice, pos};
use crate::scenario::Scenario;
use crate::world::{FORCED, LABOUR, World};

/// Reference number of States for the outside option (the UN membership).
const REFERENCE_STATES: f64 = 193.0;

/// Destination part of the utility, $W_{sj}$, for State `j` with instrument values given.
#[inline(always)]
pub fn destination_utility(
    scenario: &Scenario,
    stream: usize,
    income: f64,
    protection: f64,
    enforcement: f64,
    legal: f64,
    log_size: f64,
) -> f64 {
    let fp = &scenario.flows;
    let (beta_p, beta_l) = if stream == FORCED {
        (fp.beta_protection_forced, fp.beta_legal_forced)
    } else {
        (fp.beta_protection_labour, fp.beta_legal_labour)
    };
    fp.beta_income * income + beta_p * protection - fp.beta_enforcement * enforcement
        + beta_l * legal
        + fp.beta_size * log_size
}

/// Protection domain that stream `s` cares about: asylum for forced, labour for labour migrants.
#[inline(always)]
pub fn stream_domain(stream: usize) -> usize {
    if stream == FORCED { 0 } else { 1 }
}

super::dispatch::simd_dispatch! {
    /// Destination choice, then admission: the year's flows, stocks and networks.
    pub fn step / step_portable (world: &mut World, scenario: &Scenario) => step_body
}

#[inline(always)]
fn step_body(world: &mut World, scenario: &Scenario) {
    allocate(world, scenario);
    super::bilateral::corridor_shares(world);
    admit(world, scenario);
}

/// Destination choice: pools, shares, inflows and stayers.
///
/// Every array is origin-major (`r * n + j`), so each inner loop runs over destinations with
/// no dependence between them and vectorises; each sum still adds its terms in ascending order
/// of origin region or destination, as the formulas read.
#[inline(always)]
pub fn allocate(world: &mut World, scenario: &Scenario) {
    let fp = &scenario.flows;
    let n = world.n_states;
    let nr = world.n_regions;
    for r in 0..nr {
        let base = world.region_base[r];
        let c = world.crisis[r];
        world.pool[FORCED * nr + r] = fp.g_forced * base * (1.0 + c);
        world.pool[LABOUR * nr + r] = fp.g_labour * base * (1.0 + fp.crisis_labour_weight * c);
    }
    // Each destination's attraction, the exponential of its utility: the utilities first, then
    // their exponentials four at a time (`exp_lanes`, the same bits as one at a time).
    for s in [FORCED, LABOUR] {
        let d = stream_domain(s);
        let attract = &mut world.scratch_attract[s * n..(s + 1) * n];
        for (j, a) in attract.iter_mut().enumerate() {
            *a = destination_utility(
                scenario,
                s,
                world.income[j],
                world.protection[d][j],
                world.enforcement[j],
                world.legal[j],
                world.log_size[j],
            );
        }
        let mut blocks = attract.chunks_exact_mut(LANES);
        for a in &mut blocks {
            let e = exp_lanes([a[0], a[1], a[2], a[3]]);
            a.copy_from_slice(&e);
        }
        for a in blocks.into_remainder() {
            *a = exp(*a);
        }
    }
    let far = exp(-fp.beta_far);
    let size_term = (n as f64 / REFERENCE_STATES).ln();
    let outside = [exp(fp.v0_forced + size_term), exp(fp.v0_labour + size_term)];
    // Network factors, times the cost of distance outside a destination's own region.
    for (r, (stock, net)) in world
        .network
        .chunks_exact(n)
        .zip(world.scratch_network.chunks_exact_mut(n))
        .enumerate()
    {
        network_factors(stock, net, fp.beta_network, far, &world.region, r as u16);
    }
    // Logit denominators per stream and origin region; a labour migrant's corridor also carries
    // the pull of the bilateral agreements that cover it. Four regions at a time, each its own
    // chain of additions over destinations in ascending order (as one region alone would add).
    let mut r = 0;
    while r + 4 <= nr {
        denominators::<4>(world, r, outside);
        r += 4;
    }
    while r < nr {
        denominators::<1>(world, r, outside);
        r += 1;
    }
    for s in [FORCED, LABOUR] {
        for k in s * nr..(s + 1) * nr {
            let denominator = world.scratch_denominator[k];
            world.stayed[k] = world.pool[k] * outside[s] / denominator;
            world.scratch_inverse[k] = 1.0 / denominator;
        }
    }
    // Shares, inflows and the share moments used by policy anticipation.
    if n * nr <= REGISTER_SHARES_MAX {
        for s in [FORCED, LABOUR] {
            shares_in_registers(world, s);
        }
    } else {
        shares_by_region(world);
    }
}

/// Corridors (origin regions times destinations) up to which [`allocate`] sums the share moments
/// of four destinations over the regions in registers ([`shares_in_registers`]), and beyond which
/// it runs over the regions' rows one after the other, both streams together
/// ([`shares_by_region`]): the same bits either way. The first stores a destination's moments
/// once instead of once per region, but reads the regions' rows at a stride; measured
/// (step_costs, flows against policy in the same run): 0.94x at 193 States (22 regions, five
/// alternations) and 0.95x at 2,000 (10 regions, 20,000 corridors), 1.04x at 20,000 States and
/// 1.06x at 100,000 (200,000 and 1,000,000 corridors, two alternations each, where the rows of a
/// block lie far apart), against the region-by-region pass of one stream at a time. Against
/// the two streams together, four alternations: 0.95x at 193 States and 0.88x at 2,000. At
/// 32,768 corridors three per-corridor arrays take 768 KB, well inside the second-level cache of
/// the machines measured.
const REGISTER_SHARES_MAX: usize = 32_768;

/// A corridor's share of the origin's pool, from the destination's attraction, the corridor's
/// network and bilateral factors and the inverse of the origin's logit denominator, and its
/// terms of the share moments with pool `p`: $p s$, $p s^2$, $p s^3$, $p s^4$ (each the last
/// times $s$). The one formula of both forms of the share pass.
#[inline(always)]
fn share_terms(attract: f64, net: f64, bil: f64, inverse: f64, p: f64) -> (f64, [f64; N_MOMENTS]) {
    let sh = attract * net * bil * inverse;
    let t1 = p * sh;
    let t2 = t1 * sh;
    let t3 = t2 * sh;
    (sh, [t1, t2, t3, t3 * sh])
}

/// The shares of stream `s`, four destinations at a time ([`shares`]).
#[inline(always)]
fn shares_in_registers(world: &mut World, s: usize) {
    let n = world.n_states;
    let mut j = 0;
    while j + LANES <= n {
        shares::<LANES>(world, s, j);
        j += LANES;
    }
    while j < n {
        shares::<1>(world, s, j);
        j += 1;
    }
}

/// The shares of both streams, the regions' rows one after the other, each destination's moments
/// and largest share summed in memory (in ascending region order, as in [`shares`]). Both
/// streams in one pass, so that a row of network factors is read once for the two. The first
/// region's row writes $0 + t$ and the larger of $0$ and the share, in registers, rather than
/// adding to arrays filled with zeros: the same bits for any input (a pool of $-0$, which the
/// parameter bounds admit, gives $-0$ terms that $0 + t$ turns into $+0$ as the fill did), and
/// the arrays need no fill.
#[inline(always)]
fn shares_by_region(world: &mut World) {
    let (n, nr) = (world.n_states, world.n_regions);
    let (af, al) = world.scratch_attract.split_at(n);
    let (af, al) = (&af[..n], &al[..n]);
    let [m1, m2, m3, m4] = &mut world.moments;
    let ((m1f, m1l), (m2f, m2l)) = (streams(m1, n), streams(m2, n));
    let ((m3f, m3l), (m4f, m4l)) = (streams(m3, n), streams(m4, n));
    let (max_f, max_l) = streams(&mut world.max_share, n);
    let mut sums = RowSums {
        forced: [m1f, m2f, m3f, m4f, max_f],
        labour: [m1l, m2l, m3l, m4l, max_l],
    };
    let (share_f, share_l) = world.share.split_at_mut(nr * n);
    for r in 0..nr {
        let row = r * n..(r + 1) * n;
        let pools = [world.pool[FORCED * nr + r], world.pool[LABOUR * nr + r]];
        let inverses = [
            world.scratch_inverse[FORCED * nr + r],
            world.scratch_inverse[LABOUR * nr + r],
        ];
        let rows = RowInputs {
            attract: [af, al],
            net: &world.scratch_network[row.clone()],
            bil: &world.labour_factor[row.clone()],
            pools,
            inverses,
        };
        let outs = [&mut share_f[row.clone()], &mut share_l[row]];
        if r == 0 {
            share_row::<true>(&rows, outs, &mut sums, n);
        } else {
            share_row::<false>(&rows, outs, &mut sums, n);
        }
    }
    world.inflow[FORCED].copy_from_slice(&sums.forced[0][..n]);
    world.inflow[LABOUR].copy_from_slice(&sums.labour[0][..n]);
}

/// What a region's row of the share pass reads: both streams' attractions of each destination,
/// the row's network and bilateral factors, and the region's pools and inverse denominators.
struct RowInputs<'a> {
    attract: [&'a [f64]; 2],
    net: &'a [f64],
    bil: &'a [f64],
    pools: [f64; 2],
    inverses: [f64; 2],
}

/// The per-destination sums of the share pass, of each stream: the four moments, then the
/// largest share.
struct RowSums<'a> {
    forced: [&'a mut [f64]; N_MOMENTS + 1],
    labour: [&'a mut [f64]; N_MOMENTS + 1],
}

/// One region's row of [`shares_by_region`]: its shares, and their terms added to each
/// destination's sums (written, for the first row).
#[inline(always)]
fn share_row<const FIRST: bool>(
    rows: &RowInputs,
    [out_f, out_l]: [&mut [f64]; 2],
    sums: &mut RowSums,
    n: usize,
) {
    // Equal lengths, stated once, let the loop run without bounds checks and vectorise.
    let (af, al) = (&rows.attract[FORCED][..n], &rows.attract[LABOUR][..n]);
    let (net, bil) = (&rows.net[..n], &rows.bil[..n]);
    let (out_f, out_l) = (&mut out_f[..n], &mut out_l[..n]);
    let [pf, pl] = rows.pools;
    let [inv_f, inv_l] = rows.inverses;
    let [m1f, m2f, m3f, m4f, max_f] = &mut sums.forced;
    let (m1f, m2f, m3f, m4f, max_f) = (
        &mut m1f[..n],
        &mut m2f[..n],
        &mut m3f[..n],
        &mut m4f[..n],
        &mut max_f[..n],
    );
    let [m1l, m2l, m3l, m4l, max_l] = &mut sums.labour;
    let (m1l, m2l, m3l, m4l, max_l) = (
        &mut m1l[..n],
        &mut m2l[..n],
        &mut m3l[..n],
        &mut m4l[..n],
        &mut max_l[..n],
    );
    for j in 0..n {
        // The forced stream's corridors have no bilateral factor: a factor of one.
        let (sh, [t1, t2, t3, t4]) = share_terms(af[j], net[j], 1.0, inv_f, pf);
        out_f[j] = sh;
        if FIRST {
            (m1f[j], m2f[j], m3f[j], m4f[j]) = (0.0 + t1, 0.0 + t2, 0.0 + t3, 0.0 + t4);
            max_f[j] = fmax(0.0, sh);
        } else {
            m1f[j] += t1;
            m2f[j] += t2;
            m3f[j] += t3;
            m4f[j] += t4;
            max_f[j] = fmax(max_f[j], sh);
        }
        let (sh, [t1, t2, t3, t4]) = share_terms(al[j], net[j], bil[j], inv_l, pl);
        out_l[j] = sh;
        if FIRST {
            (m1l[j], m2l[j], m3l[j], m4l[j]) = (0.0 + t1, 0.0 + t2, 0.0 + t3, 0.0 + t4);
            max_l[j] = fmax(0.0, sh);
        } else {
            m1l[j] += t1;
            m2l[j] += t2;
            m3l[j] += t3;
            m4l[j] += t4;
            max_l[j] = fmax(max_l[j], sh);
        }
    }
}

/// The forced and the labour halves of an array of one value per stream and destination, each
/// cut to length `n` where [`shares_by_region`] gathers them, so that the compiler knows the
/// lengths from there on (with a plain `split_at_mut` the AVX2 flows step is 475 bytes larger;
/// [`share_row`] cuts its slices again for its own loop).
#[inline(always)]
fn streams(v: &mut [f64], n: usize) -> (&mut [f64], &mut [f64]) {
    let (forced, labour) = v.split_at_mut(n);
    (&mut forced[..n], &mut labour[..n])
}

/// The shares of stream `s` from every origin region in destinations `j..j + W`, and their
/// moments and largest share: each destination's sums over the regions run in ascending region
/// order, as the formulas read, in registers rather than in memory once per region.
#[inline(always)]
fn shares<const W: usize>(world: &mut World, s: usize, j: usize) {
    let (n, nr) = (world.n_states, world.n_regions);
    let mut attract = [0.0; W];
    attract.copy_from_slice(&world.scratch_attract[s * n + j..s * n + j + W]);
    let mut moments = [[0.0; W]; N_MOMENTS];
    let mut max_share = [0.0; W];
    let pools = &world.pool[s * nr..(s + 1) * nr];
    let inverses = &world.scratch_inverse[s * nr..(s + 1) * nr];
    // The forced stream's corridors have no bilateral factor: rows of ones.
    let ones = [1.0; W];
    let rows = world
        .scratch_network
        .chunks_exact(n)
        .zip(world.labour_factor.chunks_exact(n));
    let out = world.share[s * nr * n..(s + 1) * nr * n].chunks_exact_mut(n);
    for (((&p, &inverse), (net, bil)), out) in pools.iter().zip(inverses).zip(rows).zip(out) {
        let net = &net[j..j + W];
        let bil = if s == LABOUR {
            &bil[j..j + W]
        } else {
            &ones[..]
        };
        let out = &mut out[j..j + W];
        for l in 0..W {
            let (sh, terms) = share_terms(attract[l], net[l], bil[l], inverse, p);
            out[l] = sh;
            for (m, t) in moments.iter_mut().zip(terms) {
                m[l] += t;
            }
            max_share[l] = fmax(max_share[l], sh);
        }
    }
    for (k, m) in moments.iter().enumerate() {
        world.moments[k][s * n + j..s * n + j + W].copy_from_slice(m);
    }
    world.max_share[s * n + j..s * n + j + W].copy_from_slice(&max_share);
    world.inflow[s][j..j + W].copy_from_slice(&moments[0]);
}

/// The logit denominators of origin regions `r0..r0 + L` for both streams (each starts from the
/// outside option and adds its destinations in ascending order).
#[inline(always)]
fn denominators<const L: usize>(world: &mut World, r0: usize, outside: [f64; 2]) {
    let (n, nr) = (world.n_states, world.n_regions);
    let (a_forced, a_labour) = world.scratch_attract.split_at(n);
    let (a_forced, a_labour) = (&a_forced[..n], &a_labour[..n]);
    let net: [&[f64]; L] =
        std::array::from_fn(|k| &world.scratch_network[(r0 + k) * n..(r0 + k + 1) * n]);
    let bil: [&[f64]; L] =
        std::array::from_fn(|k| &world.labour_factor[(r0 + k) * n..(r0 + k + 1) * n]);
    let mut df = [outside[FORCED]; L];
    let mut dl = [outside[LABOUR]; L];
    for j in 0..n {
        let (af, al) = (a_forced[j], a_labour[j]);
        for k in 0..L {
            let x = net[k][j];
            df[k] += af * x;
            dl[k] += al * x * bil[k][j];
        }
    }
    world.scratch_denominator[FORCED * nr + r0..FORCED * nr + r0 + L].copy_from_slice(&df);
    world.scratch_denominator[LABOUR * nr + r0..LABOUR * nr + r0 + L].copy_from_slice(&dl);
}

/// Network factors of the row of origin region `r`: the pull of each destination's stock, times
/// the cost of distance `far` where the destination's region (`region`) is not `r`. The pull of
/// the own region's destinations is taken in the same pass as the others' (a select per
/// element), not again one at a time afterwards.
#[inline(always)]
fn network_factors(stock: &[f64], out: &mut [f64], beta: f64, far: f64, region: &[u16], r: u16) {
    let (out, region) = (&mut out[..stock.len()], &region[..stock.len()]);
    let distance = |pull: f64, region: u16| if region == r { pull } else { far * pull };
    if beta == 0.5 {
        for ((o, s), &g) in out.iter_mut().zip(stock).zip(region) {
            *o = distance((1.0 + s).sqrt(), g);
        }
    } else if beta == 1.0 || beta == 0.0 {
        for ((o, s), &g) in out.iter_mut().zip(stock).zip(region) {
            *o = distance(network_factor(*s, beta), g);
        }
    } else {
        // The power $e^{\beta \ln(1+S)}$, its logarithms and exponentials four at a time (the
        // same bits as one at a time): under a posterior that draws the exponent, this loop is
        // a year's largest cost.
        ln_1p_slice(stock, out);
        let mut outs = out.chunks_exact_mut(LANES);
        for o in &mut outs {
            let e = exp_lanes([beta * o[0], beta * o[1], beta * o[2], beta * o[3]]);
            o.copy_from_slice(&e);
        }
        for o in outs.into_remainder() {
            *o = exp(beta * *o);
        }
        // The cost of distance in a pass of its own: a loop the compiler vectorises, comparing
        // the regions of several destinations at once (inside the loop above, it compared them
        // one at a time).
        for (o, &g) in out.iter_mut().zip(region) {
            *o = distance(*o, g);
        }
    }
}

/// The network pull $(1 + S)^{\beta}$: a square root for the default $\beta = 1/2$, a plain
/// power otherwise (the same function, at a tenth of the cost on the hottest loop of a year).
#[inline(always)]
pub fn network_factor(stock: f64, beta: f64) -> f64 {
    if beta == 0.5 {
        (1.0 + stock).sqrt()
    } else if beta == 1.0 {
        1.0 + stock
    } else if beta == 0.0 {
        1.0
    } else {
        exp(beta * ln_1p(stock))
    }
}

/// What admission makes of one destination's arrivals in a year (of four destinations, a lane
/// each, with `T` = [`Lanes`]).
#[derive(Debug, Clone, Copy)]
pub struct Admitted<T = f64> {
    pub regular: T,
    pub recognised: T,
    pub irregular: T,
    pub removed: T,
    /// Of the removed, those removed only because a readmission agreement covers them.
    pub readmitted: T,
}

/// The terms of a destination's admission that do not move with its own policy this year: its
/// regular quota per unit of legal channels, and the shares of its labour arrivals under labour
/// agreements and of its forced arrivals under readmission agreements.
#[derive(Debug, Clone, Copy)]
pub struct AdmissionTerms<T = f64> {
    pub quota_per_legal: T,
    pub bilateral_share: T,
    pub readmission_share: T,
    /// Share of the rejected claimants covered by readmission that are removed (in force).
    pub readmission_removal: T,
}

impl AdmissionTerms {
    #[inline(always)]
    pub fn of(world: &World, scenario: &Scenario, j: usize) -> AdmissionTerms {
        AdmissionTerms {
            quota_per_legal: scenario.admission.kappa_quota * world.population[j] * world.income[j],
            bilateral_share: world.bilateral_share[j],
            readmission_share: world.readmission_share[j],
            readmission_removal: world.bilateral.readmission_removal,
        }
    }

    /// The terms of four States, a lane each.
    #[inline(always)]
    pub fn lanes(
        world: &World,
        scenario: &Scenario,
        states: [usize; LANES],
    ) -> AdmissionTerms<Lanes> {
        // The operations of [`AdmissionTerms::of`], in its order, per lane.
        let gather = |v: &[f64]| Lanes::gather(v, states);
        AdmissionTerms {
            quota_per_legal: Lanes::splat(scenario.admission.kappa_quota)
                * gather(&world.population)
                * gather(&world.income),
            bilateral_share: gather(&world.bilateral_share),
            readmission_share: gather(&world.readmission_share),
            readmission_removal: Lanes::splat(world.bilateral.readmission_removal),
        }
    }
}

/// Admission of `labour` and `forced` arrivals under asylum protection `p_asylum`, enforcement
/// `e` and legal channels `l`: labour arrivals under an agreement are regular, the rest regular
/// up to the quota and irregular beyond it; forced arrivals are recognised (rising with asylum
/// protection), or rejected and then removed (rising with enforcement, and for those a
/// readmission agreement covers, by `readmission_removal` of the rest) or irregular. The one
/// formula that admission, and the anticipation of policy choice (four States at a time), use.
#[inline(always)]
pub fn admission<T: Real>(
    scenario: &Scenario,
    terms: &AdmissionTerms<T>,
    labour: T,
    forced: T,
    p_asylum: T,
    e: T,
    l: T,
) -> Admitted<T> {
    let ap = &scenario.admission;
    let one = T::splat(1.0);
    let under_agreements = terms.bilateral_share * labour;
    let regular = under_agreements + (labour - under_agreements).min(l * terms.quota_per_legal);
    let recognition =
        (T::splat(ap.recognition_base) + T::splat(ap.recognition_protection) * p_asylum).min(one);
    let recognised = forced * recognition;
    let rejected = forced - recognised;
    let enforced = (T::splat(ap.removal_enforcement) * e).min(one);
    let readmitted =
        rejected * (one - enforced) * terms.readmission_removal * terms.readmission_share;
    let removed = rejected * enforced + readmitted;
    Admitted {
        regular,
        recognised,
        // Never below zero by rounding (regular can equal labour up to the last bit).
        irregular: (labour - regular).pos() + (rejected - removed).pos(),
        removed,
        readmitted,
    }
}

/// Admission of State `j`'s arrivals this year.
#[inline(always)]
fn admitted(world: &World, scenario: &Scenario, j: usize) -> Admitted {
    admission(
        scenario,
        &AdmissionTerms::of(world, scenario, j),
        world.inflow[LABOUR][j],
        world.inflow[FORCED][j],
        world.protection[0][j],
        world.enforcement[j],
        world.legal[j],
    )
}

super::dispatch::simd_dispatch! {
    /// The arrivals of the year before the first: destination choice and admission under the
    /// start-year policies, without touching stocks or networks. Each State's first "cut in
    /// irregular arrivals" and "gain in regular arrivals" is then measured against a real year,
    /// not against zero. (Dispatched like a year's step: its destination choice is one.)
    pub fn initialise / initialise_portable (world: &mut World, scenario: &Scenario) =>
        initialise_body
}

#[inline(always)]
fn initialise_body(world: &mut World, scenario: &Scenario) {
    allocate(world, scenario);
    super::bilateral::corridor_shares(world);
    for j in 0..world.n_states {
        let a = admitted(world, scenario, j);
        world.arrivals_regular[j] = a.regular;
        world.arrivals_refugee[j] = a.recognised;
        world.arrivals_irregular[j] = a.irregular;
        world.arrivals_irregular_prev[j] = a.irregular;
        world.arrivals_regular_prev[j] = a.regular;
        let entries = world.inflow[FORCED][j] + world.inflow[LABOUR][j] - a.regular;
        world.entries_irregular[j] = entries;
        world.entries_irregular_prev[j] = entries;
    }
}

/// Admission, stocks, diaspora networks and trafficking exposure.
#[inline(always)]
pub fn admit(world: &mut World, scenario: &Scenario) {
    let ap = &scenario.admission;
    let n = world.n_states;
    let nr = world.n_regions;
    let keep = 1.0 - ap.mu;
    // Last year's arrivals and entries become the previous year's by exchanging the arrays, not
    // by a copy per State: every State's values for this year are then written below.
    std::mem::swap(
        &mut world.arrivals_irregular_prev,
        &mut world.arrivals_irregular,
    );
    std::mem::swap(
        &mut world.arrivals_regular_prev,
        &mut world.arrivals_regular,
    );
    std::mem::swap(
        &mut world.entries_irregular_prev,
        &mut world.entries_irregular,
    );
    for j in 0..n {
        let Admitted {
            regular,
            recognised,
            irregular,
            removed,
            readmitted,
        } = admitted(world, scenario, j);
        world.readmitted[j] = readmitted;
        let forced = world.inflow[FORCED][j];
        let e = world.enforcement[j];
        let l = world.legal[j];
        world.entries_irregular[j] = forced + pos(world.inflow[LABOUR][j] - regular);
        world.arrivals_regular[j] = regular;
        world.arrivals_refugee[j] = recognised;
        world.arrivals_irregular[j] = irregular;
        world.trafficking[j] = irregular
            * (ap.theta0 + ap.theta_enforcement * e).min(1.0)
            * (1.0 - world.protection[2][j]);
        let regularised = (ap.regularisation * l).min(1.0) * world.stock_irregular[j];
        world.stock_regular[j] = (world.stock_regular[j] + regular + regularised) * keep;
        world.stock_refugee[j] = (world.stock_refugee[j] + recognised) * keep;
        world.stock_irregular[j] = (world.stock_irregular[j] - regularised + irregular) * keep;
        // Those removed leave; everyone else joins the diaspora network of their region.
        world.scratch_staying[j] = if forced > 0.0 {
            1.0 - removed / forced
        } else {
            1.0
        };
    }
    share_responsibility(world, keep);
    let forced_staying = &world.scratch_staying;
    // Whether any stock came out negative or NaN, folded as the stocks are written: what
    // `World::check_invariants` would otherwise find by reading them all again.
    let mut invalid = false;
    for r in 0..nr {
        let (p_labour, p_forced) = (world.pool[LABOUR * nr + r], world.pool[FORCED * nr + r]);
        let labour = &world.share[(LABOUR * nr + r) * n..(LABOUR * nr + r + 1) * n];
        let forced = &world.share[(FORCED * nr + r) * n..(FORCED * nr + r + 1) * n];
        let row = &mut world.network[r * n..(r + 1) * n];
        let (labour, forced, staying, row) = (
            &labour[..n],
            &forced[..n],
            &forced_staying[..n],
            &mut row[..n],
        );
        for j in 0..n {
            let arrived = p_labour * labour[j] + p_forced * forced[j] * staying[j];
            let stock = (row[j] + arrived) * keep;
            row[j] = stock;
            invalid |= stock.is_nan() | (stock < 0.0);
        }
    }
    world.network_unchecked = invalid;
}

/// Responsibility sharing: of the refugees recognised this year in the parties of a treaty with
/// `sharing` s, the share s is resettled among all its parties in proportion to their capacity.
/// Moves refugee stocks only (arrivals stay where they arrived).
fn share_responsibility(world: &mut World, keep: f64) {
    for t in 0..world.treaties.len() {
        let s = world.treaties[t].design.sharing;
        if s <= 0.0 {
            continue;
        }
        let party = &world.treaties[t].party;
        let (mut pool, mut capacity) = (0.0, 0.0);
        for i in (0..world.n_states).filter(|&i| party[i]) {
            pool += s * world.arrivals_refugee[i];
            capacity += world.capacity[i];
        }
        if capacity <= 0.0 {
            continue;
        }
        for i in (0..world.n_states).filter(|&i| party[i]) {
            let moved = world.capacity[i] / capacity * pool - s * world.arrivals_refugee[i];
            world.stock_refugee[i] = (world.stock_refugee[i] + moved * keep).max(0.0);
        }
    }
}

/// Number of moments kept for the anticipation series.
pub const N_MOMENTS: usize = 4;

/// Moments $M_n = \sum_r O_{rs} s_{rsj}^n$ ($n = 1..4$) of State `j`'s shares for stream `s`, and
/// the largest share: what [`anticipated_inflow`] needs, computed once per State and year (of
/// four States, a lane each, with `T` = [`Lanes`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct ShareMoments<T = f64> {
    pub moments: [T; N_MOMENTS],
    pub max_share: T,
}

/// The share moments of State `j` for stream `s`, as computed by [`allocate`] this year.
#[inline(always)]
pub fn share_moments(world: &World, s: usize, j: usize) -> ShareMoments {
    let k = s * world.n_states + j;
    ShareMoments {
        moments: std::array::from_fn(|n| world.moments[n][k]),
        max_share: world.max_share[k],
    }
}

/// [`share_moments`] of four States, a lane each.
#[inline(always)]
pub fn share_moments_lanes(world: &World, s: usize, states: [usize; LANES]) -> ShareMoments<Lanes> {
    let k = states.map(|j| s * world.n_states + j);
    ShareMoments {
        moments: std::array::from_fn(|n| Lanes::gather(&world.moments[n], k)),
        max_share: Lanes::gather(&world.max_share, k),
    }
}

/// The bound on $\max_r s_r |x|$ below which [`anticipated_inflow`] sums its series.
const SERIES_BOUND: f64 = 0.05;

/// Anticipated inflow of stream `s` into State `j` if its own attractiveness changed by
/// $k = e^{\Delta V}$, all else fixed: $\sum_r O_{rs}\, s k / (1 - s + s k)$ (exact for a logit).
///
/// With $x = k - 1$ the sum is $k \sum_n (-x)^{n-1} M_n$, a geometric series in $s x$. When
/// $\max_r s_r |x| \le 0.05$ (every policy step of the defaults) four moments give a relative
/// error below $0.05^4 \approx 6 \cdot 10^{-6}$ and the cost is constant; otherwise the exact sum
/// over regions is taken.
#[inline(always)]
pub fn anticipated_inflow(world: &World, s: usize, j: usize, m: &ShareMoments, k: f64) -> f64 {
    if k == 1.0 {
        return world.inflow[s][j];
    }
    let x = k - 1.0;
    if m.max_share * x.abs() <= SERIES_BOUND {
        return moment_series(m, k);
    }
    exact_inflow(world, s, j, k)
}

/// [`anticipated_inflow`] of four States, a lane each, whose inflows this year are `current`:
/// the series of the four at once, and the exact sum for every lane when a lane's change is too
/// large for the series (rare).
#[inline(always)]
pub fn anticipated_inflow_lanes(
    world: &World,
    s: usize,
    states: [usize; LANES],
    m: &ShareMoments<Lanes>,
    k: Lanes,
    current: Lanes,
) -> Lanes {
    let x = k - Lanes::splat(1.0);
    let unit = k.eq(Lanes::splat(1.0));
    let within = unit.or((m.max_share * x.abs()).le(Lanes::splat(SERIES_BOUND)));
    if !within.all() {
        return Lanes::from_fn(|l| {
            let one = ShareMoments {
                moments: m.moments.map(|v| v.0[l]),
                max_share: m.max_share.0[l],
            };
            anticipated_inflow(world, s, states[l], &one, k.0[l])
        });
    }
    Lanes::select(unit, current, moment_series(m, k))
}

/// The series $k \sum_n (-x)^{n-1} M_n$ of [`anticipated_inflow`], $x = k - 1$.
#[inline(always)]
fn moment_series<T: Real>(m: &ShareMoments<T>, k: T) -> T {
    let x = k - T::splat(1.0);
    let mut total = T::splat(0.0);
    let mut power = T::splat(1.0);
    for moment in m.moments {
        total = total + power * moment;
        power = power * -x;
    }
    k * total
}

/// The exact sum of [`anticipated_inflow`] over origin regions.
#[inline(always)]
fn exact_inflow(world: &World, s: usize, j: usize, k: f64) -> f64 {
    let (n, nr) = (world.n_states, world.n_regions);
    let mut total = 0.0;
    for r in 0..nr {
        let share = world.share[(s * nr + r) * n + j];
        total += world.pool[s * nr + r] * share * k / (1.0 - share + share * k);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two forms of the share pass give the same bits: shares, moments, largest shares and
    /// inflows, for both streams, on the status quo's first year (whose labour corridors carry
    /// bilateral factors), on a synthetic world whose size leaves a remainder of lanes, and on
    /// one of three States in one region (no full block of lanes). What they write starts from
    /// values no year gives, so a form that kept last year's sums or largest shares would differ.
    #[test]
    fn both_forms_of_the_share_pass_agree_bit_for_bit() {
        use crate::experiment::seeds;
        let worlds = [None, Some((1_003.0, 10.0)), Some((3.0, 1.0))].map(|size| {
            let mut scenario = match size {
                None => Scenario::builtin_default().expect("scenario"),
                Some((n, regions)) => {
                    let mut s = Scenario::builtin("synthetic_world").expect("scenario");
                    s.set("world.n_regions", regions).expect("n_regions");
                    s.set("world.n_states", n).expect("n_states");
                    s
                }
            };
            let facts = scenario.facts().expect("facts");
            scenario = scenario.at_point_values();
            let key = seeds::replication_key(3, 0, 0);
            let mut world = World::new(&facts, &scenario, &mut seeds::stream(key, seeds::WORLD));
            let mut streams = seeds::streams(key, &scenario);
            crate::dynamics::start(&mut world, &scenario, &facts, key, &mut streams);
            crate::dynamics::step(&mut world, &scenario, &mut streams);
            world
        });
        for world in worlds {
            if world.n_states == 193 {
                assert!(world.labour_factor.iter().any(|&f| f != 1.0));
            }
            let bits = |w: &World| {
                let mut b: Vec<u64> = w.share.iter().map(|x| x.to_bits()).collect();
                for m in w.moments.iter().chain([&w.max_share]) {
                    b.extend(m.iter().map(|x| x.to_bits()));
                }
                b.extend(w.inflow.iter().flatten().map(|x| x.to_bits()));
                b
            };
            // Also with the first region's pools at -0, which the parameter bounds admit: every
            // term of that row is then -0, and both forms must still add it to +0.
            for negative_zero in [false, true] {
                let mut a = world.clone();
                for v in a.moments.iter_mut().chain([&mut a.max_share]) {
                    v.fill(7.0);
                }
                a.inflow.iter_mut().for_each(|v| v.fill(7.0));
                if negative_zero {
                    let nr = a.n_regions;
                    a.pool[FORCED * nr] = -0.0;
                    a.pool[LABOUR * nr] = -0.0;
                }
                let mut b = a.clone();
                for s in [FORCED, LABOUR] {
                    shares_in_registers(&mut a, s);
                }
                shares_by_region(&mut b);
                assert_eq!(
                    bits(&a),
                    bits(&b),
                    "{} States, pools of -0: {negative_zero}",
                    world.n_states
                );
            }
            // Labour flows to compare (of the world as the year left it: the copies start at 7).
            assert!(world.inflow[LABOUR].iter().any(|&x| x > 0.0));
        }
    }

    /// A row's network factors are, bit for bit, the pull of each stock one at a time, times the
    /// cost of distance only where the destination lies outside the row's region: under every
    /// path of the exponent and for a row whose length leaves a remainder of lanes.
    #[test]
    fn network_factors_are_the_pull_times_distance_outside_the_region() {
        let stock: Vec<f64> = (0..23)
            .map(|j| match j % 5 {
                0 => 0.0,
                1 => 1e-7 * j as f64,
                2 => 0.3 * j as f64,
                3 => 2.0f64.powi(j) - 1.0,
                _ => 1234.5 * j as f64,
            })
            .collect();
        let region: Vec<u16> = (0..23).map(|j| (j * 7 % 3) as u16).collect();
        let far = (-1.7f64).exp();
        for beta in [0.5, 1.0, 0.0, 0.37, 1.9] {
            for r in 0..3u16 {
                let mut out = vec![f64::NAN; stock.len()];
                network_factors(&stock, &mut out, beta, far, &region, r);
                for (j, (&s, &o)) in stock.iter().zip(&out).enumerate() {
                    let pull = network_factor(s, beta);
                    let expected = if region[j] == r { pull } else { far * pull };
                    assert_eq!(o.to_bits(), expected.to_bits(), "beta {beta}, r {r}, j {j}");
                }
            }
        }
    }

    /// The moment series agrees with the exact logit response.
    #[test]
    fn moment_series_matches_exact_sum() {
        let shares = [0.3, 0.05, 0.0, 0.12];
        let pools = [1000.0, 50.0, 7.0, 300.0];
        let mut m: ShareMoments = ShareMoments::default();
        for (p, &s) in pools.iter().zip(&shares) {
            let mut term = p * s;
            for slot in m.moments.iter_mut() {
                *slot += term;
                term *= s;
            }
            m.max_share = m.max_share.max(s);
        }
        for k in [0.9, 0.96, 1.04, 1.2, 1.33] {
            let exact: f64 = pools
                .iter()
                .zip(&shares)
                .map(|(p, &s)| p * s * k / (1.0 - s + s * k))
                .sum();
            let x: f64 = k - 1.0;
            let series: f64 = k * m
                .moments
                .iter()
                .enumerate()
                .map(|(n, mo)| (-x).powi(n as i32) * mo)
                .sum::<f64>();
            assert!(
                (series - exact).abs() <= 1e-4 * exact,
                "k={k}: {series} vs {exact}"
            );
        }
    }
}
