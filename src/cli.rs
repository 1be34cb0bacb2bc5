//! Command-line arguments (clap) and their validation into run settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use forumsim::scenario::MAX_REPLICATIONS;

/// forumsim: how far does migrants' rights protection drift toward a race to the bottom when
/// States cooperate in informal forums or binding regimes, and which forum design stops it?
#[derive(Debug, Parser)]
#[command(name = "forumsim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario's replications and write summary.csv, replications.csv, states.csv and
    /// manifest.json (without a file: the built-in status quo)
    Run(RunArgs),
    /// Run scenarios under one master seed (common random numbers) and write paired differences
    /// against the first to comparison.csv (without files: the status quo against the seed's
    /// proposals; this is also what `forumsim` alone does)
    Compare(CompareArgs),
    /// Run a scenario over 2007-2016 and compare it with the calibration targets
    /// (calibration.csv)
    Calibrate(CalibrateArgs),
    /// Global sensitivity analysis of the RTB index and final protection: Sobol indices
    /// (first-order and total, bootstrap 95% CIs) or Morris mu*, sigma
    Sensitivity(SensitivityArgs),
    /// How robust a comparison is to the behavioural parameters: every scenario at every point of
    /// a Latin hypercube (or a Saltelli design) over uncertain parameters, with the same seeds
    /// everywhere; the share of the parameter space in which each proposal lowers the RTB index,
    /// and with --method sobol the parameters that decide each effect (robustness.csv,
    /// robustness_summary.csv)
    Robustness(RobustnessArgs),
    /// Why a variant differs from a base: the paired effect on the RTB index broken into the
    /// model's channels (deflection, practice exchange, joint statement and follow-up,
    /// discourse, transfers, treaty floors, responsibility sharing, bilateral deals, firewalls),
    /// each switched off in both scenarios under the same seeds, interactions shared by Shapley
    /// values (explain.csv)
    Explain(ExplainArgs),
    /// Validate a scenario file and print its fully resolved parameters
    Check {
        /// Scenario file (TOML)
        scenario: PathBuf,
    },
    /// Redraw the charts and report.html of a finished run or comparison from its CSV files
    /// (without running the model)
    Plot {
        /// Result folder (of `run` or `compare`)
        dir: PathBuf,
    },
    /// Merge the shard folders of a run (written with --shard i/n) into one result, byte-identical
    /// to the same run in one process
    Merge {
        /// Shard folders, in any order
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Result folder [default: output/<scenario name>]
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Overwrite an existing result folder
        #[arg(long)]
        force: bool,
        /// Do not draw charts and report.html
        #[arg(long)]
        no_charts: bool,
    },
    /// Reproduce one replication of a finished run alone, with its per-year trace
    /// (rerun-<K>.csv in the run's folder)
    Rerun {
        /// Result folder of `forumsim run`
        dir: PathBuf,
        /// Replication index
        #[arg(long, value_name = "K")]
        replication: u64,
    },
    /// Write each State's path year by year, averaged over replications (state_years.csv:
    /// protection, enforcement, legal channels, pressure, recognition rate, labour arrivals
    /// under agreements, immigrant, refugee and irregular stocks), to set beside the record
    States {
        /// Scenario file (TOML); without it, the built-in default (the status quo)
        scenario: Option<PathBuf>,
        /// Replications
        #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..1_000_000))]
        reps: u64,
        /// Master seed [default: the scenario's run.seed]
        #[arg(long, value_name = "S")]
        seed: Option<u64>,
        /// Worker threads; results are identical for any number [default: all cores]
        #[arg(long, value_name = "T", value_parser = clap::value_parser!(u64).range(1..1025))]
        threads: Option<u64>,
        /// Result folder [default: output/<scenario name>-states]
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Overwrite an existing result folder
        #[arg(long)]
        force: bool,
    },
    /// Print who dominates each forum: every member's share of its voice (destination status
    /// times income, to the forum's power exponent, plus the chairs' share) in the start year
    Voices {
        /// Scenario file (TOML); without it, the built-in default (the status quo)
        scenario: Option<PathBuf>,
        /// Only this forum
        #[arg(long, value_name = "NAME")]
        forum: Option<String>,
        /// Largest voices shown per forum
        #[arg(long, value_name = "K", default_value_t = 5)]
        top: usize,
        /// Print every member as CSV (forum,iso3,name,share,chair,destination) instead
        #[arg(long)]
        csv: bool,
    },
    /// List every parameter with its default, range, unit and meaning
    Params,
    /// List the scenarios with their one-line descriptions: the built-in ones, or those of a
    /// folder
    List {
        /// Folder to list [default: the scenarios built into the binary]
        dir: Option<PathBuf>,
    },
    /// Write NAME.toml, a commented variant of the status quo to start from
    New {
        /// Name of the scenario (and of its file, NAME.toml, in this folder)
        name: String,
        /// Replace an existing file
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// Scenario file (TOML); without it, the built-in default (the status quo)
    pub scenario: Option<PathBuf>,
    /// Number of replications (overrides the scenario's run.replications)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_REPLICATIONS))]
    pub reps: Option<u64>,
    /// Master seed (overrides the scenario's run.seed)
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Worker threads; results are identical for any number [default: all cores]
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u64).range(1..1025))]
    pub threads: Option<u64>,
    /// Result folder [default: output/<scenario name>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Set a numeric parameter by key path, e.g. --set forums.GFMD.memory=0.8 (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Sweep a parameter, e.g. --sweep flows.beta_far=1:3:5 (from:to:steps; repeat for a grid;
    /// steps is ignored by --design lhs). Replaces the scenario's [sweep]
    #[arg(long = "sweep", value_name = "KEY=FROM:TO[:STEPS]")]
    pub sweep: Vec<String>,
    /// Design of a sweep: grid (every combination) or lhs (Latin hypercube, with --samples)
    #[arg(long, value_name = "DESIGN", default_value = "grid")]
    pub design: String,
    /// Number of points of a Latin-hypercube sweep
    #[arg(long, value_name = "N")]
    pub samples: Option<usize>,
    /// Run only shard i of n (0-based) of the run's (design point, replication) tasks and write
    /// a shard folder; combine the folders with `forumsim merge`
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Continue an interrupted run from its last checkpoint (the replications already done are
    /// not run again; the result is byte-identical to an uninterrupted run)
    #[arg(long)]
    pub resume: bool,
    /// Report progress as one JSON line per chunk on stderr (for schedulers and notebooks)
    /// instead of a progress bar
    #[arg(long)]
    pub progress_json: bool,
    /// Testing hook: report replication K as broken, to exercise failures.csv
    #[arg(long, value_name = "K", hide = true)]
    pub inject_failure: Option<u64>,
    #[command(flatten)]
    pub posterior: PosteriorArgs,
    /// Overwrite an existing result folder
    #[arg(long)]
    pub force: bool,
    /// No progress bar
    #[arg(long)]
    pub quiet: bool,
    /// Do not draw charts and report.html
    #[arg(long)]
    pub no_charts: bool,
}

