//! Scenarios: TOML files in, one validated [`Scenario`] out.
//!
//! A file is checked on its own first (unknown keys, wrong types, out-of-range values, each named
//! by file and key path), then merged over the file it `extends`, then checked as a whole against
//! the facts of its world (ISO3 codes, region names, forum tables). Only this module knows TOML.
//! After loading, a `Scenario` is never invalid.

mod changes;
#[cfg(test)]
mod fuzz;
pub mod library;
pub mod params;
mod parse;
pub mod posterior;

use std::path::{Path, PathBuf};

pub use changes::PolicyStart;
pub use params::{
    AdmissionParams, BilateralParams, FlowParams, ForumDesign, ForumDynamics, Kind,
    ObservationParams, ParamSpec, PolicyParams, PressureParams, TreatyDesign, TreatyDynamics,
    WorldParams,
};

use crate::error::{Error, Result};
use crate::world::facts::{Facts, IncomeGroup, Role};

/// The most replications a run may have, in a file (`run.replications`) and on the command
/// line (`--reps`): ten million, about 14 hours on two cores for the status quo.
pub const MAX_REPLICATIONS: u64 = 10_000_000;

/// Which facts the world is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorldKind {
    /// The 193 UN member States of the embedded data.
    Un193,
    /// A generated world of `n_states` States in `n_regions` regions.
    Synthetic,
}

/// Run settings: horizon, replications, seed.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    pub start_year: i32,
    pub end_year: i32,
    pub replications: u64,
    pub seed: u64,
}

/// A set of States named by list or rule; rules given together intersect.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selector {
    pub all: bool,
    pub iso3: Option<Vec<String>>,
    pub regions: Option<Vec<String>>,
    pub income: Option<Vec<IncomeGroup>>,
    /// A forum of the membership table (`data/forums.csv`).
    pub data: Option<String>,
}

impl Selector {
    pub fn none() -> Selector {
        Selector::default()
    }

    /// Whether the selector names nobody by construction.
    pub fn is_empty_rule(&self) -> bool {
        !self.all
            && self.iso3.is_none()
            && self.regions.is_none()
            && self.income.is_none()
            && self.data.is_none()
    }

    /// The States selected, in index order. With `data`, `role` picks members or observers.
    pub fn resolve(&self, facts: &Facts, role: Role) -> Vec<u32> {
        if self.is_empty_rule() {
            return Vec::new();
        }
        // Each rule marks the States it names with a bit of its own, from what it names (codes,
        // a region's States and a forum's table through the facts' lookups), and the States with
        // the bit of every rule given are selected: no pass over the States per rule and State.
        // This runs for every forum and treaty of every replication.
        const ISO3: u8 = 1;
        const REGION: u8 = 2;
        const INCOME: u8 = 4;
        const DATA: u8 = 8;
        let mut marks = vec![0u8; facts.n_states()];
        let mut required = 0;
        if let Some(codes) = &self.iso3 {
            required |= ISO3;
            for i in codes.iter().filter_map(|c| facts.state_of_code(c)) {
                marks[i as usize] |= ISO3;
            }
        }
        if let Some(regions) = &self.regions {
            required |= REGION;
            for &i in regions.iter().flat_map(|r| facts.states_in_region(r)) {
                marks[i as usize] |= REGION;
            }
        }
        if let Some(groups) = &self.income {
            required |= INCOME;
            for (mark, group) in marks.iter_mut().zip(&facts.income_group) {
                if groups.contains(group) {
                    *mark |= INCOME;
                }
            }
        }
        if let Some(name) = &self.data {
            required |= DATA;
            for &(i, r) in facts.forum_roles.get(name).into_iter().flatten() {
                if r == role {
                    marks[i as usize] |= DATA;
                }
            }
        }
        (0..facts.n_states() as u32)
            .filter(|&i| marks[i as usize] == required)
            .collect()
    }
}

/// `KEY@YEAR` split into the key and the year (`None` for a plain key).
fn split_period(key: &str) -> std::result::Result<Option<(&str, i32)>, String> {
    match key.split_once('@') {
        None => Ok(None),
        Some((base, year)) => year
            .trim()
            .parse::<i32>()
            .map(|y| Some((base, y)))
            .map_err(|_| format!("expected KEY@YEAR with a whole year, found {year:?}")),
    }
}

