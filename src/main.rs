//! The `forumsim` command: parses arguments, calls the library, prints.

mod cli;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use cli::{
    CalibrateArgs, Cli, Command, CompareArgs, ExplainArgs, RobustnessArgs, RunArgs, SensitivityArgs,
};
use forumsim::experiment::RunConfig;
use forumsim::scenario::params::SECTIONS;
use forumsim::stats::summarize;
use forumsim::world::DOMAINS;
use forumsim::{Error, Scenario, output};

fn main() -> ExitCode {
    forumsim::experiment::memory::keep_freed_memory();
    let cli = Cli::parse();
    let overrides = match &cli.command {
        Some(Command::Run(a)) => a
            .set
            .iter()
            .map(|s| format!("--set {s}"))
            .chain(a.sweep.iter().map(|s| format!("--sweep {s}")))
            .collect(),
        _ => Vec::new(),
    };
    output::record_invocation(std::env::args().collect(), overrides);
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if let Some(io) = err.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("forumsim: {}", message(&err));
            let usage = err
                .chain()
                .any(|e| e.downcast_ref::<Error>().is_some_and(Error::is_usage));
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

/// The error and its causes, joined by ": ", each said once: the library's errors already end
/// with their cause ("cannot read: No such file"), which the chain would repeat.
fn message(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if text.ends_with(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli
        .command
        .unwrap_or(Command::Compare(CompareArgs::default()))
    {
        Command::Run(args) => run(args),
        Command::Compare(args) => compare(args),
        Command::Calibrate(args) => calibrate(args),
        Command::Sensitivity(args) => sensitivity(args),
        Command::Robustness(args) => robustness(args),
        Command::Explain(args) => explain(args),
        Command::Check { scenario } => check(&scenario),
        Command::Plot { dir } => plot(&dir),
        Command::Merge {
            dirs,
            out,
            force,
            no_charts,
        } => merge(&dirs, out, force, no_charts),
        Command::Rerun { dir, replication } => rerun(&dir, replication),
        Command::States {
            scenario,
            reps,
            seed,
            threads,
            out,
            force,
        } => states(scenario.as_deref(), reps, seed, threads, out, force),
        Command::Voices {
            scenario,
            forum,
            top,
            csv,
        } => voices(scenario.as_deref(), forum.as_deref(), top, csv),
        Command::Params => params(),
        Command::List { dir } => list(dir.as_deref()),
        Command::New { name, force } => new_scenario(&name, force),
    }
}

fn load(path: Option<&Path>) -> anyhow::Result<Scenario> {
    Ok(match path {
        Some(p) => open(p)?,
        None => Scenario::builtin_default()?,
    })
}

/// The scenario a command-line argument names (a file path wins over a built-in name); says on
/// stderr when the built-in one was used.
fn open(path: &Path) -> anyhow::Result<Scenario> {
    let (scenario, found) = forumsim::command::open_scenario(path)?;
    if let forumsim::command::Found::Builtin(name) = found {
        eprintln!(
            "forumsim: note: no file {}; using the built-in scenario {name} (forumsim list shows them)",
            path.display()
        );
    }
    Ok(scenario)
}

/// The scenario's run settings, overridden by `--reps`, `--seed` and `--threads`.
fn run_config(
    scenario: &Scenario,
    reps: Option<u64>,
    seed: Option<u64>,
    threads: Option<u64>,
) -> RunConfig {
    let mut config = RunConfig::from_scenario(scenario, threads_or_all(threads));
    if let Some(r) = reps {
        config.replications = r;
    }
    if let Some(s) = seed {
        config.seed = s;
    }
    config
}

/// Prints the scenario's warnings (settings accepted but without the effect a user may mean).
fn warn(scenario: &Scenario) {
    warn_in(scenario, scenario.facts().ok().as_ref());
}

/// [`warn`] with the scenario's world already built (at 100,000 States building it takes about
/// a tenth of a second); without a world, the warnings that need none.
fn warn_in(scenario: &Scenario, facts: Option<&forumsim::world::Facts>) {
    let in_world = facts.map(|f| scenario.warnings_in(f)).unwrap_or_default();
    for w in scenario.warnings().into_iter().chain(in_world) {
        eprintln!("forumsim: warning: {}: {w}", scenario.source);
    }
}

fn threads_or_all(threads: Option<u64>) -> usize {
    threads.map(|t| t as usize).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

fn progress_bar(quiet: bool, total: u64, prefix: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() && std::env::var_os("FORUMSIM_PROGRESS").is_none()
    {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} replications, {per_sec}, {eta} left",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(prefix.to_string());
    bar
}

/// The scenarios of a comparison: the files given, or the status quo and the seed's proposals.
fn comparison_scenarios(files: &[PathBuf]) -> anyhow::Result<Vec<Scenario>> {
    Ok(if files.is_empty() {
        let mut v = vec![Scenario::builtin_default()?];
        for name in forumsim::scenario::library::PROPOSALS {
            v.push(Scenario::builtin(name)?);
        }
        v
    } else {
        files.iter().map(|p| open(p)).collect::<Result<_, _>>()?
    })
}

fn explain(args: ExplainArgs) -> anyhow::Result<()> {
    use forumsim::experiment::explain::{self, Method};
    let base = open(&args.base)?;
    let variant = open(&args.variant)?;
    let method = match args.method.as_str() {
        "shapley" => Method::Shapley,
        "one-at-a-time" => Method::OneAtATime,
        other => {
            return Err(Error::Invalid {
                file: "--method".into(),
                key: other.into(),
                message: "expected shapley or one-at-a-time".into(),
            }
            .into());
        }
    };
    let dir = args.out.clone().unwrap_or_else(|| {
        Path::new("output").join(format!("explain-{}-vs-{}", variant.name, base.name))
    });
    output::check_destination(&dir, args.force)?;
    let seed = args.seed.unwrap_or(base.run.seed);
    let bar = progress_bar(args.quiet, 1, "explain");
    let e = explain::explain(
        &base,
        &variant,
        method,
        args.reps,
        seed,
        threads_or_all(args.threads),
        &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
    )?;
    bar.finish_and_clear();
    output::write_explanation(&dir, args.force, &[&base, &variant], &e)?;
    let mut stdout = std::io::stdout().lock();
    write!(stdout, "{}", explain::table(&e))?;
    writeln!(stdout, "results in {}", dir.display())?;
    Ok(())
}

fn robustness(args: RobustnessArgs) -> anyhow::Result<()> {
    use forumsim::experiment::robustness::{self, Method};
    let scenarios = comparison_scenarios(&args.scenarios)?;
    let first = &scenarios[0];
    let factors = match &args.params {
        Some(text) => robustness::parse_factors(text, first)?,
        None => robustness::default_factors(),
    };
    let samples = args.samples as usize;
    let method = match args.method.as_str() {
        "lhs" => Method::Lhs { samples },
        "sobol" => Method::Sobol { samples },
        "grid" => Method::Grid { samples },
        other => {
            return Err(Error::Invalid {
                file: "--method".into(),
                key: other.into(),
                message: "expected lhs, sobol or grid".into(),
            }
            .into());
        }
    };
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join("robustness"));
    output::check_destination(&dir, args.force)?;
    let seed = args.seed.unwrap_or(first.run.seed);
    let threads = threads_or_all(args.threads);
    let bar = progress_bar(args.quiet, 1, "robustness");
    let out = robustness::analyse(
        &scenarios,
        &factors,
        method,
        args.reps,
        seed,
        threads,
        &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
    )?;
    bar.finish_and_clear();
    output::write_robustness(&dir, args.force, &scenarios, &out)?;
    let mut stdout = std::io::stdout().lock();
    write!(stdout, "{}", robustness::headline(&out))?;
    writeln!(stdout, "results in {}", dir.display())?;
    Ok(())
}

fn compare(args: CompareArgs) -> anyhow::Result<()> {
    use forumsim::experiment::compare;
    let mut scenarios = comparison_scenarios(&args.scenarios)?;
    forumsim::scenario::posterior::Draws::choose(
        &mut scenarios,
        args.posterior.posterior.as_deref(),
        args.posterior.no_posterior,
    )?;
    compare::same_posterior(&scenarios).map_err(|message| Error::Invalid {
        file: "compare".into(),
        key: "[calibration] posterior".into(),
        message,
    })?;
    scenarios.iter().for_each(warn);
    let dir = args.out.clone().unwrap_or_else(|| {
        forumsim::command::comparison_dir(&scenarios, args.scenarios.is_empty())
    });
    output::check_destination(&dir, args.force)?;
    let first = &scenarios[0];
    let config = run_config(first, args.reps, args.seed, args.threads);
    let mut runs = Vec::new();
    for scenario in &scenarios {
        let facts = scenario.facts()?;
        let bar = progress_bar(args.quiet, config.replications, &scenario.name);
        let result = forumsim::run(scenario, &facts, &config, &mut |done| {
            bar.set_position(done)
        })
        .with_context(|| format!("running scenario {}", scenario.name))?;
        bar.finish_and_clear();
        runs.push((facts, result));
    }
    let mut rows = Vec::new();
    for (k, scenario) in scenarios.iter().enumerate().skip(1) {
        rows.extend(compare::paired(
            (first, &runs[0].1),
            (scenario, &runs[k].1),
        )?);
    }
    let names: Vec<String> = scenarios.iter().map(|s| s.name.clone()).collect();
    let outputs: Vec<&forumsim::RunOutput> = runs.iter().map(|r| &r.1).collect();
    let ranks = compare::ranks(&names, &outputs)?;
    let triples: Vec<_> = scenarios
        .iter()
        .zip(&runs)
        .map(|(s, (f, r))| (s, f, r))
        .collect();
    output::write_comparison(
        &dir,
        args.force,
        &triples,
        &rows,
        ranks.as_ref(),
        config.seed,
        !args.no_charts,
    )?;
    let mut out = std::io::stdout().lock();
    let table = compare::console(&scenarios, &runs[0].1, &rows, ranks.as_ref(), config.seed)?;
    write!(out, "{table}")?;
    writeln!(
        out,
        "results in {} (comparison.csv, and one result folder per scenario)",
        dir.display()
    )?;
    Ok(())
}

fn sensitivity(args: SensitivityArgs) -> anyhow::Result<()> {
    use forumsim::experiment::sensitivity::{Method, analyse};
    let scenario = open(&args.scenario)?;
    let method = match args.method.as_str() {
        "sobol" => Method::Sobol,
        "morris" => Method::Morris,
        other => {
            return Err(Error::Invalid {
                file: "--method".into(),
                key: other.into(),
                message: "expected sobol or morris".into(),
            }
            .into());
        }
    };
    if args.samples < 2 {
        return Err(Error::Invalid {
            file: "--samples".into(),
            key: args.samples.to_string(),
            message: "expected at least 2".into(),
        }
        .into());
    }
    let factors = forumsim::experiment::sensitivity::parse_factors(&args.params, &scenario)?;
    for f in &factors {
        if let Some(w) = scenario.timeline_overrides("--params", &f.key) {
            eprintln!("forumsim: warning: {w}");
        }
    }
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(format!("{}-sensitivity", scenario.name)));
    output::check_destination(&dir, args.force)?;
    let seed = args.seed.unwrap_or(scenario.run.seed);
    let points = match method {
        Method::Sobol => args.samples * (factors.len() + 2),
        Method::Morris => args.samples * (factors.len() + 1),
    } as u64;
    let bar = progress_bar(args.quiet, points * args.reps, &scenario.name);
    let out = analyse(
        &scenario,
        &factors,
        method,
        args.samples,
        args.reps,
        seed,
        threads_or_all(args.threads),
        &mut |d| bar.set_position(d),
    )?;
    bar.finish_and_clear();
    output::write_sensitivity(&dir, args.force, &scenario, &out, seed)?;
    for w in out.warnings() {
        eprintln!("forumsim: warning: {w}");
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "{}: {} sensitivity, {} model runs x {} replications, seed {}, {:.1} s",
        scenario.name, args.method, out.points, out.replications, seed, out.wall_seconds
    )?;
    for output_name in out.outputs() {
        let mut rows: Vec<_> = out
            .rows
            .iter()
            .filter(|r| r.output == output_name)
            .collect();
        let score = |r: &&forumsim::experiment::sensitivity::SensitivityRow| {
            r.sobol
                .map(|s| s.total)
                .or(r.morris.map(|m| m.mu_star))
                .unwrap_or(0.0)
        };
        rows.sort_by(|a, b| {
            score(b)
                .total_cmp(&score(a))
                .then_with(|| a.factor.key.cmp(&b.factor.key))
        });
        writeln!(stdout, "  {output_name}, ranked:")?;
        for r in rows {
            match (r.sobol, r.morris) {
                (Some(s), _) => writeln!(
                    stdout,
                    "    {:<36} [{:.3}, {:.3}]  S1 {:+.3} [{:+.3}, {:+.3}]  ST {:.3} [{:.3}, {:.3}]",
                    r.factor.key,
                    r.factor.low,
                    r.factor.high,
                    s.first,
                    s.first_ci.0,
                    s.first_ci.1,
                    s.total,
                    s.total_ci.0,
                    s.total_ci.1
                )?,
                (None, Some(m)) => writeln!(
                    stdout,
                    "    {:<36} [{:.3}, {:.3}]  mu* {:.4}  sigma {:.4}  mu {:+.4}",
                    r.factor.key, r.factor.low, r.factor.high, m.mu_star, m.sigma, m.mu
                )?,
                _ => {}
            }
        }
    }
    writeln!(stdout, "results in {}", dir.display())?;
    Ok(())
}

/// `calibrate --posterior`: ABC-SMC, the predictive check, the files, a summary on stdout and
/// progress on stderr.
fn calibrate_posterior(args: &CalibrateArgs, scenario: &Scenario) -> anyhow::Result<()> {
    use forumsim::experiment::abc;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(format!("{}-posterior", scenario.name)));
    output::check_destination(&dir, args.force)?;
    let facts = scenario.facts()?;
    let priors = if scenario.priors.is_empty() {
        abc::default_priors()
    } else {
        scenario.priors.clone()
    };
    let settings = abc::Settings {
        particles: args.particles as usize,
        reps: args.abc_reps,
        max_generations: args.generations as usize,
        seed: args.seed.unwrap_or(scenario.run.seed),
        threads: threads_or_all(args.threads),
        ..abc::Settings::default()
    };
    let started = std::time::Instant::now();
    let posterior = abc::run(scenario, &facts, &priors, &settings, None, &mut |g| {
        eprintln!(
            "generation {:>2}: tolerance {:.4}, acceptance {:.2}, effective sample size {:.0}, {} evaluations, {:.1} s",
            g.generation, g.epsilon, g.acceptance, g.ess, g.evaluations, g.wall_seconds
        );
    })?;
    eprintln!("posterior predictive check ...");
    let check = abc::predictive_check(
        scenario,
        &facts,
        &posterior,
        1,
        settings.seed ^ 0x5eed,
        settings.threads,
    )?;
    let wall = started.elapsed().as_secs_f64();
    output::write_posterior(&dir, args.force, scenario, &posterior, &check, wall)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}: posterior of {} parameters by ABC-SMC, {} particles, {} generations, {} evaluations of {} replications, {:.0} s",
        scenario.name,
        priors.len(),
        settings.particles,
        posterior.generations.len(),
        posterior
            .generations
            .iter()
            .map(|g| g.evaluations)
            .sum::<usize>(),
        settings.reps,
        wall
    )?;
    writeln!(
        out,
        "  {:<32} {:>18} {:>10} {:>10} {:>22}",
        "parameter", "prior", "default", "median", "90% interval"
    )?;
    for (k, p) in priors.iter().enumerate() {
        let default = scenario.parameter(&p.key).map_or(f64::NAN, |x| x.0);
        writeln!(
            out,
            "  {:<32} {:>18} {:>10.4} {:>10.4} {:>22}",
            p.key,
            format!("[{}, {}]", p.low, p.high),
            default,
            posterior.quantile(k, 0.5),
            format!(
                "[{:.4}, {:.4}]",
                posterior.quantile(k, 0.05),
                posterior.quantile(k, 0.95)
            )
        )?;
    }
    let within = check.iter().filter(|r| r.within()).count();
    writeln!(
        out,
        "predictive check: {within} of {} targets within their tolerance over the posterior",
        check.len()
    )?;
    writeln!(out, "results in {}", dir.display())?;
    Ok(())
}

