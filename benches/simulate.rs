//! Benchmarks: one replication of the default scenario, a batch of 100 on 2 threads, and one
//! yearly step of synthetic worlds of 200, 2,000 and 20,000 States (cost per State-year).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput};
use forumsim::dynamics;
use forumsim::experiment::{RunConfig, seeds, simulate};
use forumsim::scenario::{Scenario, WorldKind};
use forumsim::world::World;

fn default_replication(c: &mut Criterion) {
    let scenario = Scenario::builtin_default().expect("built-in scenario");
    let facts = scenario.facts().expect("facts");
    let mut group = c.benchmark_group("default_scenario");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_replication", |b| {
        let mut r = 0;
        b.iter(|| {
            r += 1;
            black_box(simulate(&scenario, &facts, 1, 0, r).expect("runs"))
        })
    });
    group.throughput(Throughput::Elements(100));
    group.bench_function("batch_100_two_threads", |b| {
        let config = RunConfig {
            replications: 100,
            seed: 1,
            threads: 2,
            point: 0,
            inject_failure: None,
        };
        b.iter(|| black_box(forumsim::run(&scenario, &facts, &config, &mut |_| {}).expect("runs")))
    });
    group.finish();
}

fn synthetic_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("synthetic_step");
    group.sample_size(10);
    for n in [200usize, 2_000, 20_000] {
        let mut scenario = Scenario::builtin_default().expect("built-in scenario");
        scenario.world_kind = WorldKind::Synthetic;
        scenario.world.n_states = n as f64;
        scenario.world.n_regions = 20.0;
        // Keep the global forum (all members) and the treaties; RCP tables exist only for un193.
        scenario.forums.retain(|f| f.name == "GFMD");
        let facts = scenario.facts().expect("facts");
        let key = seeds::replication_key(1, 0, 0);
        let mut world = World::new(&facts, &scenario, &mut seeds::stream(key, seeds::WORLD));
        let mut streams = seeds::streams(key, &scenario);
        dynamics::start(&mut world, &scenario, &facts, key, &mut streams);
        // Warm the world up for a few years so that forums have anchors.
        for _ in 0..3 {
            dynamics::step(&mut world, &scenario, &mut streams);
        }
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("{n}_states"), |b| {
            b.iter_batched_ref(
                || (world.clone(), streams.clone()),
                |(w, s)| dynamics::step(w, &scenario, s),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    default_replication(&mut c);
    synthetic_step(&mut c);
    c.final_summary();
}
