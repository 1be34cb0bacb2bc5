//! Tests of the mechanisms and required behaviours of the model (`docs/ODD.md` sections 1.1 and 4), with fixed seeds and
//! tolerances chosen from the spread seen across replications.

use forumsim::dynamics::{flows, shocks};
use forumsim::experiment::{self, seeds, simulate};
use forumsim::scenario::{ForumDesign, Scenario, Selector, WorldKind};
use forumsim::world::{FORCED, Facts, LABOUR, World};
use proptest::prelude::*;

/// The status quo at its point values: mechanism tests run without the shipped posterior.
fn base() -> Scenario {
    let mut s = Scenario::builtin_default().expect("built-in scenario is valid");
    s.posterior = None;
    s
}

/// A small synthetic world without forums or treaties.
fn synthetic(n: usize, regions: usize) -> Scenario {
    let mut s = base();
    s.world_kind = WorldKind::Synthetic;
    s.world.n_states = n as f64;
    s.world.n_regions = regions as f64;
    s.forums.clear();
    s.treaties.clear();
    s.events.clear();
    s
}

fn all() -> Selector {
    Selector {
        all: true,
        ..Selector::default()
    }
}

fn world_of(s: &Scenario, facts: &Facts) -> World {
    let mut rng = seeds::stream(seeds::replication_key(s.run.seed, 0, 0), seeds::WORLD);
    World::new(facts, s, &mut rng)
}

/// Movers of each stream: those who stayed plus all inflows equal the pools.
fn assert_conserved(w: &World) {
    let nr = w.n_regions;
    for s in [FORCED, LABOUR] {
        let pool: f64 = w.pool[s * nr..(s + 1) * nr].iter().sum();
        let stayed: f64 = w.stayed[s * nr..(s + 1) * nr].iter().sum();
        let moved: f64 = w.inflow[s].iter().sum();
        assert!(
            (pool - stayed - moved).abs() <= 1e-9 * pool.max(1.0),
            "stream {s}: pool {pool} != stayed {stayed} + moved {moved}"
        );
    }
}

/// Behaviour 1: deflection in a two-State world, and conservation of flows.
#[test]
fn lowering_protection_or_raising_enforcement_deflects_flows_to_the_other_state() {
    let s = synthetic(2, 1);
    let facts = s.facts().expect("facts");
    let mut w = world_of(&s, &facts);
    flows::allocate(&mut w, &s);
    assert_conserved(&w);
    let forced_before = w.inflow[FORCED][1];
    let labour_before = w.inflow[LABOUR][1];

    w.protection[0][0] -= 0.2;
    flows::allocate(&mut w, &s);
    assert_conserved(&w);
    assert!(
        w.inflow[FORCED][1] > forced_before,
        "asylum cut deflects forced migrants"
    );
    assert_eq!(
        w.inflow[LABOUR][1], labour_before,
        "asylum does not move labour migrants"
    );

    let mut w = world_of(&s, &facts);
    w.enforcement[0] = (w.enforcement[0] + 0.3).min(1.0);
    flows::allocate(&mut w, &s);
    assert!(w.inflow[FORCED][1] > forced_before);
    assert!(w.inflow[LABOUR][1] > labour_before);
}

/// The anticipation used in policy choice agrees with re-running destination choice.
#[test]
fn anticipated_inflow_matches_a_full_reallocation() {
    let s = synthetic(30, 4);
    let facts = s.facts().expect("facts");
    let mut w = world_of(&s, &facts);
    flows::allocate(&mut w, &s);
    let j = 7;
    let m = flows::share_moments(&w, FORCED, j);
    let k = (s.flows.beta_protection_forced * -0.02f64).exp();
    let anticipated = flows::anticipated_inflow(&w, FORCED, j, &m, k);
    w.protection[0][j] -= 0.02;
    flows::allocate(&mut w, &s);
    let actual = w.inflow[FORCED][j];
    assert!(
        (anticipated - actual).abs() <= 1e-5 * actual,
        "{anticipated} vs {actual}"
    );
}

