//! The yearly step (`docs/ODD.md` section 1.3), in its fixed order:
//!
//! 1. [`shocks`]: crisis onset and decay, election shocks, scheduled events;
//! 2. [`flows`]: destination choice, admission, stocks, trafficking exposure;
//! 3. [`pressure`]: domestic political pressure;
//! 4. [`forums`]: meetings, practice exchange, joint statements, follow-up, transfers, trust;
//! 5. [`treaties`]: ratification, withdrawal, compliance detection;
//! 6. [`policy`]: every State's choice of its instruments.
//!
//! Observation (step 7) lives in `experiment::observe`. Each sub-step reads the world as the
//! previous one left it and, within a sub-step, every State reads the same snapshot: the order of
//! States never changes results. Randomness enters only through [`Streams`].

pub mod bilateral;
pub mod dispatch;
pub mod flows;
pub mod forums;
pub mod math;
pub mod policy;
pub mod pressure;
pub mod shocks;
pub mod treaties;

use rand_chacha::ChaCha8Rng;

use crate::scenario::Scenario;
use crate::world::{self, Facts, World};

/// The random streams of one replication, one per purpose (`docs/ODD.md` section 3.5). Forums and
/// treaties each have their own stream, keyed by name, so that adding or changing one forum never
/// shifts the draws of crises, elections or any other forum.
#[derive(Debug, Clone)]
pub struct Streams {
    pub crises: ChaCha8Rng,
    pub elections: ChaCha8Rng,
    pub choices: ChaCha8Rng,
    pub bilateral: ChaCha8Rng,
    pub forums: Vec<ChaCha8Rng>,
    pub treaties: Vec<ChaCha8Rng>,
}

/// Prepares a world for its first year, as [`World::new`] built it from the world stream of `key`
/// (`experiment::seeds::WORLD`).
///
/// First the arrivals of the year before (so that the first year's changes are measured against a
/// real year). Then, with `world.steady_start`, the quasi-steady state of the factual start (the
/// institutions of `world.factual` as they stood before the start year, see
/// [`factual_start`]): each State's pressure and forum discourse at their steady levels, and its
/// tastes at the values that make its start-year policy its best response. Last, the ratification
/// history of this scenario's treaties opened before the start year.
pub fn start(
    world: &mut World,
    scenario: &Scenario,
    facts: &Facts,
    key: u64,
    streams: &mut Streams,
) {
    flows::initialise(world, scenario);
    let mut settled = vec![false; world.treaties.len()];
    if scenario.world.steady_start > 0.0 {
        let (factual, treaty_streams) = factual_start(world, scenario, facts, key);
        world.pressure.copy_from_slice(&factual.pressure);
        world.discourse.copy_from_slice(&factual.discourse);
        world.taste.copy_from_slice(&factual.taste);
        // A treaty the factual world has with the same history before the start was spun up
        // there on these States, pressure and protection, from this stream (named after the
        // treaty): its parties and stream are taken rather than drawn again.
        for (k, twin) in scenario.factual_twins().into_iter().enumerate() {
            if let Some(j) = twin {
                world.treaties[k]
                    .party
                    .copy_from_slice(&factual.treaties[j].party);
                streams.treaties[k] = treaty_streams[j].clone();
                settled[k] = true;
            }
        }
    }
    treaties::spin_up(world, scenario, &mut streams.treaties, &settled);
}