/// The dot-separated parts of a key path, for a slice pattern to match (`&parts[..n]`), without
/// allocating: a key path has at most three parts, and a longer one fills all four slots and
/// matches no pattern.
fn key_parts(key: &str) -> ([&str; 4], usize) {
    let mut parts = [""; 4];
    let mut n = 0;
    for (slot, part) in parts.iter_mut().zip(key.split('.')) {
        *slot = part;
        n += 1;
    }
    (parts, n)
}

fn not_by_year() -> String {
    "only forums.NAME.KEY, treaties.NAME.KEY and bilateral.KEY change by year (a timeline): set this key without @YEAR".into()
}

/// A change of a forum's design from a given year on.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineChange {
    pub year: i32,
    pub field: &'static str,
    pub value: f64,
}

/// A forum: global, regional, or the conference of a treaty.
#[derive(Debug, Clone, PartialEq)]
pub struct ForumSpec {
    pub name: String,
    pub description: String,
    pub design: ForumDesign,
    pub members: Selector,
    pub observers: Selector,
    /// Members who chair the forum (agenda-setting voice; `forum_dynamics.chair_voice`).
    pub chairs: Selector,
    /// Sorted by year, in file order within a year.
    pub timeline: Vec<TimelineChange>,
    /// Years in which the forum does not meet although its interval says it would.
    pub skip_years: Vec<i32>,
}

/// A treaty: floors per domain that parties commit to.
#[derive(Debug, Clone, PartialEq)]
pub struct TreatySpec {
    pub name: String,
    pub description: String,
    pub design: TreatyDesign,
    /// Fixed membership from the opening year (regional law); `None` means ratification.
    pub members: Option<Selector>,
    /// The forum whose trust counts in the ratification decision.
    pub trust_forum: Option<String>,
    /// Who may ratify (a regional convention); `None` means every State.
    pub eligible: Option<Selector>,
    /// Treaties of `data/treaty_parties_to_2007.csv` whose parties (of any of them) are this
    /// treaty's parties before the start year, as far as the table goes (to 2007); empty: the
    /// parties come from the ratification mechanism run from the opening year.
    pub parties_data: Vec<String>,
    /// Design changes by year, sorted by year.
    pub timeline: Vec<TimelineChange>,
}

/// An exogenous event of the scenario's timeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A displacement crisis in an origin region (multiplier on outflows, decays geometrically).
    Crisis {
        year: i32,
        region: String,
        magnitude: f64,
    },
    /// A lasting shift of baseline domestic hostility.
    Pressure {
        year: i32,
        members: Selector,
        shift: f64,
    },
    /// A firewall between public services and immigration enforcement.
    Firewall {
        year: i32,
        members: Selector,
        level: f64,
    },
    /// Legal channels held open: the States' legal-channel openness cannot fall below `level`.
    LegalChannels {
        year: i32,
        members: Selector,
        level: f64,
    },
    /// Enforcement held up (interception, offshore processing): the States' enforcement cannot
    /// fall below `level`.
    Enforcement {
        year: i32,
        members: Selector,
        level: f64,
    },
}

impl Event {
    pub fn year(&self) -> i32 {
        match self {
            Event::Crisis { year, .. }
            | Event::Pressure { year, .. }
            | Event::Firewall { year, .. }
            | Event::LegalChannels { year, .. }
            | Event::Enforcement { year, .. } => *year,
        }
    }
}

/// The institutions of a scenario's factual world: those its start-year policies were chosen
/// under, in which each State's tastes are identified (`world.factual`). A counterfactual that
/// removes an institution from the start thereby loses its pull, rather than having tastes that
/// make up for its absence.
#[derive(Debug, Clone, PartialEq)]
pub struct Factual {
    pub forums: Vec<ForumSpec>,
    pub treaties: Vec<TreatySpec>,
}