fn calibrate(args: CalibrateArgs) -> anyhow::Result<()> {
    let mut scenario = load(args.scenario.as_deref())?;
    forumsim::experiment::calibration::check_world(&scenario)?;
    warn(&scenario);
    if args.posterior {
        return calibrate_posterior(&args, &scenario);
    }
    if args.no_posterior {
        scenario.posterior = None;
    }
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(format!("{}-calibration", scenario.name)));
    output::check_destination(&dir, args.force)?;
    let facts = scenario.facts()?;
    let seed = args.seed.unwrap_or(scenario.run.seed);
    let results = forumsim::experiment::calibration::calibrate(
        &scenario,
        &facts,
        args.reps,
        seed,
        threads_or_all(args.threads),
    )?;
    output::write_calibration(&dir, args.force, &scenario, &results, args.reps, seed)?;
    let mut out = std::io::stdout().lock();
    let over = match &scenario.posterior {
        Some(d) => format!(
            ", over the posterior {} (a posterior predictive check)",
            d.source
        ),
        None => ", at the scenario's point values".into(),
    };
    writeln!(
        out,
        "{}: {} replications, {}-2016, seed {}{over}",
        scenario.name, args.reps, scenario.run.start_year, seed
    )?;
    writeln!(
        out,
        "  {:<32} {:>5} {:>9} {:>9} {:>20} {:>16}  within",
        "target", "year", "observed", "model", "model 90% interval", "tolerance"
    )?;
    for r in &results {
        writeln!(
            out,
            "  {:<32} {:>5} {:>9.3} {:>9.3} {:>20} {:>16}  {}",
            r.target,
            r.year,
            r.observed,
            r.mean,
            format!("[{:.3}, {:.3}]", r.q05, r.q95),
            format!("[{:.2}, {:.2}]", r.tolerance.0, r.tolerance.1),
            if r.within() { "yes" } else { "NO" }
        )?;
    }
    writeln!(out, "results in {}", dir.display())?;
    Ok(())
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let mut scenario = load(args.scenario.as_deref())?;
    forumsim::scenario::posterior::Draws::choose(
        std::slice::from_mut(&mut scenario),
        args.posterior.posterior.as_deref(),
        args.posterior.no_posterior,
    )?;
    let applied = forumsim::command::apply_overrides(
        &mut scenario,
        &forumsim::command::Overrides {
            set: &args.set,
            sweep: &args.sweep,
            design: &args.design,
            samples: args.samples,
        },
    )?;
    for w in &applied.warnings {
        eprintln!("forumsim: warning: {w}");
    }
    let sweep = applied.sweep;
    // A run with overrides is labelled (and its folder named) as such, never as the scenario.
    if let Some(label) = forumsim::command::override_label(&scenario.name, &args.set, &args.sweep) {
        eprintln!(
            "forumsim: note: {} with {} is labelled {label}",
            scenario.name,
            args.set
                .iter()
                .map(|s| format!("--set {s}"))
                .chain(args.sweep.iter().map(|s| format!("--sweep {s}")))
                .collect::<Vec<_>>()
                .join(" ")
        );
        scenario.name = label;
    }
    // The world is built once, for the warnings and the run (a shard and a sweep build their
    // own).
    let facts = scenario.facts();
    warn_in(&scenario, facts.as_ref().ok());
    if let Some(text) = &args.shard {
        drop(facts);
        return run_shard(scenario, sweep, text, &args);
    }
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| output::default_dir(&scenario));
    let mut config = run_config(&scenario, args.reps, args.seed, args.threads);
    config.inject_failure = args.inject_failure;
    if let Some(sweep) = sweep {
        if args.resume {
            return Err(forumsim::experiment::stream::no_resume("a sweep").into());
        }
        output::check_destination(&dir, args.force)?;
        drop(facts);
        return run_sweep(&scenario, &sweep, &config, &dir, &args);
    }
    let facts = facts?;
    let bar = progress_bar(
        args.quiet || args.progress_json,
        config.replications,
        &scenario.name,
    );
    let started = std::time::Instant::now();
    let total = config.replications;
    // Replications stream to a work folder with checkpoints, so memory does not grow with them
    // and a killed run continues with --resume.
    let chunk = forumsim::experiment::chunk_size(config.threads);
    let options = forumsim::experiment::stream::Publish {
        force: args.force,
        resume: args.resume,
        charts: !args.no_charts,
    };
    let finished = forumsim::experiment::stream::run_to_folder(
        &scenario,
        &facts,
        &config,
        &dir,
        options,
        &mut |done| {
            bar.set_position(done);
            if args.progress_json && (done % chunk == 0 || done == total) {
                progress_line(&scenario.name, done, total, started);
            }
        },
    )
    .with_context(|| format!("running scenario {}", scenario.name))?;
    bar.finish_and_clear();
    let headline = match finished {
        forumsim::experiment::stream::Finished::Published(h) => h,
        forumsim::experiment::stream::Finished::AlreadyPublished => {
            writeln!(
                std::io::stdout().lock(),
                "{}: {} already holds the results of this run; nothing to resume",
                scenario.name,
                dir.display()
            )?;
            return Ok(());
        }
    };
    print_report(&scenario, &headline, &dir, config.seed)?;
    if headline.failures > 0 {
        // The batch went on; the command still fails, with one line naming the file.
        eprintln!(
            "forumsim: {} of {} replications broke an invariant and are left out of the results; see {}",
            headline.failures,
            config.replications,
            dir.join("failures.csv").display()
        );
        std::process::exit(1);
    }
    Ok(())
}

