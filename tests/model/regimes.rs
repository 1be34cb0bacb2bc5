//! The regimes the status quo takes from the record: the refugee regime, regional courts,
//! responsibility sharing and bilateral agreements, and the start-year conditions read from the
//! record. Tests of behaviour (what each mechanism does, paired under common random numbers),
//! not of calibrated numbers.

use forumsim::dynamics;
use forumsim::experiment::{self, seeds};
use forumsim::scenario::{Scenario, TreatyDesign};
use forumsim::world::{World, history};

use super::levers::{Effect, assert_effect, binding, forum_world, middling, paired, treaty_world};

/// The status quo at its point values: mechanism tests run without the shipped posterior.
fn status_quo() -> Scenario {
    let mut s = Scenario::builtin_default().expect("built-in scenario");
    s.posterior = None;
    s
}

/// The world of replication `r` as `dynamics::start` leaves it, before the first year.
fn started(s: &Scenario, r: u64) -> World {
    let facts = s.facts().expect("facts");
    let key = seeds::replication_key(s.run.seed, 0, r);
    let mut w = World::new(&facts, s, &mut seeds::stream(key, seeds::WORLD));
    let mut streams = seeds::streams(key, s);
    dynamics::start(&mut w, s, &facts, key, &mut streams);
    w
}

/// The start comes from the record where it has one: the treaty parties of 2006, asylum
/// protection from recognition rates, enforcement and legal channels from IMPIC, and the
/// network from the 2005 bilateral stocks.
#[test]
fn the_start_is_read_from_the_record() {
    let s = status_quo();
    let facts = s.facts().expect("facts");
    let h = &facts.history;
    let w = started(&s, 0);
    for (treaty, names) in [
        (
            "Refugee_Convention",
            vec!["Refugee_Convention_1951", "Refugee_Protocol_1967"],
        ),
        ("ICRMW", vec!["ICRMW"]),
        ("Trafficking_Protocol", vec!["Trafficking_Protocol"]),
    ] {
        let names: Vec<String> = names.into_iter().map(String::from).collect();
        let t = w.treaties.iter().find(|t| t.name == treaty).expect(treaty);
        for i in 0..w.n_states {
            assert_eq!(
                t.party[i],
                h.party_by(&names, i, 2006),
                "{treaty}, {}",
                facts.iso3[i]
            );
        }
    }
    let (mut asylum, mut impic) = (0, 0);
    for i in 0..w.n_states {
        let (rate, decisions) = h.recognition(i, 2003, 2007);
        if decisions >= history::MIN_DECISIONS {
            assert!(
                (w.protection[0][i] - rate.clamp(0.0, 1.0)).abs() < 1e-12,
                "{}",
                facts.iso3[i]
            );
            asylum += 1;
        }
        if let Some(x) = h.impic_at(i, 2007) {
            assert!((w.enforcement[i] - x.control_overall).abs() < 1e-12);
            assert!((w.legal[i] - (1.0 - x.external_labour)).abs() < 1e-12);
            impic += 1;
        }
    }
    assert!(
        asylum > 70 && impic == 33,
        "{asylum} recorded asylum rates, {impic} IMPIC States"
    );
    // The network of Mexicans in the United States is the recorded 2005 stock scaled to 2007.
    let (usa, mex) = (
        facts.state_by_iso3("USA").expect("USA") as usize,
        facts.state_by_iso3("MEX").expect("MEX"),
    );
    let r = facts.region[mex as usize] as usize;
    let recorded = h.stock(2005, mex, usa as u32);
    let model = facts.network[r * facts.n_states() + usa];
    assert!(
        model > recorded,
        "{model} vs {recorded}: Central America includes Mexico"
    );
}

