//! The lever-response matrix: every forum and treaty design lever has a world in which the seed
//! says it should matter, and there it moves the outcome the seed names, with the expected sign,
//! by a paired effect (common random numbers: both scenarios run replication by replication
//! under one seed) whose 95% interval excludes zero. `docs/ODD.md` (section 4.2) names the
//! channels each lever acts through.

use forumsim::experiment::{self, ReplicationOutput, simulate};
use forumsim::scenario::{ForumDesign, ForumSpec, Scenario, Selector, TreatyDesign, TreatySpec};
use forumsim::world::World;

/// A paired effect of a variant against a base, across replications.
#[derive(Debug, Clone, Copy)]
pub struct Effect {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
}

/// The mean paired difference `outcome(variant) - outcome(base)` over `reps` replications and
/// its 95% confidence interval (Student t).
pub fn paired(
    base: &Scenario,
    variant: &Scenario,
    reps: u64,
    outcome: impl Fn(&Scenario, &ReplicationOutput) -> f64,
) -> Effect {
    let facts = base.facts().expect("facts");
    let diffs: Vec<f64> = (0..reps)
        .map(|r| {
            let a = simulate(base, &facts, 17, 0, r).expect("base runs");
            let b = simulate(variant, &facts, 17, 0, r).expect("variant runs");
            outcome(variant, &b) - outcome(base, &a)
        })
        .collect();
    let n = diffs.len() as f64;
    let mean = diffs.iter().sum::<f64>() / n;
    let sd = (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let half = forumsim::stats::t_975(n as usize - 1) * sd / n.sqrt();
    Effect {
        mean,
        low: mean - half,
        high: mean + half,
    }
}

fn all() -> Selector {
    Selector {
        all: true,
        ..Selector::default()
    }
}

/// The 193 States under high pressure with one global forum of the given design (and no treaty,
/// no event), 2007-2036, its tastes identified in that world itself.
pub fn forum_world(design: ForumDesign) -> Scenario {
    let mut s = Scenario::builtin_default().expect("built-in scenario");
    s.posterior = None;
    s.factual = None;
    s.factual_name = "self".into();
    s.run.end_year = 2036;
    s.world.h0_base = 0.6;
    s.treaties.clear();
    s.events.clear();
    s.forums = vec![ForumSpec {
        name: "Forum".into(),
        description: String::new(),
        design,
        members: all(),
        observers: Selector::none(),
        chairs: Selector::none(),
        timeline: Vec::new(),
        skip_years: Vec::new(),
    }];
    s
}

/// A middle-of-the-road informal forum: some rights on the agenda, some visibility and memory.
pub fn middling() -> ForumDesign {
    ForumDesign {
        rights_agenda: 0.3,
        transparency: 0.3,
        civil_society: 0.3,
        memory: 0.5,
        power_exponent: 0.5,
        consensus_quantile: 0.3,
        security_lens: 0.5,
        first_year: 2007.0,
        ..ForumDesign::default()
    }
}

/// The world of `forum_world` with, instead of the forum, one treaty of the given design whose
/// parties are every State (so that ratification does not blur the lever).
pub fn treaty_world(design: TreatyDesign) -> Scenario {
    let mut s = forum_world(middling());
    s.forums.clear();
    s.treaties = vec![TreatySpec {
        name: "Treaty".into(),
        description: String::new(),
        design,
        members: Some(all()),
        trust_forum: None,
        eligible: None,
        parties_data: Vec::new(),
        timeline: Vec::new(),
    }];
    s
}

/// A treaty opened in 2007 with a floor of 0.8 in every domain.
pub fn binding() -> TreatyDesign {
    TreatyDesign {
        floor_asylum: 0.8,
        floor_labour: 0.8,
        floor_trafficking: 0.8,
        obligation: 0.7,
        precision: 0.6,
        delegation: 0.4,
        sanction: 1.0,
        opened: 2007.0,
        ..TreatyDesign::default()
    }
}

/// Mean protection at the end.
pub fn protection(_: &Scenario, out: &ReplicationOutput) -> f64 {
    out.record.end.mean
}

/// Mean enforcement at the end of the States that are not destinations.
pub fn transit_enforcement(s: &Scenario, out: &ReplicationOutput) -> f64 {
    let facts = s.facts().expect("facts");
    let world = World::new(
        &facts,
        s,
        &mut experiment::seeds::stream(experiment::seeds::replication_key(17, 0, 0), 1),
    );
    let cols = out.finals.len() / world.n_states;
    let (mut sum, mut n) = (0.0, 0.0);
    for i in (0..world.n_states).filter(|&i| !world.destination[i]) {
        sum += out.finals[i * cols + 3];
        n += 1.0;
    }
    sum / n
}

/// Asserts an effect has the expected sign, its interval excluding zero.
pub fn assert_effect(lever: &str, effect: Effect, positive: bool) {
    eprintln!(
        "{lever:<28} {:+.4} [{:+.4}, {:+.4}]",
        effect.mean, effect.low, effect.high
    );
    if positive {
        assert!(effect.low > 0.0, "{lever}: expected a rise, got {effect:?}");
    } else {
        assert!(
            effect.high < 0.0,
            "{lever}: expected a fall, got {effect:?}"
        );
    }
}