/// The factual world at the start: the scenario's States and parameters under the institutions of
/// its factual scenario (`Scenario::factual_scenario`), with
/// * every forum that met before the start year stating its joint statement on the start-year
///   policies (all members attending), so that its norm binds from the start as it did before;
/// * discourse at the steady level those forums give (each member attending with the
///   probability its initial trust gives);
/// * pressure at its steady level for the start-year arrivals and that discourse;
/// * treaty parties from the ratification history before the start year;
/// * each State's tastes set so that its start-year policy is its best response to all of it;
///
/// and the streams of the factual scenario's treaties as their spin-up left them. The factual
/// world comes without the per-corridor arrays ([`World::take_corridors`]): it is for reading
/// those start values, not for stepping.
///
/// `world` is the replication's world as [`World::new`] built it from the world stream of `key`
/// and [`flows::initialise`] prepared it: its States are those of the factual world, since the
/// factual scenario draws them from the same stream with the same parameters, and the arrivals
/// of the year before do not depend on the institutions. So the factual world is `world` under
/// the factual institutions ([`World::under`]), not a second world built and initialised.
pub fn factual_start(
    world: &mut World,
    scenario: &Scenario,
    facts: &Facts,
    key: u64,
) -> (World, Vec<ChaCha8Rng>) {
    use crate::experiment::seeds;
    use std::borrow::Cow;
    // The corridor arrays of destination choice and bilateral coverage are not read before the
    // first year: the factual world is copied without them (at 100,000 States they are most of
    // a world's memory). An index into one there would panic on the empty array.
    let corridors = world.take_corridors();
    // Under its own institutions, the factual scenario differs from the scenario only by its
    // scheduled events, which nothing before the first year reads (they act in `shocks`): the
    // scenario and a copy of its world serve, with nothing rebuilt.
    let (factual, mut fw) = if scenario.has_factual_institutions() {
        (Cow::Borrowed(scenario), world.clone())
    } else {
        let factual = scenario.factual_scenario();
        let fw = world.under(facts, &factual);
        (Cow::Owned(factual), fw)
    };
    world.put_corridors(corridors);
    let start = factual.run.start_year;
    let fd = &factual.forum_dynamics;
    // Forums that met before the start, and the discourse they give.
    let mut discourse = vec![0.0; fw.n_states];
    let mut forums = std::mem::take(&mut fw.forums);
    for f in forums.iter_mut() {
        let Some(last) = (f.design.first_year as i32..start)
            .rev()
            .find(|&y| forums::meets(f, y))
        else {
            continue;
        };
        let members = f.n_members;
        if members == 0 {
            continue;
        }
        let attend = logistic(fd.attend_base + fd.attend_trust * f.design.trust0);
        let rate = f.design.rights_agenda * (0.5 + 0.5 * f.design.civil_society) * attend
            / f.design.interval;
        for &i in &f.participants {
            discourse[i as usize] += rate;
        }
        let mut q = [0.0; world::N_DOMAINS];
        for (d, slot) in q.iter_mut().enumerate() {
            let mut pairs: Vec<(f64, f64)> = f.participants[..members]
                .iter()
                .zip(&f.voice)
                .map(|(&i, &v)| (fw.protection[d][i as usize], v))
                .collect();
            *slot = forums::weighted_quantile(&mut pairs, f.design.consensus_quantile);
        }
        f.anchor = Some(q);
        f.last_meeting = Some(last);
        f.attendance = members;
        for (k, slot) in f.attendees.iter_mut().enumerate() {
            *slot = k as u32;
        }
    }
    fw.forums = forums;
    let keep = factual.pressure.discourse_decay;
    for (d, rate) in fw.discourse.iter_mut().zip(&discourse) {
        *d = if keep < 1.0 {
            (rate / (1.0 - keep)).min(1.0)
        } else {
            rate.min(1.0)
        };
    }
    pressure::steady_state(&mut fw, &factual);
    let mut treaty_streams = seeds::treaty_streams(key, &factual);
    let none_settled = vec![false; fw.treaties.len()];
    treaties::spin_up(&mut fw, &factual, &mut treaty_streams, &none_settled);
    policy::calibrate_tastes(&mut fw, &factual);
    (fw, treaty_streams)
}

/// Advances the world by one year (`world.year`), then moves the clock on. Each mechanism runs
/// its AVX2 build when the processor has it ([`dispatch`]).
pub fn step(world: &mut World, scenario: &Scenario, streams: &mut Streams) {
    shocks::step(world, scenario, &mut streams.crises, &mut streams.elections);
    flows::step(world, scenario);
    pressure::step(world, scenario);
    forums::step(world, scenario, &mut streams.forums);
    treaties::step(world, scenario, &mut streams.treaties);
    bilateral::step(world, scenario, &mut streams.bilateral);
    policy::step(world, scenario, &mut streams.choices);
    world.year += 1;
}