/// The refugee regime's floor holds its parties' asylum protection up, more so with a court
/// their residents can petition; its strain (a timeline lowering precision and UNHCR's
/// delegation) lets it fall; responsibility sharing holds it up.
#[test]
fn the_refugee_regime_courts_strain_and_sharing_act_on_asylum() {
    let asylum = |_: &Scenario, out: &experiment::ReplicationOutput| out.record.end.domains[0];
    let asylum_only = |court: f64, sharing: f64| {
        treaty_world(TreatyDesign {
            floor_asylum: 0.8,
            floor_labour: 0.0,
            floor_trafficking: 0.0,
            court,
            sharing,
            ..binding()
        })
    };
    let court = paired(&asylum_only(0.0, 0.0), &asylum_only(0.8, 0.0), 16, asylum);
    assert_effect("court", court, true);
    let sharing = paired(&asylum_only(0.0, 0.0), &asylum_only(0.0, 0.5), 16, asylum);
    assert_effect("responsibility sharing", sharing, true);
    let base = status_quo();
    let mut strain = Scenario::builtin("refugee_regime_under_strain").expect("built in");
    strain.posterior = None;
    let mut short = (base.clone(), strain.clone());
    short.0.run.end_year = 2036;
    short.1.run.end_year = 2036;
    let effect: Effect = paired(&short.0, &short.1, 12, asylum);
    assert_effect("regime under strain", effect, false);
    // The timeline changes the treaty's design from its year on.
    let facts = strain.facts().expect("facts");
    let mut seen = Vec::new();
    experiment::simulate_with(&strain, &facts, 1, 0, 0, &mut |w| {
        let t = w
            .treaties
            .iter()
            .find(|t| t.name == "Refugee_Convention")
            .expect("treaty");
        seen.push((w.year - 1, t.design.precision, t.design.delegation));
    })
    .expect("runs");
    for (year, precision, delegation) in seen {
        let expected = if year >= 2017 {
            (0.2, 0.15)
        } else {
            (0.4, 0.3)
        };
        assert_eq!((precision, delegation), expected, "{year}");
    }
}

/// Responsibility sharing moves recognised refugees between parties and conserves them: in one
/// year's admission the world's refugee stock grows by exactly the recognised arrivals (less
/// return and naturalisation) with or without sharing, and with it the parties' stocks move.
#[test]
fn sharing_resettles_refugees_and_conserves_them() {
    for sharing in [0.0, 1.0] {
        let s = asylum_treaty_world(sharing);
        let mut w = started(&s, 0);
        let before: f64 = w.stock_refugee.iter().sum();
        let own = w.stock_refugee.clone();
        forumsim::dynamics::flows::step(&mut w, &s);
        let recognised: f64 = w.arrivals_refugee.iter().sum();
        let after: f64 = w.stock_refugee.iter().sum();
        let expected = (before + recognised) * (1.0 - s.admission.mu);
        assert!(
            (after - expected).abs() < 1e-6 * expected,
            "{sharing}: {after} vs {expected}"
        );
        let moved = (0..w.n_states).any(|i| {
            let kept = (own[i] + w.arrivals_refugee[i]) * (1.0 - s.admission.mu);
            (w.stock_refugee[i] - kept).abs() > 1.0
        });
        assert_eq!(
            moved,
            sharing > 0.0,
            "sharing {sharing} moved refugees: {moved}"
        );
    }
}

/// A treaty of every State with an asylum floor, in force before the start.
fn asylum_treaty_world(sharing: f64) -> Scenario {
    treaty_world(TreatyDesign {
        floor_asylum: 0.5,
        floor_labour: 0.0,
        floor_trafficking: 0.0,
        sharing,
        opened: 2000.0,
        ..binding()
    })
}