#[derive(Debug, Args, Default)]
pub struct CompareArgs {
    /// Scenario files (TOML); the first is the baseline. Without files: the built-in status quo
    /// against each of the seed's proposals
    pub scenarios: Vec<PathBuf>,
    /// Replications per scenario [default: the first scenario's run.replications]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_REPLICATIONS))]
    pub reps: Option<u64>,
    /// Master seed shared by all scenarios [default: the first scenario's run.seed]
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Worker threads; results are identical for any number [default: all cores]
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u64).range(1..1025))]
    pub threads: Option<u64>,
    /// Result folder [default: output/comparison]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overwrite an existing result folder
    #[arg(long)]
    pub force: bool,
    /// No progress bar
    #[arg(long)]
    pub quiet: bool,
    /// Do not draw charts and report.html
    #[arg(long)]
    pub no_charts: bool,
    #[command(flatten)]
    pub posterior: PosteriorArgs,
}

/// Which parameter values the replications run.
#[derive(Debug, Args, Default, Clone)]
pub struct PosteriorArgs {
    /// Run over a posterior (posterior.csv of `calibrate --posterior`): each replication draws
    /// one parameter set by weight, the same set in every scenario of a comparison, so intervals
    /// cover parameter uncertainty as well as replication noise [default: the scenario's
    /// `[calibration] posterior`, if it names one]
    #[arg(long, value_name = "FILE", conflicts_with = "no_posterior")]
    pub posterior: Option<PathBuf>,
    /// Run at the scenarios' point values, ignoring any `[calibration] posterior`: intervals
    /// then cover replication noise only
    #[arg(long)]
    pub no_posterior: bool,
}