/// A validated scenario: everything a run needs, with every default filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// `world.factual`: "self", a built-in scenario name or a file path.
    pub factual_name: String,
    /// The factual world's institutions (`None` for "self": the scenario's own).
    pub factual: Option<Factual>,
    pub name: String,
    pub description: String,
    /// The seed passage the scenario encodes.
    pub passage: String,
    /// The file it was loaded from (or the built-in label).
    pub source: String,
    pub run: RunSettings,
    pub world_kind: WorldKind,
    pub world: WorldParams,
    pub flows: FlowParams,
    pub admission: AdmissionParams,
    pub pressure: PressureParams,
    pub policy: PolicyParams,
    pub forum_dynamics: ForumDynamics,
    pub treaty_dynamics: TreatyDynamics,
    pub bilateral: BilateralParams,
    /// Changes of the bilateral settings by year, sorted by year.
    pub bilateral_timeline: Vec<TimelineChange>,
    pub observation: ObservationParams,
    pub forums: Vec<ForumSpec>,
    pub treaties: Vec<TreatySpec>,
    /// Sorted by year, in file order within a year.
    pub events: Vec<Event>,
    /// A sweep over parameters (`[sweep]`), if the file defines one.
    pub sweep: Option<crate::experiment::design::Sweep>,
    /// `[calibration.priors]`: the parameters `calibrate --posterior` fits, with their ranges
    /// (empty: the documented default set).
    pub priors: Vec<posterior::Prior>,
    /// `[calibration] posterior`: the parameter sets each replication draws from, if any.
    pub posterior: Option<std::sync::Arc<posterior::Draws>>,
    /// Key paths set explicitly (`--set`, a sweep, a design point): a posterior does not draw them.
    pub pinned: std::collections::BTreeSet<String>,
}

impl Scenario {
    /// Loads and validates a scenario file (following `extends`).
    pub fn load(path: &Path) -> Result<Scenario> {
        let table = parse::load_merged(path, parse::Origin::Files, &mut Vec::new())?;
        parse::build(path, &table, parse::Origin::Files)
    }

    /// A scenario of the library built into the binary (`scenarios/NAME.toml` at build time).
    pub fn builtin(name: &str) -> Result<Scenario> {
        let file = PathBuf::from(format!("{name}.toml"));
        let table = parse::load_merged(&file, parse::Origin::Builtin, &mut Vec::new())?;
        let label = PathBuf::from(format!("scenarios/{name}.toml (built in)"));
        parse::build(&label, &table, parse::Origin::Builtin)
    }

    /// The built-in default scenario: the status quo.
    pub fn builtin_default() -> Result<Scenario> {
        Scenario::builtin(library::DEFAULT)
    }

    /// A numeric parameter's current value and spec, by key path (`flows.beta_far`,
    /// `forums.GFMD.memory`, `treaties.ICRMW.sanction`).
    pub fn parameter(&self, key: &str) -> Result<(f64, &'static ParamSpec), String> {
        if let Some((base, year)) = split_period(key)? {
            let (value, spec) = self.parameter(base)?;
            let field = base.rsplit('.').next().unwrap_or(base);
            let timeline = self.timeline_of(base).ok_or_else(not_by_year)?;
            // The value in effect in that year: the last change up to it, or the value before.
            let value = timeline
                .iter()
                .rfind(|c| c.field == field && c.year <= year)
                .map_or(value, |c| c.value);
            return Ok((value, spec));
        }
        let (parts, n) = key_parts(key);
        fn find<S: params::Section>(s: &S, name: &str) -> Option<(f64, &'static ParamSpec)> {
            let spec = S::specs().iter().find(|p| p.name == name)?;
            Some((s.value(name)?, spec))
        }
        let found = match &parts[..n] {
            ["world", name] => find(&self.world, name),
            ["flows", name] => find(&self.flows, name),
            ["admission", name] => find(&self.admission, name),
            ["pressure", name] => find(&self.pressure, name),
            ["policy", name] => find(&self.policy, name),
            ["forum_dynamics", name] => find(&self.forum_dynamics, name),
            ["treaty_dynamics", name] => find(&self.treaty_dynamics, name),
            ["bilateral", name] => find(&self.bilateral, name),
            ["observation", name] => find(&self.observation, name),
            ["forums", forum, name] => match self.forums.iter().find(|f| f.name == *forum) {
                Some(f) => find(&f.design, name),
                None => return Err(format!("unknown forum {forum:?} in this scenario")),
            },
            ["treaties", treaty, name] => match self.treaties.iter().find(|t| t.name == *treaty) {
                Some(t) => find(&t.design, name),
                None => return Err(format!("unknown treaty {treaty:?} in this scenario")),
            },
            _ => None,
        };
        found.ok_or_else(|| {
            "unknown parameter; expected a key path such as flows.beta_far, forums.GFMD.memory or treaties.ICRMW.sanction (see forumsim params)".to_string()
        })
    }