/// Bilateral agreements act per corridor: a labour agreement's migrants arrive regularly, so
/// without them the irregular share of migrant workers is higher; readmission removes more of the
/// partners' rejected claimants; and a destination that must be seen to meet its agreements'
/// rights provisions protects labour more.
#[test]
fn bilateral_agreements_act_on_their_corridors() {
    let irregular_workers = |s: &Scenario, out: &experiment::ReplicationOutput| {
        let facts = s.facts().expect("facts");
        let names = experiment::observe::metric_names(s, &facts.region_names);
        let m = names
            .iter()
            .position(|n| n == "irregular_share_workers")
            .expect("metric");
        let years = s.n_years();
        out.trace[(years - 1) * names.len() + m]
    };
    let mut with = forum_world(middling());
    with.forums.clear();
    with.run.end_year = 2020;
    with.bilateral.consider_prob = 0.0;
    with.bilateral.lifetime = 200.0;
    let mut without = with.clone();
    without.bilateral.labour_attraction = 0.0;
    without.bilateral.lifetime = 1.0;
    let effect = paired(&with, &without, 12, irregular_workers);
    assert_effect("no labour agreements", effect, true);
    // Readmission: a world where every candidate pair signs in the first year.
    let mut readmission = with.clone();
    readmission.bilateral.consider_prob = 1.0;
    readmission.bilateral.fixed_cost = -1000.0;
    readmission.bilateral.readmission_cost = 0.0;
    let facts = readmission.facts().expect("facts");
    let removed = |s: &Scenario| -> f64 {
        let mut total = 0.0;
        experiment::simulate_with(s, &facts, 3, 0, 0, &mut |w| {
            total += w.readmitted.iter().sum::<f64>();
        })
        .expect("runs");
        total
    };
    assert_eq!(
        removed(&with),
        0.0,
        "no readmission agreement, no readmission"
    );
    assert!(removed(&readmission) > 0.0, "readmission agreements remove");
    // Rights provisions seen from 2010 on (the start's tastes hold the record's agreements as
    // they were) hold labour protection up.
    let labour = |_: &Scenario, out: &experiment::ReplicationOutput| out.record.end.domains[1];
    let mut hidden = with.clone();
    hidden.bilateral.transparency = 0.0;
    hidden.bilateral.rights_floor = 1.0;
    let mut seen = hidden.clone();
    for (field, value) in [("transparency", 1.0), ("sanction", 5.0)] {
        seen.bilateral_timeline
            .push(forumsim::scenario::TimelineChange {
                year: 2010,
                field,
                value,
            });
    }
    let effect = paired(&hidden, &seen, 12, labour);
    assert_effect("transparency of agreements", effect, true);
}

/// Who signs: nothing is signed when a deal is worth nothing to either side; labour agreements
/// go to the corridors with the larger flows, readmission agreements to destinations under more
/// pressure than the candidates at large.
#[test]
fn agreements_are_signed_where_both_sides_gain() {
    let mut s = forum_world(middling());
    s.forums.clear();
    s.run.end_year = 2016;
    let facts = s.facts().expect("facts");
    let signed = |sc: &Scenario| -> (World, [u64; 2]) {
        let mut last = None;
        experiment::simulate_with(sc, &facts, 4, 0, 0, &mut |w| last = Some(w.clone()))
            .expect("runs");
        let w = last.expect("a year");
        let counts = w.signed;
        (w, counts)
    };
    let mut worthless = s.clone();
    worthless.bilateral.deal_value = 0.0;
    worthless.bilateral.fixed_cost = 1.0;
    assert_eq!(signed(&worthless).1, [0, 0], "no gain, no deal");
    let (w, counts) = signed(&s);
    assert!(counts[0] > 0, "labour agreements are signed");
    let start = s.run.start_year;
    let new: Vec<_> = w.agreements.iter().filter(|a| a.since >= start).collect();
    let stock = |o: u32, j: u32| {
        w.network[w.region[o as usize] as usize * w.n_states + j as usize]
            * w.origin_share[o as usize]
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let labour_signed: Vec<f64> = new
        .iter()
        .filter(|a| !a.readmission)
        .map(|a| stock(a.origin, a.destination))
        .collect();
    let candidates: Vec<f64> = w
        .bilateral_candidates
        .iter()
        .map(|&(o, j)| stock(o, j))
        .collect();
    assert!(
        mean(&labour_signed) > 2.0 * mean(&candidates),
        "signed corridors {:.0} vs candidates {:.0}",
        mean(&labour_signed),
        mean(&candidates)
    );
}
