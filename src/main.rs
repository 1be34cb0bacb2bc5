//! The `forumsim` command: parses arguments, calls the library, prints.

mod cli;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use cli::{CalibrateArgs, Cli, Command, CompareArgs, RunArgs};
use forumsim::experiment::RunConfig;
use forumsim::scenario::params::SECTIONS;
use forumsim::stats::summarize;
use forumsim::world::DOMAINS;
use forumsim::{Error, Scenario, output};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if let Some(io) = err.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("forumsim: {err:#}");
            let usage = err
                .chain()
                .any(|e| e.downcast_ref::<Error>().is_some_and(Error::is_usage));
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli
        .command
        .unwrap_or(Command::Compare(CompareArgs::default()))
    {
        Command::Run(args) => run(args),
        Command::Compare(args) => compare(args),
        Command::Calibrate(args) => calibrate(args),
        Command::Check { scenario } => check(&scenario),
        Command::Plot { dir } => plot(&dir),
        Command::Params => params(),
        Command::List { dir } => list(&dir),
    }
}

fn load(path: Option<&Path>) -> anyhow::Result<Scenario> {
    Ok(match path {
        Some(p) => Scenario::load(p)?,
        None => Scenario::builtin_default()?,
    })
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

fn compare(args: CompareArgs) -> anyhow::Result<()> {
    let scenarios: Vec<Scenario> = if args.scenarios.is_empty() {
        let mut v = vec![Scenario::builtin_default()?];
        for name in forumsim::scenario::library::PROPOSALS {
            v.push(Scenario::builtin(name)?);
        }
        v
    } else {
        args.scenarios
            .iter()
            .map(|p| Scenario::load(p))
            .collect::<Result<_, _>>()?
    };
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join("comparison"));
    output::check_destination(&dir, args.force)?;
    let first = &scenarios[0];
    let mut config = RunConfig::from_scenario(first, threads_or_all(args.threads));
    if let Some(r) = args.reps {
        config.replications = r;
    }
    if let Some(s) = args.seed {
        config.seed = s;
    }
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
        rows.extend(forumsim::experiment::compare::paired(
            (first, &runs[0].1),
            (scenario, &runs[k].1),
        ));
    }
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
        config.seed,
        !args.no_charts,
    )?;
    print_comparison(&scenarios, &runs, &rows, &config, &dir)
}

fn print_comparison(
    scenarios: &[Scenario],
    runs: &[(forumsim::Facts, forumsim::RunOutput)],
    rows: &[forumsim::experiment::compare::PairedRow],
    config: &RunConfig,
    dir: &Path,
) -> anyhow::Result<()> {
    let first = &scenarios[0];
    let mut out = std::io::stdout().lock();
    let mut scratch = Vec::new();
    let rtb: Vec<f64> = runs[0].1.records.iter().map(|r| r.rtb).collect();
    if let Some(s) = summarize(&rtb, &mut scratch) {
        writeln!(
            out,
            "{}: RTB index {:.4} [95% CI {:.4}, {:.4}] over {}-{}, {} replications, seed {}",
            first.name,
            s.mean,
            s.ci_low,
            s.ci_high,
            first.run.start_year,
            first.run.end_year,
            config.replications,
            config.seed
        )?;
    }
    writeln!(
        out,
        "paired differences against {} (same crises and elections in each replication), mean [95% CI]:",
        first.name
    )?;
    writeln!(
        out,
        "  {:<24} {:>28} {:>28} {:>28}",
        "scenario", "RTB index", "final protection", "irregular share at end"
    )?;
    let cell = |r: Option<&forumsim::experiment::compare::PairedRow>| -> String {
        r.map(|r| format!("{:+.4} [{:+.4}, {:+.4}]", r.difference, r.ci_low, r.ci_high))
            .unwrap_or_default()
    };
    for scenario in scenarios.iter().skip(1) {
        let find = |m: &str| {
            rows.iter()
                .find(|r| r.scenario == scenario.name && r.metric == m)
        };
        writeln!(
            out,
            "  {:<24} {:>28} {:>28} {:>28}",
            scenario.name,
            cell(find("rtb")),
            cell(find("protection_mean_end")),
            cell(find("irregular_share_end"))
        )?;
    }
    writeln!(
        out,
        "results in {} (comparison.csv, and one result folder per scenario)",
        dir.display()
    )?;
    Ok(())
}