    /// Sets a numeric parameter by key path after checking its range and kind.
    /// A copy with each (key path, value) set; an error names `origin` (the option or section the
    /// values come from), the key path and the value.
    pub fn with_values<'k>(
        &self,
        origin: &str,
        values: impl IntoIterator<Item = (&'k str, f64)>,
    ) -> crate::error::Result<Scenario> {
        let mut s = self.clone();
        for (key, v) in values {
            s.set(key, v)
                .map_err(|message| crate::error::Error::Invalid {
                    file: origin.into(),
                    key: key.into(),
                    message: format!("{message} (at value {v})"),
                })?;
        }
        Ok(s)
    }

    ///
    /// The rule for a key that a timeline also changes (`[[forums.GFMD.timeline]]`, treaties'
    /// and `[[bilateral.timeline]]`): a value set without a year holds for the whole run, so the
    /// timeline's changes of that key are dropped ([`Scenario::timeline_overrides`] says which,
    /// for a warning); `KEY@YEAR` (`forums.GFMD.rights_agenda@2010`) sets the value from that
    /// year on instead, replacing the timeline's change of that year or adding one.
    pub fn set(&mut self, key: &str, value: f64) -> Result<(), String> {
        self.set_value(key, value, true)
    }

    /// [`Scenario::set`]; with `whole_run` false, the timeline's later changes of the key stay
    /// (a posterior's draw is the value before them, as when it was fitted).
    fn set_value(&mut self, key: &str, value: f64, whole_run: bool) -> Result<(), String> {
        let (_, spec) = self.parameter(key)?;
        spec.check(value)?;
        if let Some((base, year)) = split_period(key)? {
            if year <= self.run.start_year || year > self.run.end_year {
                return Err(format!(
                    "expected a year after the start and up to the end of the run ({}-{}), found {year}; without @YEAR the value holds for the whole run",
                    self.run.start_year + 1,
                    self.run.end_year
                ));
            }
            let field = spec.name;
            let timeline = self.timeline_of_mut(base).ok_or_else(not_by_year)?;
            match timeline
                .iter_mut()
                .find(|c| c.year == year && c.field == field)
            {
                Some(c) => c.value = value,
                None => {
                    let at = timeline.partition_point(|c| c.year <= year);
                    timeline.insert(at, TimelineChange { year, field, value });
                }
            }
            self.pin(key);
            return Ok(());
        }
        if matches!(key, "world.n_states" | "world.n_regions") {
            if self.world_kind == WorldKind::Un193 {
                return Err(format!(
                    "applies only to world kind \"synthetic\"; the UN-193 world has its {} from the data",
                    if key == "world.n_states" {
                        "193 States"
                    } else {
                        "22 regions"
                    }
                ));
            }
            let (states, regions) = match key {
                "world.n_states" => (value, self.world.n_regions),
                _ => (self.world.n_states, value),
            };
            if regions > states {
                return Err(format!(
                    "expected at most as many regions as States, found {regions} regions for {states} States"
                ));
            }
        }
        let (parts, n) = key_parts(key);
        use params::Section;
        let slot = match &parts[..n] {
            ["world", name] => self.world.value_mut(name),
            ["flows", name] => self.flows.value_mut(name),
            ["admission", name] => self.admission.value_mut(name),
            ["pressure", name] => self.pressure.value_mut(name),
            ["policy", name] => self.policy.value_mut(name),
            ["forum_dynamics", name] => self.forum_dynamics.value_mut(name),
            ["treaty_dynamics", name] => self.treaty_dynamics.value_mut(name),
            ["bilateral", name] => self.bilateral.value_mut(name),
            ["observation", name] => self.observation.value_mut(name),
            ["forums", forum, name] => self
                .forums
                .iter_mut()
                .find(|f| f.name == *forum)
                .and_then(|f| f.design.value_mut(name)),
            ["treaties", treaty, name] => self
                .treaties
                .iter_mut()
                .find(|t| t.name == *treaty)
                .and_then(|t| t.design.value_mut(name)),
            _ => None,
        };
        match slot {
            Some(slot) => {
                *slot = value;
                let field = spec.name;
                if whole_run && let Some(timeline) = self.timeline_of_mut(key) {
                    timeline.retain(|c| c.field != field);
                }
                self.pin(key);
                Ok(())
            }
            None => Err("unknown parameter".into()),
        }
    }