#[derive(Debug, Args, Default)]
pub struct CalibrateArgs {
    /// Scenario file (TOML) [default: the built-in status quo]
    pub scenario: Option<PathBuf>,
    /// Replications
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=MAX_REPLICATIONS))]
    pub reps: u64,
    /// Master seed [default: the scenario's run.seed]
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Worker threads [default: all cores]
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u64).range(1..1025))]
    pub threads: Option<u64>,
    /// Result folder [default: output/<scenario name>-calibration, or -posterior]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overwrite an existing result folder
    #[arg(long)]
    pub force: bool,
    /// Fit the uncertain parameters ([calibration.priors] of the scenario, or the documented
    /// default set) to every target at once by ABC-SMC, and write posterior.csv, the diagnostics
    /// per generation and a posterior predictive check
    #[arg(long)]
    pub posterior: bool,
    /// Without --posterior: check the targets at the scenario's point values, ignoring its
    /// `[calibration] posterior` [default: over that posterior, a posterior predictive check]
    #[arg(long, conflicts_with = "posterior")]
    pub no_posterior: bool,
    /// With --posterior: particles of the population
    #[arg(long, value_name = "N", default_value_t = 600, value_parser = clap::value_parser!(u64).range(10..100_000))]
    pub particles: u64,
    /// With --posterior: most generations
    #[arg(long, value_name = "G", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..1000))]
    pub generations: u64,
    /// With --posterior: replications averaged per evaluation of a parameter set
    #[arg(long, value_name = "R", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..1000))]
    pub abc_reps: u64,
}

#[derive(Debug, Args)]
pub struct SensitivityArgs {
    /// Scenario file (TOML)
    pub scenario: PathBuf,
    /// Parameters by key path, comma-separated, each optionally with its range:
    /// `forums.GFMD.memory=0:1,flows.beta_far`. Without a range: half to one and a half times the
    /// scenario's value, within the parameter's valid range
    #[arg(long, value_name = "KEYS", required = true)]
    pub params: String,
    /// sobol or morris
    #[arg(long, default_value = "sobol")]
    pub method: String,
    /// Base sample size N (Sobol: N x (k + 2) model runs) or number of Morris trajectories
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub samples: usize,
    /// Replications averaged per model run (the same seeds at every point)
    #[arg(long, value_name = "R", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=MAX_REPLICATIONS))]
    pub reps: u64,
    /// Master seed [default: the scenario's run.seed]
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Worker threads [default: all cores]
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u64).range(1..1025))]
    pub threads: Option<u64>,
    /// Result folder [default: output/<scenario name>-sensitivity]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overwrite an existing result folder
    #[arg(long)]
    pub force: bool,
    /// No progress bar
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args, Default)]
pub struct ExplainArgs {
    /// The base scenario (TOML)
    pub base: PathBuf,
    /// The variant whose effect is explained (TOML)
    pub variant: PathBuf,
    /// shapley (every combination of channels: 512 paired runs per replication) or
    /// one-at-a-time (each channel off alone; interactions in a remainder)
    #[arg(long, default_value = "shapley")]
    pub method: String,
    /// Paired replications of every combination
    #[arg(long, value_name = "R", default_value_t = 10, value_parser = clap::value_parser!(u64).range(2..100_000))]
    pub reps: u64,
    /// Master seed [default: the base's run.seed]
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Worker threads; results are identical for any number [default: all cores]
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u64).range(1..1025))]
    pub threads: Option<u64>,
    /// Result folder [default: output/explain-<variant>-vs-<base>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overwrite an existing result folder
    #[arg(long)]
    pub force: bool,
    /// No progress bar
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args, Default)]
pub struct RobustnessArgs {
    /// Scenario files (TOML); the first is the baseline. Without files: the built-in status quo
    /// against each of the seed's proposals
    pub scenarios: Vec<PathBuf>,
    /// Parameters by key path, comma-separated, each optionally with its range
    /// (`policy.noise=0.02:0.5,flows.beta_far`); a key without a range takes its documented
    /// default range (docs/ODD.md, section 7.2) or half to one and a half times its value
    /// [default: the twelve behavioural parameters of docs/ODD.md, section 7.2]
    #[arg(long, value_name = "KEYS")]
    pub params: Option<String>,
    /// lhs (share of the parameter space), sobol (also the Sobol indices of each effect) or grid
    /// (every combination of evenly spaced values)
    #[arg(long, default_value = "lhs")]
    pub method: String,
    /// Points of the Latin hypercube, the Saltelli base size (samples x (k + 2) points), or the
    /// values per parameter of a grid
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u64).range(2..100_000))]
    pub samples: u64,
    /// Paired replications per point and scenario (the same seeds at every point)
    #[arg(long, value_name = "R", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..1_000_000))]
    pub reps: u64,
    /// Master seed of the design and the replications [default: the first scenario's run.seed]
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Worker threads; results are identical for any number [default: all cores]
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u64).range(1..1025))]
    pub threads: Option<u64>,
    /// Result folder [default: output/robustness]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overwrite an existing result folder
    #[arg(long)]
    pub force: bool,
    /// No progress bar
    #[arg(long)]
    pub quiet: bool,
}