fn calibrate(args: CalibrateArgs) -> anyhow::Result<()> {
    let scenario = load(args.scenario.as_deref())?;
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
    writeln!(
        out,
        "{}: {} replications, {}-2016, seed {}",
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
    let scenario = load(args.scenario.as_deref())?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| output::default_dir(&scenario));
    output::check_destination(&dir, args.force)?;
    let mut config = RunConfig::from_scenario(&scenario, threads_or_all(args.threads));
    if let Some(r) = args.reps {
        config.replications = r;
    }
    if let Some(s) = args.seed {
        config.seed = s;
    }
    let facts = scenario.facts()?;
    let bar = progress_bar(args.quiet, config.replications, &scenario.name);
    let result = forumsim::run(&scenario, &facts, &config, &mut |done| {
        bar.set_position(done)
    })
    .with_context(|| format!("running scenario {}", scenario.name))?;
    bar.finish_and_clear();
    output::write_run(
        &dir,
        args.force,
        &scenario,
        &facts,
        &result,
        config.seed,
        !args.no_charts,
    )?;
    print_report(&scenario, &result, &dir, config.seed)?;
    Ok(())
}

fn print_report(
    scenario: &Scenario,
    result: &forumsim::RunOutput,
    dir: &Path,
    seed: u64,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let reps = result.records.len();
    let mut scratch = Vec::new();
    let column = |f: &dyn Fn(&forumsim::experiment::ReplicationRecord) -> f64| -> Vec<f64> {
        result.records.iter().map(f).collect()
    };
    writeln!(
        out,
        "{}: {} replications, {}-{}, seed {}, {:.2} s ({:.0} replications/s)",
        scenario.name,
        reps,
        result.years.first().copied().unwrap_or_default(),
        result.years.last().copied().unwrap_or_default(),
        seed,
        result.wall_seconds,
        reps as f64 / result.wall_seconds.max(1e-9)
    )?;
    for (label, values) in [
        ("RTB index", column(&|r| r.rtb)),
        (
            "RTB index, migrant-weighted",
            column(&|r| r.rtb_migrant_weighted),
        ),
    ] {
        if let Some(s) = summarize(&values, &mut scratch) {
            writeln!(
                out,
                "  {label:<34} {:>8.4}  95% CI [{:.4}, {:.4}]",
                s.mean, s.ci_low, s.ci_high
            )?;
        }
    }
    writeln!(out, "  mean protection (start -> end)")?;
    for (d, name) in DOMAINS.iter().enumerate() {
        let start = column(&|r| r.start.domains[d]);
        let end = column(&|r| r.end.domains[d]);
        if let (Some(a), Some(b)) = (
            summarize(&start, &mut scratch),
            summarize(&end, &mut scratch),
        ) {
            writeln!(out, "    {name:<32} {:>8.3} -> {:.3}", a.mean, b.mean)?;
        }
    }
    if !scenario.treaties.is_empty() {
        writeln!(out, "  parties at the end (mean)")?;
        for (k, t) in scenario.treaties.iter().enumerate() {
            if let Some(s) = summarize(&column(&|r| r.parties[k]), &mut scratch) {
                writeln!(out, "    {:<32} {:>8.1}", t.name, s.mean)?;
            }
        }
    }
    if !scenario.forums.is_empty() {
        writeln!(out, "  attendance per meeting (mean)")?;
        for (k, f) in scenario.forums.iter().enumerate() {
            if let Some(s) = summarize(&column(&|r| r.attendance[k]), &mut scratch) {
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
    writeln!(
        out,
        "drew {} chart files and {}",
        files.len(),
        dir.join("report.html").display()
    )?;
    Ok(())
}

fn check(path: &Path) -> anyhow::Result<()> {
    let scenario = Scenario::load(path)?;
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
        "\nforums.NAME also takes: enabled, description, members, observers, timeline ([[forums.NAME.timeline]] year = Y, <field> = value)"
    )?;
    writeln!(
        out,
        "treaties.NAME also takes: enabled, description, members (fixed membership, regional law), trust_forum"
    )?;
    writeln!(
        out,
        "members/observers: \"all\", \"none\", [\"ISO3\", ...], or {{ region = ..., income = ..., data = \"FORUM\" }}"
    )?;
    writeln!(
        out,
        "[[events]]: kind = \"crisis\" (year, region, magnitude) | \"pressure\" (year, members, shift) | \"firewall\" (year, members, level)"
    )?;
    Ok(())
}

fn list(dir: &Path) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|source| Error::Read {
            file: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    entries.sort();
    let mut out = std::io::stdout().lock();
    for path in entries {
        let line = match Scenario::load(&path) {
            Ok(s) => s.description.lines().next().unwrap_or("").to_string(),
            Err(e) => format!("(invalid: {e})"),
        };
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        writeln!(out, "{stem:<28} {line}")?;
    }
    Ok(())
}