    /// Pins `key` (allocating only the first time).
    fn pin(&mut self, key: &str) {
        if !self.pinned.contains(key) {
            self.pinned.insert(key.to_string());
        }
    }

    /// Runs every replication over `draws` (a posterior of `calibrate --posterior`), after
    /// checking that each of its columns is a parameter of this scenario and each value lies in
    /// the parameter's range.
    pub fn attach_posterior(
        &mut self,
        draws: std::sync::Arc<posterior::Draws>,
    ) -> std::result::Result<(), String> {
        for (k, key_path) in draws.keys.iter().enumerate() {
            let (_, spec) = self
                .parameter(key_path)
                .map_err(|m| format!("column {key_path}: {m}"))?;
            if let Some(theta) = draws.thetas.iter().find(|t| spec.check(t[k]).is_err()) {
                return Err(format!("{key_path} = {} is outside its range", theta[k]));
            }
        }
        self.posterior = Some(draws);
        Ok(())
    }

    /// The timeline that can change a key path's parameter by year, if its section has one.
    fn timeline_of(&self, key: &str) -> Option<&Vec<TimelineChange>> {
        let (parts, n) = key_parts(key);
        match &parts[..n] {
            ["forums", forum, _] => self
                .forums
                .iter()
                .find(|f| f.name == *forum)
                .map(|f| &f.timeline),
            ["treaties", treaty, _] => self
                .treaties
                .iter()
                .find(|t| t.name == *treaty)
                .map(|t| &t.timeline),
            ["bilateral", _] => Some(&self.bilateral_timeline),
            _ => None,
        }
    }

    fn timeline_of_mut(&mut self, key: &str) -> Option<&mut Vec<TimelineChange>> {
        let (parts, n) = key_parts(key);
        match &parts[..n] {
            ["forums", forum, _] => self
                .forums
                .iter_mut()
                .find(|f| f.name == *forum)
                .map(|f| &mut f.timeline),
            ["treaties", treaty, _] => self
                .treaties
                .iter_mut()
                .find(|t| t.name == *treaty)
                .map(|t| &mut t.timeline),
            ["bilateral", _] => Some(&mut self.bilateral_timeline),
            _ => None,
        }
    }

    /// What setting `key` (without `@YEAR`) for the whole run overrides in the scenario's
    /// timeline, as one line for a warning (`None`: the timeline never changes the key).
    /// `origin` is the option the value comes from (`--set`, `--sweep`, `--params`).
    pub fn timeline_overrides(&self, origin: &str, key: &str) -> Option<String> {
        if key.contains('@') {
            return None;
        }
        let field = key.rsplit('.').next()?;
        let timeline = self.timeline_of(key)?;
        let changes: Vec<String> = timeline
            .iter()
            .filter(|c| c.field == field)
            .map(|c| format!("{} from {}", c.value, c.year))
            .collect();
        if changes.is_empty() {
            return None;
        }
        let section = key.rsplit_once('.').map_or(key, |(s, _)| s);
        let first = timeline.iter().find(|c| c.field == field)?.year;
        Some(format!(
            "{origin} {key} holds for the whole run and replaces what [[{section}.timeline]] sets ({field} = {}); to change only the years from {first} on, address the period: {key}@{first}",
            changes.join(", ")
        ))
    }

    /// A copy that runs at its point values: without a posterior (for what spans or fits the
    /// parameters itself: ABC, sensitivity, robustness).
    pub fn at_point_values(&self) -> Scenario {
        let mut s = self.clone();
        s.posterior = None;
        s
    }

    /// The scenario of one replication under its posterior: the parameter set drawn by `u`
    /// (uniform on [0, 1)), for every key the user has not pinned; the copy has no posterior.
    pub fn with_draw(&self, u: f64) -> Scenario {
        let mut s = self.at_point_values();
        self.draw_into(u, &mut s);
        s
    }