/// One JSON line of progress on stderr.
fn progress_line(name: &str, done: u64, total: u64, started: std::time::Instant) {
    let elapsed = started.elapsed().as_secs_f64();
    let rate = done as f64 / elapsed.max(1e-9);
    let eta = if rate > 0.0 {
        total.saturating_sub(done) as f64 / rate
    } else {
        0.0
    };
    eprintln!(
        "{}",
        serde_json::json!({
            "scenario": name,
            "done": done,
            "total": total,
            "elapsed_seconds": (elapsed * 1000.0).round() / 1000.0,
            "replications_per_second": (rate * 10.0).round() / 10.0,
            "eta_seconds": (eta * 10.0).round() / 10.0,
        })
    );
}

fn rerun(dir: &Path, replication: u64) -> anyhow::Result<()> {
    let forumsim::experiment::rerun::Rerun {
        scenario,
        seed,
        point,
        ..
    } = forumsim::experiment::rerun::prepare(dir, replication)?;
    let facts = scenario.facts()?;
    let names = forumsim::experiment::observe::metric_names(&scenario, &facts.region_names);
    let result = forumsim::experiment::simulate(&scenario, &facts, seed, point, replication);
    let path = dir.join(format!("rerun-{replication}.csv"));
    let mut out = std::io::stdout().lock();
    match result {
        Ok(o) => {
            let mut w = csv::Writer::from_path(&path)
                .with_context(|| format!("writing {}", path.display()))?;
            let mut header = vec!["year".to_string()];
            header.extend(names.iter().cloned());
            w.write_record(&header)?;
            for (t, row) in o.trace.chunks(names.len()).enumerate() {
                let mut r = vec![(scenario.run.start_year + t as i32).to_string()];
                r.extend(row.iter().map(|x| {
                    if x.is_nan() {
                        String::new()
                    } else {
                        x.to_string()
                    }
                }));
                w.write_record(&r)?;
            }
            w.flush()?;
            writeln!(
                out,
                "{}: replication {replication} (seed {seed}, point {point}): RTB {:.4}, protection {:.4} -> {:.4}",
                scenario.name, o.record.rtb, o.record.start.mean, o.record.end.mean
            )?;
            writeln!(out, "per-year trace in {}", path.display())?;
            Ok(())
        }
        Err(e) => {
            writeln!(
                out,
                "{}: replication {replication} (seed {seed}, point {point}) fails: {e}",
                scenario.name
            )?;
            Err(e.into())
        }
    }
}