/// A high-pressure world of the 193 States with one informal forum of every member (security
/// lens 1, no rights agenda, a statement near the lowest common denominator, no memory), or its
/// rights variant (lens 0, rights agenda, visibility and memory 1), or no forum at all.
fn informal_world(variant: &str) -> Scenario {
    let mut design = ForumDesign {
        security_lens: 1.0,
        rights_agenda: 0.0,
        first_year: 2007.0,
        consensus_quantile: 0.1,
        power_exponent: 0.5,
        ..ForumDesign::default()
    };
    if variant == "rights" {
        design.security_lens = 0.0;
        design.rights_agenda = 1.0;
        design.transparency = 1.0;
        design.civil_society = 1.0;
        design.memory = 1.0;
    }
    let mut s = levers::forum_world(design);
    s.run.end_year = 2056;
    s.world.h0_base = 0.75;
    if variant == "none" {
        s.forums.clear();
    }
    s
}

fn rtb_values(s: &Scenario, reps: u64) -> Vec<f64> {
    let facts = s.facts().expect("facts");
    (0..reps)
        .map(|r| simulate(s, &facts, 7, 0, r).expect("runs").record.rtb)
        .collect()
}

fn rtb(_: &Scenario, out: &experiment::ReplicationOutput) -> f64 {
    out.record.rtb
}

/// Behaviour 2: under high pressure an informal forum with a security lens and no rights agenda
/// lets protection fall in at least 90% of replications, and by more than the same world without
/// it (the exchange of bad practices: restrictive moves that cut irregular arrivals by deflecting
/// them look like successes and spread); with rights on the agenda, visibility and memory it
/// falls markedly less.
#[test]
fn informal_security_forum_races_down_and_rights_agenda_with_memory_holds() {
    let informal = informal_world("informal");
    let values = rtb_values(&informal, 30);
    let falling = values.iter().filter(|&&x| x > 0.0).count();
    assert!(
        falling >= 27,
        "protection fell in {falling} of 30 replications"
    );
    let worse = levers::paired(&informal_world("none"), &informal, 30, rtb);
    levers::assert_effect("informal forum against none", worse, true);
    let rights = informal_world("rights");
    let held = levers::paired(&informal, &rights, 30, rtb);
    levers::assert_effect("rights variant against informal", held, false);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (a, b) = (mean(&values), mean(&rtb_values(&rights, 30)));
    // "Markedly less": at most half the fall.
    assert!(b < 0.5 * a, "informal RTB {a:.4}, with rights {b:.4}");
}

/// Behaviour 3: breadth versus depth.
#[test]
fn binding_treaty_is_narrower_than_informal_forum_and_its_parties_protect_more() {
    let s = base();
    let facts = s.facts().expect("facts");
    let n = facts.n_states();
    let treaty = s
        .treaties
        .iter()
        .position(|t| t.name == "ICRMW")
        .expect("ICRMW");
    let gfmd = s
        .forums
        .iter()
        .position(|f| f.name == "GFMD")
        .expect("GFMD");
    let cols = experiment::STATE_COLUMNS.len() + s.treaties.len() + s.forums.len();
    let (mut party_p, mut party_n, mut other_p, mut other_n) = (0.0, 0.0, 0.0, 0.0);
    for r in 0..10 {
        let out = simulate(&s, &facts, 11, 0, r).expect("runs");
        assert!(
            out.record.parties[treaty] < out.record.attendance[gfmd],
            "parties {} vs attendance {}",
            out.record.parties[treaty],
            out.record.attendance[gfmd]
        );
        for i in 0..n {
            let row = &out.finals[i * cols..(i + 1) * cols];
            let p = (row[0] + row[1] + row[2]) / 3.0;
            if row[experiment::STATE_COLUMNS.len() + treaty] > 0.5 {
                party_p += p;
                party_n += 1.0;
            } else {
                other_p += p;
                other_n += 1.0;
            }
        }
    }
    assert!(party_n > 0.0 && other_n > 0.0);
    assert!(
        party_p / party_n > other_p / other_n,
        "parties {:.3} vs non-parties {:.3}",
        party_p / party_n,
        other_p / other_n
    );
}