    /// Makes `drawn`, a copy of this scenario from [`Scenario::at_point_values`] or
    /// [`Scenario::with_draw`], what `with_draw(u)` gives, by writing only the drawn keys: every
    /// draw writes the same keys, so nothing of an earlier draw is left, and nothing is copied
    /// or allocated (a worker keeps one copy for all its replications).
    pub fn draw_into(&self, u: f64, drawn: &mut Scenario) {
        debug_assert!(drawn.posterior.is_none() && drawn.name == self.name);
        if let Some(d) = &self.posterior {
            let theta = &d.thetas[d.pick(u)];
            for (key, &v) in d.keys.iter().zip(theta) {
                if !self.pinned.contains(key) {
                    // Checked when the posterior was loaded.
                    let _ = drawn.set_value(key, v, false);
                }
            }
        }
    }

    /// The scenario whose start-year institutions the tastes are identified under: this one's
    /// parameters with the factual world's forums and treaties, and no events.
    pub fn factual_scenario(&self) -> Scenario {
        let mut s = self.clone();
        if let Some(f) = &self.factual {
            s.forums = f.forums.clone();
            s.treaties = f.treaties.clone();
        }
        s.factual = None;
        s.events.clear();
        s
    }

    /// Whether this scenario's forums and treaties are those of its factual world (the status quo
    /// itself, or `world.factual = "self"`): its factual world is then a copy of its own world
    /// (`dynamics::factual_start`).
    pub fn has_factual_institutions(&self) -> bool {
        self.factual
            .as_ref()
            .is_none_or(|f| f.forums == self.forums && f.treaties == self.treaties)
    }