fn run_shard(
    mut scenario: Scenario,
    sweep: Option<forumsim::experiment::design::Sweep>,
    text: &str,
    args: &RunArgs,
) -> anyhow::Result<()> {
    use forumsim::experiment::shard::{ShardSpec, run_shard};
    let spec = ShardSpec::parse(text).map_err(Error::invalid("--shard", text))?;
    if args.resume {
        return Err(forumsim::experiment::stream::no_resume("a shard").into());
    }
    scenario.sweep = sweep;
    let dir = args.out.clone().unwrap_or_else(|| {
        Path::new("output").join(format!(
            "{}-shard-{}-of-{}",
            scenario.name, spec.index, spec.count
        ))
    });
    output::check_destination(&dir, args.force)?;
    let config = run_config(&scenario, args.reps, args.seed, args.threads);
    let points = scenario
        .sweep
        .as_ref()
        .map_or(1, |s| s.points(config.seed).len()) as u64;
    let tasks = spec.range(points * config.replications);
    let bar = progress_bar(args.quiet, tasks.end - tasks.start, &scenario.name);
    let n = run_shard(&scenario, &config, spec, &dir, args.force, &mut |d| {
        bar.set_position(d)
    })
    .with_context(|| format!("running shard {text} of {}", scenario.name))?;
    bar.finish_and_clear();
    writeln!(
        std::io::stdout().lock(),
        "{}: shard {}/{} ran tasks {}..{} ({n} replications); results in {}",
        scenario.name,
        spec.index,
        spec.count,
        tasks.start,
        tasks.end,
        dir.display()
    )?;
    Ok(())
}