/// [`step`] with every mechanism in its baseline build: the same bits (a test checks).
pub fn step_portable(world: &mut World, scenario: &Scenario, streams: &mut Streams) {
    shocks::step_portable(world, scenario, &mut streams.crises, &mut streams.elections);
    flows::step_portable(world, scenario);
    pressure::step(world, scenario);
    forums::step_portable(world, scenario, &mut streams.forums);
    treaties::step_portable(world, scenario, &mut streams.treaties);
    bilateral::step_portable(world, scenario, &mut streams.bilateral);
    policy::step_portable(world, scenario, &mut streams.choices);
    world.year += 1;
}

pub(crate) use math::logistic;

/// A uniform draw on [0, 1) from one 32-bit word of a stream. Its resolution, $2^{-32}$, is ample
/// for the Bernoulli trials and logit picks of the yearly step, and it costs half the keystream of
/// a 53-bit draw (the yearly step makes about thirty draws per State).
#[inline(always)]
pub fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    use rand::Rng;
    to_uniform(rng.next_u32())
}

/// The draw [`uniform`] makes from `word`.
#[inline(always)]
pub fn to_uniform(word: u32) -> f64 {
    f64::from(word) * (1.0 / 4_294_967_296.0)
}

/// Fills `words` from the stream in one call: the same words, in the same order, as that many
/// calls of [`uniform`] would consume (a test checks it), without a call per draw.
///
/// The stream's own `fill_bytes` on the words' bytes, each word then read as little-endian:
/// what `rand`'s `Fill` for `u32` does. Not through `Rng::fill`, whose generic `fill_slice` the
/// compiler inlined into the policy's AVX2 build or not depending on how unrelated code fell into
/// codegen units (an edit of the output code once made the policy 1.17x slower that way); the
/// stream's `fill_bytes` is marked inline.
#[inline(always)]
pub fn fill_words(rng: &mut ChaCha8Rng, words: &mut [u32]) {
    use rand::Rng;
    rng.fill_bytes(bytemuck::cast_slice_mut(words));
    for w in words {
        *w = u32::from_le(*w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn fill_words_consumes_the_stream_like_uniform() {
        let mut a = ChaCha8Rng::seed_from_u64(3);
        let mut b = a.clone();
        // Odd lengths and a partial block in between, across block boundaries.
        for len in [5usize, 193, 1, 64, 1000] {
            let mut words = vec![0u32; len];
            fill_words(&mut a, &mut words);
            for w in words {
                assert_eq!(to_uniform(w), uniform(&mut b));
            }
            assert_eq!(uniform(&mut a), uniform(&mut b));
        }
    }

    /// A negative network stock breaks the invariants, whether the world was built with it or a
    /// year's admission wrote it (which folds the check into its writes instead of a second
    /// read of every stock); after a sound year the check passes without a scan.
    #[test]
    fn a_negative_network_stock_breaks_the_invariants() {
        use crate::experiment::seeds;
        let scenario = Scenario::builtin_default().expect("scenario");
        let facts = scenario.facts().expect("facts");
        let key = seeds::replication_key(6, 0, 1);
        let mut world = World::new(&facts, &scenario, &mut seeds::stream(key, seeds::WORLD));
        let mut streams = seeds::streams(key, &scenario);
        start(&mut world, &scenario, &facts, key, &mut streams);
        let k = 2 * world.n_states + 5;
        let mut built = world.clone();
        built.network[k] = -1.0;
        let found = built.check_invariants().expect("a negative stock as built");
        assert!(found.contains(&format!("network stock at {k}")), "{found}");
        // Set after destination choice has read the networks (a negative stock there would
        // give a NaN pull, and NaN flows that an earlier check reports first).
        let mut stepped = world.clone();
        stepped.network_unchecked = false;
        flows::allocate(&mut stepped, &scenario);
        stepped.network[k] = -1e15;
        flows::admit(&mut stepped, &scenario);
        let found = stepped
            .check_invariants()
            .expect("a negative stock after admission");
        assert!(found.contains(&format!("network stock at {k}")), "{found}");
        step(&mut world, &scenario, &mut streams);
        assert!(!world.network_unchecked);
        assert_eq!(world.check_invariants(), None);
    }

    /// Every level, stock, trust, anchor and membership of a world, as bits.
    fn fingerprint(world: &World) -> Vec<u64> {
        let mut bits: Vec<u64> = Vec::new();
        let arrays = [
            &world.protection[0],
            &world.protection[1],
            &world.protection[2],
            &world.enforcement,
            &world.legal,
            &world.pressure,
            &world.reputation,
            &world.discourse,
            &world.stock_regular,
            &world.stock_refugee,
            &world.stock_irregular,
            &world.network,
            &world.trafficking,
        ];
        for a in arrays {
            bits.extend(a.iter().map(|x| x.to_bits()));
        }
        for f in &world.forums {
            bits.extend(f.trust.iter().map(|x| x.to_bits()));
            bits.extend(f.anchor.iter().flatten().map(|x| x.to_bits()));
        }
        for t in &world.treaties {
            bits.extend(t.party.iter().map(|&p| u64::from(p)));
        }
        for a in &world.agreements {
            bits.extend([a.origin, a.destination, u32::from(a.readmission)].map(u64::from));
        }
        bits
    }

    /// Taking a world's corridor arrays out and putting them back leaves every one of them,
    /// and the rest of the world, as it was, each in its own place; they are out in between
    /// (the factual world of `factual_start` is copied then).
    #[test]
    fn corridors_come_back_as_they_went() {
        use crate::experiment::seeds;
        let scenario = Scenario::builtin_default().expect("scenario");
        let facts = scenario.facts().expect("facts");
        let mut world = World::new(&facts, &scenario, &mut seeds::stream(4, seeds::WORLD));
        flows::initialise(&mut world, &scenario);
        let arrays = |w: &World| {
            [
                &w.network,
                &w.scratch_network,
                &w.coverage_labour,
                &w.coverage_readmission,
                &w.labour_factor,
                &w.covered_labour,
            ]
            .map(|a| a.iter().map(|x| x.to_bits()).collect::<Vec<u64>>())
        };
        let before = (fingerprint(&world), arrays(&world));
        let corridors = world.take_corridors();
        assert!(arrays(&world).iter().all(Vec::is_empty));
        world.put_corridors(corridors);
        assert_eq!((fingerprint(&world), arrays(&world)), before);
        assert_eq!(world.network.len(), world.n_states * world.n_regions);
    }

    /// The AVX2 build of every mechanism gives the same bits as the baseline build, on the
    /// status quo and on a synthetic world whose size is not a multiple of the vector width.
    #[test]
    fn dispatched_and_portable_steps_agree_bit_for_bit() {
        use crate::experiment::seeds;
        use crate::scenario::WorldKind;
        let status_quo = Scenario::builtin_default().expect("scenario");
        let mut synthetic = status_quo.clone();
        synthetic.world_kind = WorldKind::Synthetic;
        synthetic.world.n_states = 1003.0;
        synthetic.world.n_regions = 7.0;
        synthetic.forums.retain(|f| f.name == "GFMD");
        for scenario in [status_quo, synthetic] {
            let facts = scenario.facts().expect("facts");
            let key = seeds::replication_key(5, 0, 3);
            let mut a = World::new(&facts, &scenario, &mut seeds::stream(key, seeds::WORLD));
            let mut sa = seeds::streams(key, &scenario);
            start(&mut a, &scenario, &facts, key, &mut sa);
            let (mut b, mut sb) = (a.clone(), sa.clone());
            for year in 0..scenario.n_years() {
                step(&mut a, &scenario, &mut sa);
                step_portable(&mut b, &scenario, &mut sb);
                assert!(
                    fingerprint(&a) == fingerprint(&b),
                    "{}: the builds differ in year {year}",
                    scenario.name
                );
            }
        }
    }
}
