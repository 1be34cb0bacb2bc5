//! Cost of each mechanism of the yearly step, in nanoseconds per State-year, over replications of
//! the built-in status quo on one thread, each drawing its parameters from the shipped posterior
//! as a run does (`--no-posterior` for the point values). A developer's tool for finding where a
//! year's time goes; the benchmarks in `benches/` are the reference figures.
//!
//! With `--states N`, the built-in synthetic world at N States instead (at its point values):
//! how the cost per State-year grows with the size of the world.
//!
//! `cargo run --release --example step_costs [REPLICATIONS] [--no-posterior] [--states N]`

use std::time::Instant;

use forumsim::dynamics::{bilateral, flows, forums, policy, pressure, shocks, treaties};
use forumsim::experiment::{observe, seeds};
use forumsim::scenario::Scenario;
use forumsim::world::World;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let point_values = args.iter().any(|a| a == "--no-posterior");
    let states: Option<f64> = args
        .iter()
        .position(|a| a == "--states")
        .map(|k| args.get(k + 1).map_or(Ok(0.0), |s| s.parse()))
        .transpose()?;
    let reps: u64 = args
        .iter()
        .enumerate()
        .find(|(k, a)| !a.starts_with("--") && (*k == 0 || args[k - 1] != "--states"))
        .map(|(_, s)| s.parse())
        .transpose()?
        .unwrap_or(50);
    let base = match states {
        Some(n) => {
            let mut s = Scenario::builtin("synthetic_world")?;
            s.set("world.n_states", n).map_err(anyhow::Error::msg)?;
            s
        }
        None => Scenario::builtin_default()?,
    };
    let facts = base.facts()?;
    let mut scenario = base.at_point_values();
    let names = [
        "setup",
        "shocks",
        "flows",
        "pressure",
        "forums",
        "treaties",
        "bilateral",
        "policy",
        "observe",
    ];
    let mut ns = [0u128; 9];
    let mut state_years = 0u64;
    let metrics = observe::metric_names(&scenario, &facts.region_names).len();
    let mut row = vec![0.0; metrics];
    let mut scratch = Vec::new();
    let mut region_scratch = vec![0.0; 2 * facts.n_regions()];
    let total = Instant::now();
    for r in 0..reps {
        let t = Instant::now();
        let key = seeds::replication_key(1, 0, r);
        if !point_values {
            use rand::RngExt;
            let u: f64 = seeds::stream(key, seeds::POSTERIOR).random();
            base.draw_into(u, &mut scenario);
        }
        let mut world = World::new(&facts, &scenario, &mut seeds::stream(key, seeds::WORLD));
        let mut s = seeds::streams(key, &scenario);
        forumsim::dynamics::start(&mut world, &scenario, &facts, key, &mut s);
        ns[0] += t.elapsed().as_nanos();
        for _ in 0..scenario.n_years() {
            let mut lap = Instant::now();
            let mut mark = |k: usize, lap: &mut Instant| {
                ns[k] += lap.elapsed().as_nanos();
                *lap = Instant::now();
            };
            shocks::step(&mut world, &scenario, &mut s.crises, &mut s.elections);
            mark(1, &mut lap);
            flows::step(&mut world, &scenario);
            mark(2, &mut lap);
            pressure::step(&mut world, &scenario);
            mark(3, &mut lap);
            forums::step(&mut world, &scenario, &mut s.forums);
            mark(4, &mut lap);
            treaties::step(&mut world, &scenario, &mut s.treaties);
            mark(5, &mut lap);
            bilateral::step(&mut world, &scenario, &mut s.bilateral);
            mark(6, &mut lap);
            policy::step(&mut world, &scenario, &mut s.choices);
            world.year += 1;
            mark(7, &mut lap);
            let _ = world.check_invariants();
            observe::observe(
                &world,
                &scenario,
                &mut row,
                &mut scratch,
                &mut region_scratch,
            );
            mark(8, &mut lap);
            state_years += world.n_states as u64;
        }
    }
    let wall = total.elapsed().as_secs_f64();
    println!("{reps} replications, {state_years} State-years, {wall:.3} s");
    println!(
        "{:.2} ms per replication, {:.0} ns per State-year",
        1e3 * wall / reps as f64,
        1e9 * wall / state_years as f64
    );
    for (name, t) in names.iter().zip(ns) {
        println!(
            "{name:>10} {:8.1} ns per State-year",
            t as f64 / state_years as f64
        );
    }
    Ok(())
}