fn merge(
    dirs: &[std::path::PathBuf],
    out: Option<std::path::PathBuf>,
    force: bool,
    no_charts: bool,
) -> anyhow::Result<()> {
    use forumsim::experiment::shard::{Merged, merge};
    let merged = merge(dirs, threads_or_all(None))?;
    let (name, dir) = match &merged {
        Merged::Run { scenario, .. } | Merged::Sweep { scenario, .. } => {
            let dir = out.unwrap_or_else(|| output::default_dir(scenario));
            (scenario.name.clone(), dir)
        }
    };
    output::check_destination(&dir, force)?;
    match merged {
        Merged::Run {
            scenario,
            facts,
            output: run,
            seed,
        } => output::write_run(&dir, force, &scenario, &facts, &run, seed, !no_charts)?,
        Merged::Sweep {
            scenario,
            output: sweep,
            seed,
        } => output::write_sweep(&dir, force, &scenario, &sweep, seed, !no_charts)?,
    }
    writeln!(
        std::io::stdout().lock(),
        "{name}: merged {} shards into {}",
        dirs.len(),
        dir.display()
    )?;
    Ok(())
}

fn run_sweep(
    scenario: &Scenario,
    sweep: &forumsim::experiment::design::Sweep,
    config: &RunConfig,
    dir: &Path,
    args: &RunArgs,
) -> anyhow::Result<()> {
    let n_points = sweep.points(config.seed).len() as u64;
    let bar = progress_bar(args.quiet, n_points * config.replications, &scenario.name);
    let out = forumsim::experiment::sweep::run_sweep(scenario, sweep, config, &mut |d| {
        bar.set_position(d)
    })
    .with_context(|| format!("running the sweep of {}", scenario.name))?;
    bar.finish_and_clear();
    output::write_sweep(
        dir,
        args.force,
        scenario,
        &out,
        config.seed,
        !args.no_charts,
    )?;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "{}: sweep ({}) of {} points x {} replications, seed {}, {:.2} s",
        scenario.name,
        out.design,
        out.points.len(),
        config.replications,
        config.seed,
        out.wall_seconds
    )?;
    let mut scratch = Vec::new();
    writeln!(
        stdout,
        "  {}  {:>28}  {:>28}",
        out.keys
            .iter()
            .map(|k| format!("{k:>24}"))
            .collect::<Vec<_>>()
            .join(" "),
        "RTB index [95% CI]",
        "final protection [95% CI]"
    )?;
    for (values, records) in out.points.iter().zip(&out.records) {
        let cell = |m: &str, scratch: &mut Vec<f64>| -> String {
            let v: Vec<f64> = records.iter().map(|r| output::sweep_metric(r, m)).collect();
            summarize(&v, scratch)
                .map(|s| format!("{:.4} [{:.4}, {:.4}]", s.mean, s.ci_low, s.ci_high))
                .unwrap_or_default()
        };
        writeln!(
            stdout,
            "  {}  {:>28}  {:>28}",
            values
                .iter()
                .map(|v| format!("{v:>24.4}"))
                .collect::<Vec<_>>()
                .join(" "),
            cell("rtb", &mut scratch),
            cell("protection_mean_end", &mut scratch)
        )?;
    }
    writeln!(
        stdout,
        "results in {} (sweep.csv, replications.csv)",
        dir.display()
    )?;
    Ok(())
}

