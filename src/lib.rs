//! forumsim: an agent-based simulator of global migration governance.
//!
//! States under domestic political pressure choose how far to protect migrants' rights, how hard
//! to enforce and how open to keep legal channels, while cooperating in informal forums (the GFMD,
//! Regional Consultative Processes) and binding treaties. The simulator asks how far protection
//! drifts toward a race to the bottom, and which forum design stops it.
//!
//! The data path is: [`scenario::Scenario`] (a validated TOML file) → [`world::World`] (one
//! replication's States) → [`dynamics::step`] (one year) → [`experiment::observe`] (metrics) →
//! [`stats`] → [`output`] (CSV files). [`experiment::run`] runs seeded replications in parallel.
//! The model is described in `docs/ODD.md`; the code map is in `ARCHITECTURE.md`.

pub mod chart;
pub mod command;
pub mod dynamics;
pub mod error;
pub mod experiment;
pub mod names;
pub mod output;
pub mod scenario;
pub mod stats;
pub mod world;

pub use error::{Error, Result};
pub use experiment::{RunConfig, RunOutput, run, simulate};
pub use scenario::Scenario;
pub use world::{Facts, World};