/// A low-pressure world of the 193 States without crises and without a push of arrivals on
/// pressure, in which practice alone does not fall, with one forum
/// whose statement is the lowest common denominator (q = 0) and whose memory is `memory`.
fn lcd_world(memory: f64) -> Scenario {
    let mut s = levers::forum_world(ForumDesign {
        consensus_quantile: 0.0,
        memory,
        first_year: 2007.0,
        ..ForumDesign::default()
    });
    s.world.h0_base = 0.2;
    s.flows.crisis_prob = 0.0;
    s.pressure.a_irregular = 0.0;
    // The agreements of the record stay as they are.
    s.bilateral.consider_prob = 0.0;
    s.bilateral.lifetime = 200.0;
    s
}

fn anchor_series(memory: f64) -> Vec<Vec<f64>> {
    let s = lcd_world(memory);
    let facts = s.facts().expect("facts");
    let names = experiment::observe::metric_names(&s, &facts.region_names);
    let m = names
        .iter()
        .position(|n| n == "anchor_Forum")
        .expect("anchor metric");
    (0..10)
        .map(|r| {
            let out = simulate(&s, &facts, 3, 0, r).expect("runs");
            out.trace.chunks(names.len()).map(|row| row[m]).collect()
        })
        .collect()
}

/// Behaviour 4: where practice alone does not fall (mean protection holds without the forum), a
/// lowest-common-denominator statement without memory still drifts down, following the lowest
/// practice; with full memory it never falls.
#[test]
fn lowest_common_denominator_anchor_drifts_without_memory_and_ratchets_with_it() {
    let mut alone = lcd_world(0.0);
    alone.forums.clear();
    let facts = alone.facts().expect("facts");
    let drift: f64 = (0..10)
        .map(|r| {
            let out = simulate(&alone, &facts, 3, 0, r).expect("runs");
            out.record.end.mean - out.record.start.mean
        })
        .sum::<f64>()
        / 10.0;
    assert!(drift.abs() < 0.01, "practice alone moves by {drift:.4}");
    for series in anchor_series(0.0) {
        let first = series[0];
        let last = series[series.len() - 1];
        eprintln!("anchor without memory: {first:.4} -> {last:.4}");
        assert!(
            last < first - 0.02,
            "without memory the anchor fell from {first} to {last}"
        );
    }
    for series in anchor_series(1.0) {
        for pair in series.windows(2) {
            assert!(pair[1] >= pair[0], "with memory the anchor fell: {pair:?}");
        }
    }
}

/// Common random numbers: a scenario that only changes a forum's design meets the same crises.
#[test]
fn changing_a_forum_design_keeps_crises_and_elections() {
    let a = base();
    let mut b = base();
    b.forums[0].design.memory = 0.9;
    b.forums[0].design.rights_agenda = 0.8;
    let facts = a.facts().expect("facts");
    let key = seeds::replication_key(1, 0, 4);
    let mut wa = World::new(&facts, &a, &mut seeds::stream(key, seeds::WORLD));
    let mut wb = World::new(&facts, &b, &mut seeds::stream(key, seeds::WORLD));
    let (mut sa, mut sb) = (seeds::streams(key, &a), seeds::streams(key, &b));
    for _ in 0..20 {
        shocks::step(&mut wa, &a, &mut sa.crises, &mut sa.elections);
        shocks::step(&mut wb, &b, &mut sb.crises, &mut sb.elections);
        assert_eq!(wa.crisis, wb.crisis);
        assert_eq!(wa.pressure_shock, wb.pressure_shock);
        wa.year += 1;
        wb.year += 1;
    }
}