fn print_report(
    scenario: &Scenario,
    headline: &forumsim::experiment::Headline,
    dir: &Path,
    seed: u64,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let reps = headline.replications;
    writeln!(
        out,
        "{}: {} replications, {}-{}, seed {}, {:.2} s ({:.0} replications/s)",
        scenario.name,
        reps,
        headline.years.0,
        headline.years.1,
        seed,
        headline.wall_seconds,
        reps as f64 / headline.wall_seconds.max(1e-9)
    )?;
    match &scenario.posterior {
        Some(d) => writeln!(
            out,
            "  over the posterior {} ({} parameter sets): each replication draws one; the spread across replications covers noise and parameters, the 95% CI the precision of the mean",
            d.source,
            d.thetas.len()
        )?,
        None => writeln!(
            out,
            "  at the scenario's point values: the spread across replications is noise only"
        )?,
    }
    for (label, summary) in [
        ("RTB index", headline.rtb),
        ("RTB index, migrant-weighted", headline.rtb_migrant_weighted),
    ] {
        if let Some(s) = summary {
            writeln!(
                out,
                "  {label:<34} {:>8.4}  95% CI [{:.4}, {:.4}]",
                s.mean, s.ci_low, s.ci_high
            )?;
        }
    }
    writeln!(out, "  mean protection (start -> end)")?;
    for (name, summaries) in DOMAINS.iter().zip(&headline.domains) {
        if let (Some(a), Some(b)) = summaries {
            writeln!(out, "    {name:<32} {:>8.3} -> {:.3}", a.mean, b.mean)?;
        }
    }
    if !scenario.treaties.is_empty() {
        writeln!(out, "  parties at the end (mean)")?;
        for (t, s) in scenario.treaties.iter().zip(&headline.parties) {
            if let Some(s) = s {
                writeln!(out, "    {:<32} {:>8.1}", t.name, s.mean)?;
            }
        }
    }
    if !scenario.forums.is_empty() {
        writeln!(out, "  attendance per meeting (mean)")?;
        for (f, s) in scenario.forums.iter().zip(&headline.attendance) {
            if let Some(s) = s {
                writeln!(out, "    {:<32} {:>8.1}", f.name, s.mean)?;
            }
        }
    }
    writeln!(out, "results in {}", dir.display())?;
    Ok(())
}

