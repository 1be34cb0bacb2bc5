//! The `forumsim` command: parses arguments, calls the library, prints.

mod cli;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use cli::{Cli, Command, RunArgs};
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
    match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::Run(args) => run(args),
        Command::Check { scenario } => check(&scenario),
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

fn run(args: RunArgs) -> anyhow::Result<()> {
    let scenario = load(args.scenario.as_deref())?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| output::default_dir(&scenario));
    output::check_destination(&dir, args.force)?;
    let threads = args.threads.map(|t| t as usize).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let mut config = RunConfig::from_scenario(&scenario, threads);
    if let Some(r) = args.reps {
        config.replications = r;
    }
    if let Some(s) = args.seed {
        config.seed = s;
    }
    let facts = scenario.facts()?;
    let bar = if args.quiet
        || !std::io::stderr().is_terminal() && std::env::var_os("FORUMSIM_PROGRESS").is_none()
    {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(config.replications);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} replications, {per_sec}, {eta} left",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(scenario.name.clone());
        bar
    };
    let result = forumsim::run(&scenario, &facts, &config, &mut |done| {
        bar.set_position(done)
    })
    .with_context(|| format!("running scenario {}", scenario.name))?;
    bar.finish_and_clear();
    output::write_run(&dir, args.force, &scenario, &facts, &result, config.seed)?;
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