/// A synthetic world scales: every size from 2 to 2,000 States runs and keeps its invariants.
#[test]
fn synthetic_worlds_of_many_sizes_run() {
    for (n, r) in [(2, 1), (10, 3), (300, 12), (2000, 20)] {
        let mut s = synthetic(n, r);
        s.run.end_year = s.run.start_year + 4;
        let mut gf = informal_world("informal").forums;
        gf[0].design.capacity_transfer = 0.2;
        s.forums = gf;
        let facts = s.facts().expect("facts");
        simulate(&s, &facts, 1, 0, 0).expect("runs");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Behaviour 5: all levels stay in [0, 1], stocks non-negative, no NaN, flows conserved, over
    /// random worlds and parameters.
    #[test]
    fn invariants_hold_over_random_scenarios(
        n in 2usize..40,
        regions in 1usize..6,
        seed in 0u64..1000,
        h0 in 0.0f64..1.0,
        delta in 0.0f64..0.2,
        noise in 0.005f64..50.0,
        beta_far in 0.0f64..6.0,
        beta_net in 0.0f64..2.0,
        g in 0.0f64..0.05,
        crisis in 0.0f64..0.5,
        eta in 0.0f64..1.0,
        memory in 0.0f64..1.0,
        q in 0.0f64..1.0,
        alpha in 0.0f64..3.0,
        transfer in 0.0f64..1.0,
        cover in 0.0f64..1.0,
        firewall in 0.0f64..1.0,
    ) {
        let mut s = synthetic(n, regions);
        s.run.end_year = s.run.start_year + 12;
        s.world.h0_base = h0;
        s.policy.delta = delta;
        s.policy.noise = noise;
        s.flows.beta_far = beta_far;
        s.flows.beta_network = beta_net;
        s.flows.g_forced = g;
        s.flows.g_labour = g;
        s.flows.crisis_prob = crisis;
        s.forum_dynamics.eta = eta;
        let mut forums = informal_world("rights").forums;
        forums[0].design.memory = memory;
        forums[0].design.consensus_quantile = q;
        forums[0].design.power_exponent = alpha;
        forums[0].design.capacity_transfer = transfer;
        forums[0].design.rights_transfer = transfer;
        s.forums = forums;
        let mut treaty = base().treaties.remove(0);
        treaty.trust_forum = Some("Forum".into());
        treaty.design.cover = cover;
        treaty.design.opened = 2000.0;
        s.treaties = vec![treaty];
        s.events = vec![forumsim::scenario::Event::Firewall { year: 2010, members: all(), level: firewall }];
        let facts = s.facts().expect("facts");
        let out = simulate(&s, &facts, seed, 0, 0);
        prop_assert!(out.is_ok(), "{:?}", out.err());
        let out = out.expect("ok");
        prop_assert!(out.trace.iter().all(|x| !x.is_infinite()));

        let mut w = world_of(&s, &facts);
        flows::allocate(&mut w, &s);
        assert_conserved(&w);
    }
}

/// The status quo meets every calibration target of `docs/ODD.md` section 7 within its tolerance.
#[test]
fn status_quo_meets_the_calibration_targets() {
    let s = base();
    let facts = s.facts().expect("facts");
    let results = experiment::calibration::calibrate(&s, &facts, 60, s.run.seed, 2)
        .expect("calibration runs");
    let names: Vec<&str> = results.iter().map(|r| r.target.as_str()).collect();
    for target in [
        "gfmd_attendance",
        "icrmw_parties",
        "icrmw_high_income_parties",
        "icrmw_large_destination_parties",
        "trafficking_protocol_parties",
        "irregular_share_workers",
        "migrant_stock_growth_2010_2015",
        "corridor_log_share_correlation",
        "refugee_regime_parties",
        "recognition_rate_mean",
        "recognition_rate_spread",
        "refugees_by_host_log_correlation",
        "bilateral_stock_log_correlation",
        "impic_enforcement_2007",
        "impic_legal_channels_2007",
        "labour_agreements_signed_per_year",
    ] {
        assert!(names.contains(&target), "missing target {target}");
    }
    for r in &results {
        assert!(
            r.within(),
            "{} {}: model {:.3} outside [{}, {}] (observed {})",
            r.target,
            r.year,
            r.mean,
            r.tolerance.0,
            r.tolerance.1,
            r.observed
        );
    }
}

/// A scenario compared with itself differs by exactly zero, replication by replication.
#[test]
fn paired_comparison_of_a_scenario_with_itself_is_exactly_zero() {
    let s = base();
    let facts = s.facts().expect("facts");
    let config = experiment::RunConfig {
        replications: 6,
        seed: 3,
        threads: 2,
        point: 0,
        inject_failure: None,
    };
    let a = experiment::run(&s, &facts, &config, &mut |_| {}).expect("runs");
    let b = experiment::run(&s, &facts, &config, &mut |_| {}).expect("runs");
    let rows = experiment::compare::paired((&s, &a), (&s, &b)).expect("paired");
    assert!(rows.len() > 10);
    for r in rows {
        assert_eq!(
            (r.difference, r.sd, r.ci_low, r.ci_high),
            (0.0, 0.0, 0.0, 0.0),
            "{}",
            r.metric
        );
    }
}

/// A variant that only changes a forum's design meets the status quo's crises in every
/// replication (common random numbers across scenario files).
#[test]
fn forum_design_variant_meets_the_same_crises_as_the_status_quo() {
    let a = base();
    let mut b = Scenario::builtin("iom_protection_mandate").expect("built-in");
    b.posterior = None;
    let facts = a.facts().expect("facts");
    for r in 0..3 {
        let (mut ca, mut cb) = (Vec::new(), Vec::new());
        experiment::simulate_with(&a, &facts, 9, 0, r, &mut |w| ca.push(w.crisis.clone()))
            .expect("runs");
        experiment::simulate_with(&b, &facts, 9, 0, r, &mut |w| cb.push(w.crisis.clone()))
            .expect("runs");
        assert_eq!(ca, cb, "replication {r}");
    }
}

/// Every kind of scheduled event is built as itself and reaches the mechanism it names: a crisis
/// raises its region's crisis multiplier, a pressure event shifts baseline hostility, a firewall
/// sets the firewall, and legal channels hold openness at their level (and nothing else moves the
/// other mechanisms' state).
#[test]
fn every_event_kind_reaches_the_mechanism_it_names() {
    use forumsim::scenario::Event;
    let dir = tempfile::tempdir().expect("temp dir");
    let parent = format!("{}/scenarios/status_quo.toml", env!("CARGO_MANIFEST_DIR"));
    let events = [
        ("crisis", "region = \"Western Asia\"\nmagnitude = 40.0"),
        ("pressure", "members = \"all\"\nshift = 0.3"),
        ("firewall", "members = \"all\"\nlevel = 0.8"),
        ("legal_channels", "members = \"all\"\nlevel = 0.9"),
        ("enforcement", "members = \"all\"\nlevel = 0.85"),
    ];
    let base = base();
    let facts = base.facts().expect("facts");
    let year = 2009;
    // The world at the end of `year`, with the given scenario.
    let world_in = |s: &Scenario| {
        let mut seen = None;
        experiment::simulate_with(s, &facts, 5, 0, 0, &mut |w| {
            if w.year - 1 == year {
                seen = Some(w.clone());
            }
        })
        .expect("runs");
        seen.expect("the year was simulated")
    };
    let mut short = base.clone();
    short.run.end_year = 2010;
    let before = world_in(&short);
    let west_asia = facts
        .region_names
        .iter()
        .position(|r| r == "Western Asia")
        .expect("region");
    for (kind, body) in events {
        let file = dir.path().join(format!("{kind}.toml"));
        std::fs::write(
            &file,
            format!(
                "extends = \"{parent}\"\nname = \"{kind}\"\n[run]\nend_year = 2010\n[[events]]\nkind = \"{kind}\"\nyear = {year}\n{body}\n"
            ),
        )
        .expect("write");
        let s = Scenario::load(&file).expect("loads");
        let added = s.events.last().expect("the event");
        let built = match added {
            Event::Crisis { .. } => "crisis",
            Event::Pressure { .. } => "pressure",
            Event::Firewall { .. } => "firewall",
            Event::LegalChannels { .. } => "legal_channels",
            Event::Enforcement { .. } => "enforcement",
        };
        assert_eq!(built, kind, "a {kind} event was built as {built}");
        assert!(
            s.resolved_toml().contains(&format!("kind = \"{kind}\"")),
            "{kind}: the resolved scenario names its kind"
        );
        let after = world_in(&s);
        let n = after.n_states;
        match kind {
            "crisis" => assert!(after.crisis[west_asia] >= before.crisis[west_asia] + 40.0 * 0.99),
            "pressure" => {
                assert!((0..n).all(|i| after.h0[i] >= before.h0[i]));
                assert!((0..n).any(|i| after.h0[i] > before.h0[i] + 0.29));
            }
            "firewall" => assert!(after.firewall.iter().all(|&f| f == 0.8)),
            "legal_channels" => {
                assert!(after.legal_floor.iter().all(|&l| l == 0.9));
                assert!(after.legal.iter().all(|&l| l >= 0.9));
            }
            _ => {
                assert!(after.enforcement_floor.iter().all(|&e| e == 0.85));
                assert!(after.enforcement.iter().all(|&e| e >= 0.85));
            }
        }
        // The other mechanisms' exogenous state is untouched.
        if kind != "firewall" {
            assert!(
                after.firewall.iter().all(|&f| f == 0.0),
                "{kind} set a firewall"
            );
        }
        if kind != "legal_channels" {
            assert!(
                after.legal_floor.iter().all(|&l| l == 0.0),
                "{kind} set a legal floor"
            );
        }
        if kind != "enforcement" {
            assert!(
                after.enforcement_floor.iter().all(|&e| e == 0.0),
                "{kind} set an enforcement floor"
            );
        }
        if kind != "pressure" {
            assert_eq!(after.h0, before.h0, "{kind} shifted baseline hostility");
        }
    }
}

mod levers;
mod posterior;
mod regimes;

/// Forum levers, each in a world where the seed says it should matter (`levers.rs`; the channels
/// are named in `docs/ODD.md`, section 4.2).
#[test]
fn every_forum_lever_moves_its_outcome() {
    use levers::{assert_effect, forum_world, middling, paired, protection, transit_enforcement};
    const REPS: u64 = 16;
    let lever = |name: &str,
                 positive: bool,
                 base: ForumDesign,
                 set: &dyn Fn(&mut ForumDesign),
                 outcome: fn(&Scenario, &experiment::ReplicationOutput) -> f64| {
        let mut variant = base.clone();
        set(&mut variant);
        let effect = paired(&forum_world(base), &forum_world(variant), REPS, outcome);
        assert_effect(name, effect, positive);
    };
    let m = middling;
    // Obligation: a binding statement costs a shortfall even without an audience.
    let closed = ForumDesign {
        transparency: 0.0,
        civil_society: 0.0,
        ..m()
    };
    lever(
        "obligation",
        true,
        closed.clone(),
        &|d| d.obligation = 0.8,
        protection,
    );
    lever("precision", true, m(), &|d| d.precision = 1.0, protection);
    lever("delegation", true, m(), &|d| d.delegation = 0.8, protection);
    lever(
        "rights agenda",
        true,
        m(),
        &|d| d.rights_agenda = 1.0,
        protection,
    );
    lever(
        "transparency",
        true,
        m(),
        &|d| d.transparency = 1.0,
        protection,
    );
    lever(
        "civil society",
        true,
        m(),
        &|d| d.civil_society = 1.0,
        protection,
    );
    // Memory behind closed doors: the secretariat's follow-up among peers, the ratchet of the
    // anchor, and a statement that lasts between meetings.
    let biennial_closed = ForumDesign {
        interval: 2.0,
        memory: 0.0,
        ..closed.clone()
    };
    lever(
        "memory (closed doors)",
        true,
        biennial_closed,
        &|d| d.memory = 1.0,
        protection,
    );
    lever(
        "consensus quantile",
        true,
        m(),
        &|d| d.consensus_quantile = 0.7,
        protection,
    );
    // The security lens without rights on the agenda: practices judged by cuts in irregular
    // arrivals rather than by gains in regular labour arrivals.
    let no_rights = ForumDesign {
        rights_agenda: 0.0,
        security_lens: 0.0,
        ..m()
    };
    lever(
        "security lens (no rights)",
        false,
        no_rights,
        &|d| d.security_lens = 1.0,
        protection,
    );
    lever(
        "rights transfer",
        true,
        m(),
        &|d| d.rights_transfer = 0.3,
        protection,
    );
    lever(
        "meeting interval",
        false,
        m(),
        &|d| d.interval = 5.0,
        protection,
    );
    // Destination dominance and know-how transfer raise the enforcement of transit and origin
    // States toward the destinations'.
    lever(
        "capacity transfer",
        true,
        m(),
        &|d| d.capacity_transfer = 0.3,
        transit_enforcement,
    );
    // Destination dominance where the powerful destinations enforce hardest (enforcement rises
    // steeply with income) and pass on their know-how: the enforcement that transit and origin
    // members are pulled toward is the dominant destinations'.
    let enforcing_destinations = |d: ForumDesign| {
        let mut s = forum_world(d);
        s.world.e0_base = 0.0;
        s.world.e0_income = 1.0;
        s
    };
    let base = ForumDesign {
        capacity_transfer: 0.2,
        power_exponent: 0.0,
        ..m()
    };
    let mut dominated = base.clone();
    dominated.power_exponent = 2.0;
    let effect = paired(
        &enforcing_destinations(base),
        &enforcing_destinations(dominated),
        REPS,
        transit_enforcement,
    );
    assert_effect("power exponent", effect, true);
}

/// Treaty levers, for the parties of a treaty every State belongs to.
#[test]
fn every_treaty_lever_moves_its_parties_protection() {
    use forumsim::scenario::TreatyDesign;
    use levers::{assert_effect, binding, paired, protection, treaty_world};
    const REPS: u64 = 16;
    let lever = |name: &str, set: &dyn Fn(&mut TreatyDesign)| {
        let mut variant = binding();
        set(&mut variant);
        let effect = paired(
            &treaty_world(binding()),
            &treaty_world(variant),
            REPS,
            protection,
        );
        assert_effect(name, effect, true);
    };
    lever("floors", &|d| {
        d.floor_asylum = 1.0;
        d.floor_labour = 1.0;
        d.floor_trafficking = 1.0;
    });
    lever("obligation", &|d| d.obligation = 1.0);
    lever("precision", &|d| d.precision = 1.0);
    lever("delegation", &|d| d.delegation = 0.9);
    lever("sanction", &|d| d.sanction = 3.0);
}

/// Voice follows destination status and economic weight, not population: at the status quo's
/// power exponents the United States and Canada carry a majority of the Puebla process (RCM),
/// Australia is among the two largest voices of the Bali Process it co-chairs, and the EU's
/// destination members carry most of the Budapest and Prague processes.
#[test]
fn voice_follows_destinations_in_the_regional_processes() {
    use forumsim::experiment::voices::voice_shares;
    const EU: [&str; 28] = [
        "AUT", "BEL", "BGR", "HRV", "CYP", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC", "HUN",
        "IRL", "ITA", "LVA", "LTU", "LUX", "MLT", "NLD", "POL", "PRT", "ROU", "SVK", "SVN", "ESP",
        "SWE", "GBR",
    ];
    let s = base();
    let facts = s.facts().expect("facts");
    for seed in [1, 2, 3] {
        let shares = voice_shares(&s, &facts, seed);
        let of = |forum: &str| -> Vec<_> { shares.iter().filter(|v| v.forum == forum).collect() };
        let rcm = of("RCM");
        let north: f64 = rcm
            .iter()
            .filter(|v| v.iso3 == "USA" || v.iso3 == "CAN")
            .map(|v| v.share)
            .sum();
        assert!(north > 0.5, "RCM: USA and Canada carry {north:.3}");
        let bali = of("Bali");
        assert!(
            bali[..2].iter().any(|v| v.iso3 == "AUS"),
            "Bali: the two largest voices are {} and {}",
            bali[0].iso3,
            bali[1].iso3
        );
        for forum in ["Budapest", "Prague"] {
            let eu: f64 = of(forum)
                .iter()
                .filter(|v| v.destination && EU.contains(&v.iso3.as_str()))
                .map(|v| v.share)
                .sum();
            assert!(
                eu > 0.5,
                "{forum}: the EU's destination members carry {eu:.3}"
            );
        }
        let total: f64 = bali.iter().map(|v| v.share).sum();
        assert!((total - 1.0).abs() < 1e-9);
    }
}

/// A forum's statement binds only while the forum is active and fades between meetings by its
/// memory: a forum that meets once, in 2010 (`last_year` 2010), costs no State anything from 2011
/// on; a forum with memory 1 meeting every 5 years keeps its full pull between meetings; with
/// memory 0.5 it halves each year without a meeting.
#[test]
fn a_forum_binds_only_while_active_and_fades_by_its_memory() {
    use forumsim::dynamics::forums::norm_strength;
    let penalties = |design: ForumDesign| {
        let mut s = levers::forum_world(design);
        s.run.end_year = 2022;
        // Only the forum's costs: no bilateral floor in this world.
        s.bilateral.sanction = 0.0;
        let facts = s.facts().expect("facts");
        let mut by_year = Vec::new();
        experiment::simulate_with(&s, &facts, 4, 0, 0, &mut |w| {
            let total: f64 = w.scratch_penalty.iter().flatten().flatten().sum();
            let strength = norm_strength(&w.forums[0], w.year - 1);
            by_year.push((w.year - 1, total, strength));
        })
        .expect("runs");
        by_year
    };
    let once = ForumDesign {
        first_year: 2010.0,
        last_year: 2010.0,
        memory: 1.0,
        consensus_quantile: 0.6,
        ..levers::middling()
    };
    for (year, total, strength) in penalties(once) {
        if year == 2010 {
            assert!(total > 0.0 && strength == 1.0, "{year}: the meeting binds");
        } else {
            assert_eq!((total, strength), (0.0, 0.0), "{year}: nothing binds");
        }
    }
    let every_five = |memory: f64| ForumDesign {
        first_year: 2007.0,
        interval: 5.0,
        memory,
        consensus_quantile: 0.6,
        ..levers::middling()
    };
    for (year, total, strength) in penalties(every_five(1.0)) {
        assert!(total > 0.0, "{year}: the statement keeps its pull");
        assert_eq!(strength, 1.0, "{year}");
    }
    for (year, _, strength) in penalties(every_five(0.5)) {
        let since = (year - 2007) % 5;
        assert_eq!(strength, 0.5f64.powi(since), "{year}");
    }
}

fn trafficking_protection(_: &Scenario, out: &experiment::ReplicationOutput) -> f64 {
    out.record.end.domains[2]
}

/// Trafficking protection follows trafficking exposure and its monitoring: when more people
/// arrive irregularly, and so fall into traffickers' hands, States protect victims more; a trafficking
/// convention whose body monitors (delegation, as GRETA) raises its parties' protection more than
/// one without; and without the cost of unprotected victims the first link is gone.
#[test]
fn trafficking_protection_follows_exposure_and_monitoring() {
    use levers::{assert_effect, binding, forum_world, paired, treaty_world};
    let mut calm = forum_world(levers::middling());
    calm.forums.clear();
    // Exposure rises after the start: a lasting crisis sends people who end up irregular, many
    // of them into traffickers' hands (tastes were set on the start, so only a change counts).
    let mut exposed = calm.clone();
    for year in 2010..2020 {
        exposed.events.push(forumsim::scenario::Event::Crisis {
            year,
            region: "Western Asia".into(),
            magnitude: 20.0,
        });
    }
    let effect = paired(&calm, &exposed, 16, trafficking_protection);
    assert_effect("exposure", effect, true);
    let mut indifferent = (calm.clone(), exposed.clone());
    indifferent.0.policy.c_trafficking = 0.0;
    indifferent.1.policy.c_trafficking = 0.0;
    let without = paired(&indifferent.0, &indifferent.1, 16, trafficking_protection);
    assert!(
        without.mean.abs() < 0.25 * effect.mean,
        "without the victims' cost exposure still moves protection by {without:?}"
    );
    let convention = |delegation: f64| {
        treaty_world(forumsim::scenario::TreatyDesign {
            floor_asylum: 0.0,
            floor_labour: 0.0,
            floor_trafficking: 0.8,
            delegation,
            ..binding()
        })
    };
    let monitored = paired(
        &convention(0.0),
        &convention(0.8),
        16,
        trafficking_protection,
    );
    assert_effect("monitoring body", monitored, true);
}

/// A replication that failed in one scenario of a comparison drops out of both: the pairs after
/// it stay matched by replication (a scenario against itself still differs by exactly zero).
#[test]
fn a_failed_replication_does_not_shift_the_pairs() {
    let mut s = base();
    s.run.end_year = 2012;
    let facts = s.facts().expect("facts");
    let config = |fail| experiment::RunConfig {
        replications: 6,
        seed: 3,
        threads: 2,
        point: 0,
        inject_failure: fail,
    };
    let a = experiment::run(&s, &facts, &config(None), &mut |_| {}).expect("runs");
    let b = experiment::run(&s, &facts, &config(Some(2)), &mut |_| {}).expect("runs");
    let rows = experiment::compare::paired((&s, &a), (&s, &b)).expect("pairs");
    for r in rows {
        assert_eq!(r.n, 5, "{}", r.metric);
        assert_eq!((r.difference, r.sd), (0.0, 0.0), "{}", r.metric);
    }
}