fn plot(dir: &Path) -> anyhow::Result<()> {
    let files = forumsim::chart::plot(dir)?;
    let mut out = std::io::stdout().lock();
    let report = dir.join("report.html");
    if report.exists() {
        writeln!(
            out,
            "drew {} chart files and {}",
            files.len(),
            report.display()
        )?;
    } else {
        writeln!(
            out,
            "drew {} chart files into {} (this kind of result has no report.html)",
            files.len(),
            dir.join("charts").display()
        )?;
    }
    Ok(())
}

fn states(
    path: Option<&Path>,
    reps: u64,
    seed: Option<u64>,
    threads: Option<u64>,
    out: Option<PathBuf>,
    force: bool,
) -> anyhow::Result<()> {
    let scenario = load(path)?;
    let facts = scenario.facts()?;
    let dir = out.unwrap_or_else(|| Path::new("output").join(format!("{}-states", scenario.name)));
    output::check_destination(&dir, force)?;
    let seed = seed.unwrap_or(scenario.run.seed);
    let values = forumsim::experiment::state_years::state_years(
        &scenario,
        &facts,
        reps,
        seed,
        threads_or_all(threads),
    )?;
    output::write_state_years(&dir, force, &scenario, &facts, &values, reps, seed)?;
    println!("results in {}", dir.join("state_years.csv").display());
    Ok(())
}

