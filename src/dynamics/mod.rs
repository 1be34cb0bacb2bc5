//! The yearly step of MODEL.md section 3, in its fixed order:
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
use crate::world::World;

/// The random streams of one replication, one per purpose (MODEL.md section 7). Forums and
/// treaties each have their own stream, keyed by name, so that adding or changing one forum never
/// shifts the draws of crises, elections or any other forum.
#[derive(Debug, Clone)]
pub struct Streams {
    pub crises: ChaCha8Rng,
    pub elections: ChaCha8Rng,
    pub choices: ChaCha8Rng,
    pub forums: Vec<ChaCha8Rng>,
    pub treaties: Vec<ChaCha8Rng>,
}

/// Advances the world by one year (`world.year`), then moves the clock on. Each mechanism runs
/// its AVX2 build when the processor has it ([`dispatch`]).
pub fn step(world: &mut World, scenario: &Scenario, streams: &mut Streams) {
    shocks::step(world, scenario, &mut streams.crises, &mut streams.elections);
    flows::step(world, scenario);
    pressure::step(world, scenario);
    forums::step(world, scenario, &mut streams.forums);
    treaties::step(world, scenario, &mut streams.treaties);
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
#[inline(always)]
pub fn fill_words(rng: &mut ChaCha8Rng, words: &mut [u32]) {
    use rand::RngExt;
    rng.fill(words);
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
        bits
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
            treaties::spin_up(&mut a, &scenario, &mut sa.treaties);
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