    /// For each of this scenario's treaties, the position among the factual world's treaties of
    /// the same treaty with the same history before the start: the same spec (name, design,
    /// membership rules, record) and the same forum whose trust counts (`dynamics::start` takes
    /// its spin-up from the factual world); `None` where the factual world has no such treaty.
    pub fn factual_twins(&self) -> Vec<Option<usize>> {
        let Some(f) = &self.factual else {
            return (0..self.treaties.len()).map(Some).collect();
        };
        fn forum<'a>(
            forums: &'a [ForumSpec],
            name: &Option<String>,
        ) -> Option<Option<&'a ForumSpec>> {
            name.as_ref()
                .map(|name| forums.iter().find(|x| &x.name == name))
        }
        self.treaties
            .iter()
            .map(|t| {
                f.treaties.iter().position(|x| {
                    x == t
                        && forum(&f.forums, &t.trust_forum) == forum(&self.forums, &t.trust_forum)
                })
            })
            .collect()
    }

    /// Settings accepted but without the effect a user may mean, one line each: a UN-193 start
    /// year outside the data's years (its figures are those of the nearest year), and initial
    /// protection of 0 everywhere (the RTB index, relative to the start, is then undefined).
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        // The years of `data/stocks.csv`, to which `Facts::un193` clamps the start year.
        let (first, last) = (1990, 2020);
        let year = self.run.start_year;
        if self.world_kind == WorldKind::Un193 && !(first..=last).contains(&year) {
            warnings.push(format!(
                "run.start_year {year} is outside the years of the UN-193 data ({first}-{last}): the world starts from the figures of {}",
                year.clamp(first, last)
            ));
        }
        let end = self.run.end_year;
        for (k, e) in self.events.iter().enumerate() {
            if e.year() > end {
                warnings.push(format!(
                    "events[{k}] (year {}) is after the last year of the run ({end}) and never happens",
                    e.year()
                ));
            }
        }
        let timelines = self
            .forums
            .iter()
            .map(|f| (format!("forums.{}", f.name), &f.timeline))
            .chain(
                self.treaties
                    .iter()
                    .map(|t| (format!("treaties.{}", t.name), &t.timeline)),
            )
            .chain([("bilateral".to_string(), &self.bilateral_timeline)]);
        for (section, timeline) in timelines {
            for c in timeline.iter().filter(|c| c.year > end) {
                warnings.push(format!(
                    "[[{section}.timeline]] entry of {} ({} = {}) is after the last year of the run ({end}) and never applies",
                    c.year, c.field, c.value
                ));
            }
        }
        let w = &self.world;
        if w.p0_base == 0.0 && w.p0_income == 0.0 && w.p0_jitter == 0.0 {
            warnings.push(
                "world.p0_base, p0_income and p0_jitter are 0: every State starts with no protection, so the RTB index (relative to the start) is undefined and its columns stay blank".into(),
            );
        }
        warnings
    }

    /// Warnings that need the world's facts: a forum or treaty whose member rule selects no
    /// State (a rule written as `"none"` is meant and not warned about).
    pub fn warnings_in(&self, facts: &Facts) -> Vec<String> {
        let mut warnings = Vec::new();
        for f in &self.forums {
            if !f.members.is_empty_rule() && f.members.resolve(facts, Role::Member).is_empty() {
                warnings.push(format!(
                    "forums.{}.members selects no State of this world: the forum never meets",
                    f.name
                ));
            }
        }
        for t in &self.treaties {
            if let Some(m) = &t.members
                && !m.is_empty_rule()
                && m.resolve(facts, Role::Member).is_empty()
            {
                warnings.push(format!(
                    "treaties.{}.members selects no State of this world: nobody can join it",
                    t.name
                ));
            }
        }
        warnings
    }

    /// The facts of this scenario's world.
    pub fn facts(&self) -> Result<Facts> {
        match self.world_kind {
            WorldKind::Un193 => Facts::un193(self.run.start_year),
            WorldKind::Synthetic => Ok(Facts::synthetic(
                self.world.n_states as usize,
                self.world.n_regions as usize,
                self.run.seed,
            )),
        }
    }

    /// Number of simulated years.
    pub fn n_years(&self) -> usize {
        (self.run.end_year - self.run.start_year + 1) as usize
    }

    /// Every setting with its resolved value, as canonical TOML text (sorted keys).
    pub fn resolved_toml(&self) -> String {
        toml::to_string(&parse::resolved_table(self)).unwrap_or_default()
    }

    /// Content hash of the resolved scenario (FNV-1a 64 over [`Scenario::resolved_toml`]): equal
    /// for files that differ only in layout, comments or defaults spelled out.
    pub fn content_hash(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let posterior = self
            .posterior
            .as_ref()
            .map_or(String::new(), |d| d.hash.clone());
        for b in self.resolved_toml().bytes().chain(posterior.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition of a selection, State by State: every rule given holds.
    fn selected_one_by_one(s: &Selector, facts: &Facts, role: Role) -> Vec<u32> {
        if s.is_empty_rule() {
            return Vec::new();
        }
        (0..facts.n_states())
            .filter(|&i| {
                s.iso3.as_ref().is_none_or(|c| c.contains(&facts.iso3[i]))
                    && s.regions
                        .as_ref()
                        .is_none_or(|rs| rs.iter().any(|r| facts.in_region(i, r)))
                    && s.income
                        .as_ref()
                        .is_none_or(|gs| gs.contains(&facts.income_group[i]))
                    && s.data.as_ref().is_none_or(|name| {
                        facts.forum_roles[name]
                            .iter()
                            .any(|&(j, r)| j as usize == i && r == role)
                    })
            })
            .map(|i| i as u32)
            .collect()
    }

    #[test]
    fn resolve_selects_what_every_rule_given_selects() {
        let facts = Facts::un193(2007).expect("embedded data");
        let strings = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let selectors = [
            Selector::none(),
            Selector {
                all: true,
                ..Selector::none()
            },
            Selector {
                iso3: strings(&["FRA", "DEU", "AUS", "FRA", "XXX"]),
                ..Selector::none()
            },
            Selector {
                regions: strings(&["Europe", "Western Africa"]),
                ..Selector::none()
            },
            Selector {
                income: Some(vec![IncomeGroup::High]),
                ..Selector::none()
            },
            Selector {
                data: Some("IGC".into()),
                ..Selector::none()
            },
            Selector {
                all: true,
                regions: strings(&["Europe"]),
                income: Some(vec![IncomeGroup::High, IncomeGroup::UpperMiddle]),
                ..Selector::none()
            },
            Selector {
                iso3: strings(&["AUS", "USA", "FRA", "IDN"]),
                data: Some("Bali".into()),
                ..Selector::none()
            },
        ];
        for s in &selectors {
            for role in [Role::Member, Role::Observer] {
                assert_eq!(
                    s.resolve(&facts, role),
                    selected_one_by_one(s, &facts, role),
                    "{s:?}"
                );
            }
        }
    }
}