fn voices(path: Option<&Path>, forum: Option<&str>, top: usize, csv: bool) -> anyhow::Result<()> {
    use forumsim::experiment::voices;
    let scenario = load(path)?;
    let facts = scenario.facts()?;
    let mut rows = voices::voice_shares(&scenario, &facts, scenario.run.seed);
    if let Some(name) = forum {
        rows.retain(|r| r.forum == name);
        if rows.is_empty() {
            let names: Vec<&str> = scenario.forums.iter().map(|f| f.name.as_str()).collect();
            return Err(Error::Invalid {
                file: scenario.source.clone().into(),
                key: "--forum".into(),
                message: format!(
                    "no forum {name:?} with members in this scenario; expected one of: {}",
                    names.join(", ")
                ),
            }
            .into());
        }
    }
    let text = if csv {
        voices::to_csv(&rows)
    } else {
        voices::to_table(&rows, top)
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

fn check(path: &Path) -> anyhow::Result<()> {
    let scenario = open(path)?;
    warn(&scenario);
    let mut out = std::io::stdout().lock();
    writeln!(out, "# {} is valid", path.display())?;
    writeln!(out, "# scenario hash {}", scenario.content_hash())?;
    write!(out, "{}", scenario.resolved_toml())?;
    Ok(())
}

fn params() -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "[run]  start_year = 2007, end_year = 2056, replications = 200, seed = 20160209"
    )?;
    writeln!(out, "[world] kind = \"un193\" | \"synthetic\"")?;
    for (section, specs, about) in SECTIONS {
        writeln!(out, "\n[{section}]  {about}")?;
        writeln!(
            out,
            "  {:<26} {:>10}  {:<18} {:<24} meaning",
            "key", "default", "range", "unit"
        )?;
        for s in *specs {
            writeln!(
                out,
                "  {:<26} {:>10}  {:<18} {:<24} {}",
                s.name,
                s.default,
                format!("[{}, {}]", s.min, s.max),
                s.unit,
                s.meaning
            )?;
        }
    }
    writeln!(
        out,
        "\nforums.NAME also takes: enabled, description, members, observers, chairs, skip_years (years without a meeting, e.g. [2011, 2013]), timeline ([[forums.NAME.timeline]] year = Y, <field> = value)"
    )?;
    writeln!(
        out,
        "treaties.NAME also takes: enabled, description, members (fixed membership, regional law), eligible (who may ratify, a regional convention), trust_forum, parties_data, timeline"
    )?;
    writeln!(
        out,
        "members/observers: \"all\", \"none\", [\"ISO3\", ...], or {{ region = ..., income = ..., data = \"FORUM\" }}"
    )?;
    writeln!(
        out,
        "[[events]]: kind = \"crisis\" (year, region, magnitude) | \"pressure\" (year, members, shift) | \"firewall\" (year, members, level) | \"legal_channels\" (year, members, level: channels held at least this open) | \"enforcement\" (year, members, level: enforcement held at least this high)"
    )?;
    Ok(())
}

fn list(dir: Option<&Path>) -> anyhow::Result<()> {
    let rows = match dir {
        Some(d) => forumsim::command::list_folder(d)?,
        None => forumsim::command::list_builtin()?,
    };
    let mut out = std::io::stdout().lock();
    if dir.is_none() {
        writeln!(
            out,
            "# the built-in scenarios (run one by name: forumsim run populist_wave; a file of that path wins)"
        )?;
    }
    for (stem, line) in rows {
        writeln!(out, "{stem:<28} {line}")?;
    }
    Ok(())
}

fn new_scenario(name: &str, force: bool) -> anyhow::Result<()> {
    let file = name.trim_end_matches(".toml");
    let path = PathBuf::from(format!("{file}.toml"));
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    forumsim::command::write_new_scenario(&path, &stem, force)?;
    println!(
        "wrote {} (a variant of the status quo; edit it, then: forumsim check {})",
        path.display(),
        path.display()
    );
    Ok(())
}
