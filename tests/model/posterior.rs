//! Calibration with uncertainty: the ABC-SMC recovers known parameters from targets the model
//! itself generated (a known-answer test), and a comparison over a posterior stays paired.

use forumsim::experiment::abc::{self, Prior, Settings};
use forumsim::experiment::calibration::Context;
use forumsim::scenario::Scenario;

fn priors() -> Vec<Prior> {
    vec![
        Prior {
            key: "flows.beta_far".into(),
            low: 2.0,
            high: 4.0,
        },
        Prior {
            key: "admission.mu".into(),
            low: 0.025,
            high: 0.045,
        },
    ]
}

/// Simulation-based calibration on a small case: for two known parameter sets, the targets the
/// model generates there (8 replications, with their noise) are taken as the record; the
/// posterior's 90% intervals cover the known values, and are narrower than the prior.
#[test]
fn abc_recovers_known_parameters_inside_its_90_percent_intervals() {
    let mut base = Scenario::builtin_default().expect("scenario");
    base.posterior = None;
    let facts = base.facts().expect("facts");
    let ctx = Context::new(&base, &facts).expect("context");
    let settings = Settings {
        particles: 80,
        reps: 1,
        max_generations: 6,
        threads: 2,
        seed: 11,
        ..Settings::default()
    };
    for truth in [[2.6, 0.038], [3.5, 0.029]] {
        let pseudo = Settings {
            reps: 8,
            seed: 99,
            ..settings.clone()
        };
        let (_, generated) =
            abc::evaluate(&ctx, &facts, &priors(), &truth, &pseudo, 7, None).expect("generates");
        let observed: Vec<f64> = generated.iter().map(|r| r.mean).collect();
        let posterior = abc::run(
            &base,
            &facts,
            &priors(),
            &settings,
            Some(&observed),
            &mut |_| {},
        )
        .expect("runs");
        for (k, p) in priors().iter().enumerate() {
            let (q05, q95) = (posterior.quantile(k, 0.05), posterior.quantile(k, 0.95));
            eprintln!("{}: truth {} in [{q05:.4}, {q95:.4}]", p.key, truth[k]);
            assert!(
                q05 <= truth[k] && truth[k] <= q95,
                "{}: {} outside [{q05}, {q95}]",
                p.key,
                truth[k]
            );
        }
        let width = posterior.quantile(0, 0.95) - posterior.quantile(0, 0.05);
        assert!(width < 0.6 * 2.0, "beta_far is learnt: 90% width {width}");
        let g = posterior.generations.last().expect("a generation");
        assert!(
            g.epsilon < posterior.generations[0].epsilon,
            "the tolerance falls"
        );
    }
}

fn two_point_posterior() -> std::sync::Arc<forumsim::scenario::posterior::Draws> {
    let text = "particle,weight,distance,world.h0_base,policy.noise\n0,0.5,0.1,0.2,0.05\n1,0.5,0.1,0.6,0.3\n";
    std::sync::Arc::new(forumsim::scenario::posterior::Draws::parse(text, "test").expect("parses"))
}

/// Over a posterior, a scenario compared with itself still differs by exactly zero, and two
/// scenarios of a comparison draw the same parameter set in the same replication (their
/// baseline hostility, which the drawn `world.h0_base` sets, is the same replication by
/// replication, and takes both values across replications).
#[test]
fn a_comparison_over_a_posterior_stays_paired() {
    use forumsim::experiment;
    let mut s = Scenario::builtin_default().expect("scenario");
    s.run.end_year = 2012;
    s.posterior = Some(two_point_posterior());
    let facts = s.facts().expect("facts");
    let config = experiment::RunConfig {
        replications: 8,
        seed: 3,
        threads: 2,
        point: 0,
        inject_failure: None,
    };
    let a = experiment::run(&s, &facts, &config, &mut |_| {}).expect("runs");
    let b = experiment::run(&s, &facts, &config, &mut |_| {}).expect("runs");
    for r in experiment::compare::paired((&s, &a), (&s, &b)).expect("pairs") {
        assert_eq!((r.difference, r.sd), (0.0, 0.0), "{}", r.metric);
    }
    let mut variant = s.clone();
    variant.forums[0].design.memory = 0.9;
    let h0 = |sc: &Scenario, r: u64| {
        let mut first = None;
        experiment::simulate_with(sc, &facts, 3, 0, r, &mut |w| {
            if first.is_none() {
                first = Some(w.h0.iter().sum::<f64>());
            }
        })
        .expect("runs");
        first.expect("a year")
    };
    let mut seen = Vec::new();
    for r in 0..8 {
        let (x, y) = (h0(&s, r), h0(&variant, r));
        assert_eq!(x, y, "replication {r} drew different sets");
        seen.push(x);
    }
    seen.sort_by(f64::total_cmp);
    assert!(
        seen[0] < seen[7],
        "both parameter sets were drawn: {seen:?}"
    );
    // A value set explicitly is pinned: the posterior does not draw it.
    let mut pinned = s.clone();
    pinned.set("world.h0_base", 0.4).expect("sets");
    let drawn = pinned.with_draw(0.9);
    assert_eq!(drawn.world.h0_base, 0.4);
    assert_eq!(drawn.policy.noise, 0.3);
    assert!(drawn.posterior.is_none());
}
