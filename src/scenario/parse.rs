//! TOML to [`Scenario`]: reading, `extends`, merging, and validation with key paths.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::params::Section;
use super::*;

const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "passage",
    "extends",
    "run",
    "world",
    "flows",
    "admission",
    "pressure",
    "policy",
    "forum_dynamics",
    "treaty_dynamics",
    "observation",
    "bilateral",
    "calibration",
    "forums",
    "treaties",
    "events",
    "sweep",
];
const RUN_KEYS: &[&str] = &["start_year", "end_year", "replications", "seed"];
const FORUM_EXTRA_KEYS: &[&str] = &[
    "enabled",
    "description",
    "members",
    "observers",
    "chairs",
    "timeline",
    "skip_years",
];
const TREATY_EXTRA_KEYS: &[&str] = &[
    "enabled",
    "description",
    "members",
    "eligible",
    "trust_forum",
    "parties_data",
    "timeline",
];
const SELECTOR_KEYS: &[&str] = &["region", "income", "data"];
const EVENT_KINDS: &[&str] = &[
    "crisis",
    "pressure",
    "firewall",
    "legal_channels",
    "enforcement",
];

/// Parses TOML text; syntax errors name the file and the line.
pub(super) fn parse_text(file: &Path, text: &str) -> Result<Table> {
    text.parse::<Table>().map_err(|e| Error::Syntax {
        file: file.to_path_buf(),
        message: e.to_string().trim().replace('\n', " | "),
    })
}

/// Where scenario files come from: the file system, or the library built into the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    Files,
    Builtin,
}

/// Reads a scenario text; returns a key that identifies it for cycle detection.
fn read(path: &Path, origin: Origin) -> Result<(PathBuf, String)> {
    match origin {
        Origin::Files => {
            let read_err = |source| Error::Read {
                file: path.to_path_buf(),
                source,
            };
            let canonical = path.canonicalize().map_err(read_err)?;
            let invalid = |message: String| Error::Read {
                file: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, message),
            };
            // Not a FIFO (which would block), a device (/dev/zero never ends) or a folder.
            if !std::fs::metadata(path).map_err(read_err)?.is_file() {
                return Err(invalid("expected a regular file".into()));
            }
            let mut bytes = Vec::new();
            std::fs::File::open(path)
                .and_then(|f| {
                    use std::io::Read;
                    f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)
                })
                .map_err(read_err)?;
            if bytes.len() as u64 > MAX_FILE_BYTES {
                return Err(invalid(format!(
                    "expected a scenario file of at most {} MiB",
                    MAX_FILE_BYTES >> 20
                )));
            }
            let text = String::from_utf8(bytes).map_err(|_| {
                read_err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "stream did not contain valid UTF-8",
                ))
            })?;
            Ok((canonical, text))
        }
        Origin::Builtin => {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            super::library::LIBRARY
                .iter()
                .find(|(file, _)| *file == name)
                .map(|(file, text)| (PathBuf::from(format!("builtin:{file}")), text.to_string()))
                .ok_or_else(|| Error::Read {
                    file: path.to_path_buf(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no such built-in scenario",
                    ),
                })
        }
    }
}

/// The largest scenario file read (the shipped ones have a few kilobytes).
const MAX_FILE_BYTES: u64 = 4 << 20;
/// The most files an `extends` chain may have.
pub(super) const MAX_EXTENDS_DEPTH: usize = 64;

/// Reads a file, checks it on its own, and merges it over the file it extends.
pub(super) fn load_merged(path: &Path, origin: Origin, chain: &mut Vec<PathBuf>) -> Result<Table> {
    if chain.len() >= MAX_EXTENDS_DEPTH {
        return Err(Error::Invalid {
            file: path.to_path_buf(),
            key: "extends".into(),
            message: format!(
                "expected a chain of at most {MAX_EXTENDS_DEPTH} files, found more (starting from {})",
                chain
                    .first()
                    .map_or_else(String::new, |p| p.display().to_string())
            ),
        });
    }
    let (key, text) = read(path, origin)?;
    if chain.contains(&key) {
        let mut names: Vec<String> = chain.iter().map(|p| p.display().to_string()).collect();
        names.push(key.display().to_string());
        return Err(Error::ExtendsCycle {
            file: path.to_path_buf(),
            chain: names.join(" -> "),
        });
    }
    let mut table = parse_text(path, &text)?;
    if chain.is_empty() && origin == Origin::Files && table.is_empty() {
        return Err(Error::Invalid {
            file: path.to_path_buf(),
            key: "(file)".into(),
            message: "sets nothing (an empty file would run a world without forums or treaties); expected at least `extends = \"status_quo.toml\"` or a name (forumsim new NAME writes a start)".into(),
        });
    }
    check_file(path, &table)?;
    anchor_posterior(&mut table, path, origin);
    let is_top = chain.is_empty();
    let names_itself = table.contains_key("name");
    chain.push(key);
    let mut merged = match table.get("extends") {
        Some(Value::String(parent)) => {
            let dir = path.parent().unwrap_or(Path::new("."));
            let file = dir.join(parent);
            // A file beside this one wins; without one, a built-in scenario of that name.
            let builtin = origin == Origin::Files
                && std::fs::symlink_metadata(&file).is_err()
                && super::library::LIBRARY.iter().any(|(f, _)| f == parent);
            let base = if builtin {
                load_merged(Path::new(parent), Origin::Builtin, chain)?
            } else {
                load_merged(&file, origin, chain)?
            };
            merge(base, table)
        }
        _ => table,
    };
    chain.pop();
    // A scenario is named by its own file: a variant does not inherit its parent's name (and so
    // its output folder).
    if is_top && !names_itself {
        merged.remove("name");
    }
    Ok(merged)
}

/// Makes a file's `[calibration] posterior` path independent of the file that extends it: relative
/// to the file that names it (or, for a built-in scenario, the built-in file of that name).
fn anchor_posterior(table: &mut Table, path: &Path, origin: Origin) {
    let Some(Value::Table(cal)) = table.get_mut("calibration") else {
        return;
    };
    let Some(Value::String(file)) = cal.get("posterior").cloned() else {
        return;
    };
    if file.is_empty() || file.starts_with(BUILTIN_PREFIX) {
        return;
    }
    let anchored = match origin {
        Origin::Builtin => format!("{BUILTIN_PREFIX}{file}"),
        Origin::Files => {
            let dir = path.parent().unwrap_or(Path::new("."));
            let joined = dir.join(&file);
            joined
                .canonicalize()
                .unwrap_or(joined)
                .display()
                .to_string()
        }
    };
    cal.insert("posterior".into(), Value::String(anchored));
}

/// How a posterior file of the built-in library is named in a resolved scenario.
pub(super) const BUILTIN_PREFIX: &str = "builtin:";

/// Deep merge: tables merge key by key; `events` and forum `timeline` arrays are appended to the
/// parent's (a variant adds to the history it extends); every other value replaces.
pub(super) fn merge(mut base: Table, over: Table) -> Table {
    for (key, value) in over {
        if key == "extends" {
            continue;
        }
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => {
                let merged = merge(std::mem::take(b), o);
                *b = merged;
            }
            (Some(Value::Array(b)), Value::Array(o)) if key == "events" || key == "timeline" => {
                b.extend(o);
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
    base
}

/// Checks one file on its own: keys, types and ranges, but not completeness.
pub(super) fn check_file(file: &Path, table: &Table) -> Result<()> {
    Builder {
        file,
        partial: true,
    }
    .build(table)
    .map(|_| ())
}

/// Builds the scenario from the merged table, with every check, and resolves its factual world
/// (`world.factual`: the institutions its start-year tastes are identified under).
pub(super) fn build(file: &Path, table: &Table, origin: Origin) -> Result<Scenario> {
    let mut scenario = Builder {
        file,
        partial: false,
    }
    .build(table)?;
    let name = scenario.factual_name.clone();
    if name != "self" {
        let candidate = file.parent().unwrap_or(Path::new(".")).join(&name);
        let (path, origin) = if name.ends_with(".toml") {
            (candidate, origin)
        } else {
            (PathBuf::from(format!("{name}.toml")), Origin::Builtin)
        };
        let key = "world.factual";
        let factual_table = load_merged(&path, origin, &mut Vec::new()).map_err(|e| {
            Error::Invalid {
                file: file.to_path_buf(),
                key: key.into(),
                message: format!(
                    "cannot load the factual scenario {name:?} (a built-in name, a .toml path relative to this file, or \"self\"): {e}"
                ),
            }
        })?;
        let factual = Builder {
            file: &path,
            partial: false,
        }
        .build(&factual_table)?;
        if factual.world_kind != scenario.world_kind
            || factual.run.start_year != scenario.run.start_year
        {
            return Err(Error::Invalid {
                file: file.to_path_buf(),
                key: key.into(),
                message: format!(
                    "the factual scenario {name:?} must have the same world kind and start year as this one"
                ),
            });
        }
        scenario.factual = Some(super::Factual {
            forums: factual.forums,
            treaties: factual.treaties,
        });
    }
    Ok(scenario)
}

struct Builder<'a> {
    file: &'a Path,
    partial: bool,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a datetime",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

impl Builder<'_> {
    fn err(&self, key: &str, message: impl Into<String>) -> Error {
        Error::Invalid {
            file: self.file.to_path_buf(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn unknown(&self, key: &str, allowed: &[&str]) -> Error {
        self.err(
            key,
            format!("unknown key; expected one of: {}", allowed.join(", ")),
        )
    }

    fn table<'t>(&self, v: &'t Value, key: &str) -> Result<&'t Table> {
        v.as_table()
            .ok_or_else(|| self.err(key, format!("expected a table, found {}", type_name(v))))
    }

    fn string<'t>(&self, v: &'t Value, key: &str) -> Result<&'t str> {
        v.as_str()
            .ok_or_else(|| self.err(key, format!("expected a string, found {}", type_name(v))))
    }

    fn number(&self, v: &Value, key: &str) -> Result<f64> {
        match v {
            Value::Integer(i) => Ok(*i as f64),
            Value::Float(f) => Ok(*f),
            other => Err(self.err(
                key,
                format!("expected a number, found {}", type_name(other)),
            )),
        }
    }

    fn integer(&self, v: &Value, key: &str, min: i64, max: i64) -> Result<i64> {
        match v {
            Value::Integer(i) if (min..=max).contains(i) => Ok(*i),
            Value::Integer(i) => Err(self.err(
                key,
                format!("expected an integer in [{min}, {max}], found {i}"),
            )),
            other => Err(self.err(
                key,
                format!("expected an integer, found {}", type_name(other)),
            )),
        }
    }

    fn boolean(&self, v: &Value, key: &str) -> Result<bool> {
        v.as_bool().ok_or_else(|| {
            self.err(
                key,
                format!("expected true or false, found {}", type_name(v)),
            )
        })
    }

    /// Sets one numeric parameter of a section after checking its range.
    fn param<S: Section>(&self, section: &mut S, name: &str, v: &Value, key: &str) -> Result<()> {
        let Some(spec) = S::specs().iter().find(|s| s.name == name) else {
            let names: Vec<&str> = S::specs().iter().map(|s| s.name).collect();
            return Err(self.unknown(key, &names));
        };
        let x = self.number(v, key)?;
        spec.check(x).map_err(|m| self.err(key, m))?;
        if let Some(slot) = section.value_mut(name) {
            *slot = x;
        }
        Ok(())
    }

    /// A whole `[section]` of numeric parameters.
    fn section<S: Section + Default>(&self, table: &Table, key: &str) -> Result<S> {
        let mut s = S::default();
        if let Some(v) = table.get(key) {
            for (k, v) in self.table(v, key)? {
                // A section's timeline is read by `section_timeline`.
                if k == "timeline" && key == "bilateral" {
                    continue;
                }
                self.param(&mut s, k, v, &join(key, k))?;
            }
        }
        Ok(s)
    }

    /// `[[bilateral.timeline]]`: changes of the bilateral settings by year.
    fn section_timeline<S: Section>(
        &self,
        table: &Table,
        key: &str,
    ) -> Result<Vec<TimelineChange>> {
        match table
            .get(key)
            .and_then(|v| v.as_table())
            .and_then(|t| t.get("timeline"))
        {
            Some(v) => self.timeline::<S>(v, &format!("{key}.timeline")),
            None => Ok(Vec::new()),
        }
    }

    fn strings(&self, v: &Value, key: &str) -> Result<Vec<String>> {
        match v {
            Value::String(s) => Ok(vec![s.clone()]),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(k, x)| self.string(x, &format!("{key}[{k}]")).map(str::to_string))
                .collect(),
            other => Err(self.err(
                key,
                format!(
                    "expected a string or an array of strings, found {}",
                    type_name(other)
                ),
            )),
        }
    }

    /// `"all"`, `"none"`, a list of ISO3 codes, or a table of rules (`region`, `income`, `data`).
    fn selector(&self, v: &Value, key: &str) -> Result<Selector> {
        match v {
            Value::String(s) if s == "all" => Ok(Selector {
                all: true,
                ..Selector::default()
            }),
            Value::String(s) if s == "none" => Ok(Selector::none()),
            Value::Array(_) => {
                let codes = self.strings(v, key)?;
                for (k, c) in codes.iter().enumerate() {
                    if c.is_empty() || !c.chars().all(|ch| ch.is_ascii_alphanumeric()) {
                        return Err(self.err(
                            &format!("{key}[{k}]"),
                            format!("expected a State code such as \"MEX\", found {c:?}"),
                        ));
                    }
                }
                Ok(Selector {
                    iso3: Some(codes),
                    ..Selector::default()
                })
            }
            Value::Table(t) => {
                let mut s = Selector::default();
                for (k, v) in t {
                    let path = join(key, k);
                    match k.as_str() {
                        "region" => s.regions = Some(self.strings(v, &path)?),
                        "income" => {
                            let names = self.strings(v, &path)?;
                            let mut groups = Vec::new();
                            for name in names {
                                groups.push(IncomeGroup::parse(&name).ok_or_else(|| {
                                    self.err(
                                        &path,
                                        format!(
                                            "expected an income group (low, lower_middle, upper_middle, high), found {name:?}"
                                        ),
                                    )
                                })?);
                            }
                            s.income = Some(groups);
                        }
                        "data" => s.data = Some(self.string(v, &path)?.to_string()),
                        _ => return Err(self.unknown(&path, SELECTOR_KEYS)),
                    }
                }
                if s.is_empty_rule() {
                    return Err(self.err(key, "expected at least one of: region, income, data"));
                }
                Ok(s)
            }
            other => Err(self.err(
                key,
                format!(
                    "expected \"all\", \"none\", a list of State codes or a table of rules, found {}",
                    type_name(other)
                ),
            )),
        }
    }

    fn build(&self, t: &Table) -> Result<Scenario> {
        for key in t.keys() {
            if !TOP_KEYS.contains(&key.as_str()) {
                return Err(self.unknown(key, TOP_KEYS));
            }
        }
        let text = |key: &str| -> Result<String> {
            t.get(key)
                .map(|v| self.string(v, key).map(str::to_string))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let default_name = self
            .file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("scenario")
            .split(' ')
            .next()
            .unwrap_or("scenario")
            .to_string();
        let mut name = text("name")?;
        if name.is_empty() {
            name = default_name;
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
            || name.starts_with('.')
        {
            return Err(self.err(
                "name",
                format!("expected letters, digits, '_', '-' or '.' (it names the output folder), found {name:?}"),
            ));
        }
        if let Some(v) = t.get("extends") {
            self.string(v, "extends")?;
        }

        let mut run = RunSettings {
            start_year: 2007,
            end_year: 2056,
            replications: 200,
            seed: 20_160_209,
        };
        if let Some(v) = t.get("run") {
            for (k, v) in self.table(v, "run")? {
                let key = join("run", k);
                match k.as_str() {
                    "start_year" => run.start_year = self.integer(v, &key, 1900, 2300)? as i32,
                    "end_year" => run.end_year = self.integer(v, &key, 1900, 2300)? as i32,
                    "replications" => {
                        run.replications = self.integer(v, &key, 1, MAX_REPLICATIONS as i64)? as u64
                    }
                    "seed" => run.seed = self.integer(v, &key, 0, i64::MAX)? as u64,
                    _ => return Err(self.unknown(&key, RUN_KEYS)),
                }
            }
        }
        if !self.partial && run.end_year < run.start_year {
            return Err(self.err(
                "run.end_year",
                format!(
                    "expected a year not before run.start_year ({}), found {}",
                    run.start_year, run.end_year
                ),
            ));
        }

        let mut world_kind = WorldKind::Un193;
        let mut world = WorldParams::default();
        let mut factual_name = None;
        if let Some(v) = t.get("world") {
            for (k, v) in self.table(v, "world")? {
                let key = join("world", k);
                if k == "factual" {
                    factual_name = Some(self.string(v, &key)?.to_string());
                } else if k == "kind" {
                    world_kind = match self.string(v, &key)? {
                        "un193" => WorldKind::Un193,
                        "synthetic" => WorldKind::Synthetic,
                        other => {
                            return Err(self.err(
                                &key,
                                format!("expected \"un193\" or \"synthetic\", found {other:?}"),
                            ));
                        }
                    };
                } else {
                    self.param(&mut world, k, v, &key)?;
                }
            }
        }
        if !self.partial && world_kind == WorldKind::Synthetic && world.n_regions > world.n_states {
            return Err(self.err(
                "world.n_regions",
                format!(
                    "expected at most world.n_states ({}) regions, found {}: every region needs a State",
                    world.n_states, world.n_regions
                ),
            ));
        }
        if !self.partial && world.election_period_max < world.election_period_min {
            return Err(self.err(
                "world.election_period_max",
                "expected a value not below world.election_period_min",
            ));
        }

        let mut forums = Vec::new();
        if let Some(v) = t.get("forums") {
            for (fname, fv) in self.table(v, "forums")? {
                let path = join("forums", fname);
                if let Some(f) = self.forum(fname, fv, &path)? {
                    forums.push(f);
                }
            }
        }
        let mut treaties = Vec::new();
        if let Some(v) = t.get("treaties") {
            for (tname, tv) in self.table(v, "treaties")? {
                let path = join("treaties", tname);
                if let Some(tr) = self.treaty(tname, tv, &path)? {
                    treaties.push(tr);
                }
            }
        }
        let mut events = Vec::new();
        if let Some(v) = t.get("events") {
            let arr = v.as_array().ok_or_else(|| {
                self.err(
                    "events",
                    format!(
                        "expected an array of tables ([[events]]), found {}",
                        type_name(v)
                    ),
                )
            })?;
            for (k, ev) in arr.iter().enumerate() {
                events.push(self.event(ev, &format!("events[{k}]"))?);
            }
        }
        events.sort_by_key(Event::year);

        let factual_name = factual_name.unwrap_or_else(|| match world_kind {
            WorldKind::Un193 => super::library::DEFAULT.to_string(),
            WorldKind::Synthetic => "self".to_string(),
        });
        let scenario = Scenario {
            factual_name,
            factual: None,
            name,
            description: text("description")?,
            passage: text("passage")?,
            source: self.file.display().to_string(),
            run,
            world_kind,
            world,
            flows: self.section(t, "flows")?,
            admission: self.section(t, "admission")?,
            pressure: self.section(t, "pressure")?,
            policy: self.section(t, "policy")?,
            forum_dynamics: self.section(t, "forum_dynamics")?,
            treaty_dynamics: self.section(t, "treaty_dynamics")?,
            bilateral: self.section(t, "bilateral")?,
            bilateral_timeline: self.section_timeline::<BilateralParams>(t, "bilateral")?,
            observation: self.section(t, "observation")?,
            forums,
            treaties,
            events,
            sweep: None,
            priors: Vec::new(),
            posterior: None,
            pinned: Default::default(),
        };
        let mut scenario = scenario;
        if let Some(v) = t.get("sweep") {
            scenario.sweep = Some(self.sweep(v, &scenario)?);
        }
        if let Some(v) = t.get("calibration") {
            self.calibration(v, &mut scenario)?;
        }
        if !self.partial {
            self.check_against_facts(&scenario)?;
        }
        Ok(scenario)
    }

    /// `[calibration]`: `priors` (a table of key paths, each `[LOW, HIGH]`: the parameters
    /// `calibrate --posterior` fits) and `posterior` (a posterior file each replication draws
    /// from).
    fn calibration(&self, v: &Value, scenario: &mut Scenario) -> Result<()> {
        let t = self.table(v, "calibration")?;
        for (k, v) in t {
            let key = join("calibration", k);
            match k.as_str() {
                "priors" => {
                    for (pk, pv) in self.table(v, &key)? {
                        let path = format!("{key}.{pk}");
                        let range = pv.as_array().filter(|a| a.len() == 2).ok_or_else(|| {
                            self.err(
                                &path,
                                format!("expected [LOW, HIGH], found {}", type_name(pv)),
                            )
                        })?;
                        let low = self.number(&range[0], &path)?;
                        let high = self.number(&range[1], &path)?;
                        if !self.partial {
                            let (_, spec) =
                                scenario.parameter(pk).map_err(|m| self.err(&path, m))?;
                            for x in [low, high] {
                                spec.check(x).map_err(|m| self.err(&path, m))?;
                            }
                            if low >= high {
                                return Err(self.err(&path, "expected LOW below HIGH"));
                            }
                        }
                        scenario.priors.push(super::posterior::Prior {
                            key: pk.clone(),
                            low,
                            high,
                        });
                    }
                }
                "posterior" => {
                    let file = self.string(v, &key)?;
                    if self.partial || file.is_empty() {
                        continue;
                    }
                    let draws = match file.strip_prefix(BUILTIN_PREFIX) {
                        Some(name) => {
                            let text = super::library::data_file(name).ok_or_else(|| {
                                self.err(&key, format!("no built-in posterior {name:?}"))
                            })?;
                            super::posterior::Draws::parse(text, file).map(std::sync::Arc::new)
                        }
                        None => super::posterior::Draws::read(Path::new(file)),
                    }
                    .map_err(|e| self.err(&key, e.to_string()))?;
                    scenario
                        .attach_posterior(draws)
                        .map_err(|m| self.err(&key, format!("{file}: {m}")))?;
                }
                _ => return Err(self.unknown(&key, &["priors", "posterior"])),
            }
        }
        Ok(())
    }

    /// `[sweep]`: `design` ("grid" or "lhs"), `samples` (lhs), and `[sweep.parameters."KEY"]`
    /// tables with `from`, `to` and `steps` (grid).
    fn sweep(&self, v: &Value, scenario: &Scenario) -> Result<crate::experiment::design::Sweep> {
        use crate::experiment::design::{Design, Sweep, SweepParam};
        let t = self.table(v, "sweep")?;
        let mut design = "grid".to_string();
        let mut samples = 0usize;
        let mut params = Vec::new();
        for (k, v) in t {
            let key = join("sweep", k);
            match k.as_str() {
                "design" => design = self.string(v, &key)?.to_string(),
                "samples" => samples = self.integer(v, &key, 1, 1_000_000)? as usize,
                "parameters" => {
                    for (pk, pv) in self.table(v, &key)? {
                        let path = format!("{key}.{pk}");
                        let pt = self.table(pv, &path)?;
                        let mut p = SweepParam {
                            key: pk.clone(),
                            from: f64::NAN,
                            to: f64::NAN,
                            steps: 1,
                        };
                        for (fk, fv) in pt {
                            let fpath = join(&path, fk);
                            match fk.as_str() {
                                "from" => p.from = self.number(fv, &fpath)?,
                                "to" => p.to = self.number(fv, &fpath)?,
                                "steps" => p.steps = self.integer(fv, &fpath, 1, 100_000)? as usize,
                                _ => return Err(self.unknown(&fpath, &["from", "to", "steps"])),
                            }
                        }
                        if !p.from.is_finite() || !p.to.is_finite() {
                            return Err(self.err(&path, "expected both from and to"));
                        }
                        if !self.partial {
                            let (_, spec) =
                                scenario.parameter(pk).map_err(|m| self.err(&path, m))?;
                            for x in [p.from, p.to] {
                                spec.check(x).map_err(|m| self.err(&path, m))?;
                            }
                        }
                        params.push(p);
                    }
                }
                _ => return Err(self.unknown(&key, &["design", "samples", "parameters"])),
            }
        }
        let design = match design.as_str() {
            "grid" => Design::Grid,
            "lhs" => Design::Lhs {
                samples: if samples > 0 {
                    samples
                } else {
                    return Err(self.err(
                        "sweep.samples",
                        "expected the number of samples of the Latin hypercube",
                    ));
                },
            },
            other => {
                return Err(self.err(
                    "sweep.design",
                    format!("expected \"grid\" or \"lhs\", found {other:?}"),
                ));
            }
        };
        if params.is_empty() && !self.partial {
            return Err(self.err(
                "sweep.parameters",
                "expected at least one parameter to sweep",
            ));
        }
        Ok(Sweep { design, params })
    }

    fn forum(&self, name: &str, v: &Value, path: &str) -> Result<Option<ForumSpec>> {
        let t = self.table(v, path)?;
        let mut spec = ForumSpec {
            name: name.to_string(),
            description: String::new(),
            design: ForumDesign::default(),
            members: Selector::none(),
            observers: Selector::none(),
            chairs: Selector::none(),
            timeline: Vec::new(),
            skip_years: Vec::new(),
        };
        let mut enabled = true;
        let mut has_members = false;
        for (k, v) in t {
            let key = join(path, k);
            match k.as_str() {
                "enabled" => enabled = self.boolean(v, &key)?,
                "description" => spec.description = self.string(v, &key)?.to_string(),
                "members" => {
                    spec.members = self.selector(v, &key)?;
                    has_members = true;
                }
                "observers" => spec.observers = self.selector(v, &key)?,
                "chairs" => spec.chairs = self.selector(v, &key)?,
                "skip_years" => {
                    let arr = v.as_array().ok_or_else(|| {
                        self.err(
                            &key,
                            format!("expected an array of years, found {}", type_name(v)),
                        )
                    })?;
                    spec.skip_years = arr
                        .iter()
                        .enumerate()
                        .map(|(i, y)| {
                            self.integer(y, &format!("{key}[{i}]"), 1900, 2300)
                                .map(|y| y as i32)
                        })
                        .collect::<Result<_>>()?;
                }
                "timeline" => spec.timeline = self.timeline::<ForumDesign>(v, &key)?,
                _ => {
                    if ForumDesign::spec(k).is_some() {
                        self.param(&mut spec.design, k, v, &key)?;
                    } else {
                        let mut names: Vec<&str> = FORUM_EXTRA_KEYS.to_vec();
                        names.extend(ForumDesign::SPECS.iter().map(|s| s.name));
                        return Err(self.unknown(&key, &names));
                    }
                }
            }
        }
        spec.timeline.sort_by_key(|c| c.year);
        if !enabled {
            return Ok(None);
        }
        if !self.partial {
            if !has_members {
                return Err(self.err(
                    &join(path, "members"),
                    "missing; expected \"all\", a list of State codes or a table of rules",
                ));
            }
            if spec.design.last_year < spec.design.first_year {
                return Err(self.err(
                    &join(path, "last_year"),
                    "expected a year not before first_year",
                ));
            }
        }
        Ok(Some(spec))
    }

    /// A `[[...timeline]]` array of design changes: each entry a `year` and fields of `D`.
    fn timeline<D: Section>(&self, v: &Value, key: &str) -> Result<Vec<TimelineChange>> {
        let arr = v.as_array().ok_or_else(|| {
            self.err(
                key,
                format!("expected an array of tables, found {}", type_name(v)),
            )
        })?;
        let mut out = Vec::new();
        for (i, change) in arr.iter().enumerate() {
            let ckey = format!("{key}[{i}]");
            let ct = self.table(change, &ckey)?;
            let year = match ct.get("year") {
                Some(y) => self.integer(y, &join(&ckey, "year"), 1900, 2300)? as i32,
                None => {
                    return Err(self.err(
                        &join(&ckey, "year"),
                        "missing; expected the year of the change",
                    ));
                }
            };
            for (ck, cv) in ct {
                if ck == "year" {
                    continue;
                }
                let fkey = join(&ckey, ck);
                let Some(fspec) = D::specs().iter().find(|s| s.name == ck) else {
                    let mut names: Vec<&str> = D::specs().iter().map(|s| s.name).collect();
                    names.insert(0, "year");
                    return Err(self.unknown(&fkey, &names));
                };
                let x = self.number(cv, &fkey)?;
                fspec.check(x).map_err(|m| self.err(&fkey, m))?;
                out.push(TimelineChange {
                    year,
                    field: fspec.name,
                    value: x,
                });
            }
        }
        out.sort_by_key(|c| c.year);
        Ok(out)
    }

    fn treaty(&self, name: &str, v: &Value, path: &str) -> Result<Option<TreatySpec>> {
        let t = self.table(v, path)?;
        let mut spec = TreatySpec {
            name: name.to_string(),
            description: String::new(),
            design: TreatyDesign::default(),
            members: None,
            trust_forum: None,
            eligible: None,
            parties_data: Vec::new(),
            timeline: Vec::new(),
        };
        let mut enabled = true;
        for (k, v) in t {
            let key = join(path, k);
            match k.as_str() {
                "enabled" => enabled = self.boolean(v, &key)?,
                "description" => spec.description = self.string(v, &key)?.to_string(),
                "members" => spec.members = Some(self.selector(v, &key)?),
                "trust_forum" => {
                    // An empty name means no forum (e.g. in a world without forums).
                    let name = self.string(v, &key)?;
                    spec.trust_forum = (!name.is_empty()).then(|| name.to_string());
                }
                "eligible" => spec.eligible = Some(self.selector(v, &key)?),
                "parties_data" => {
                    let arr = v.as_array().ok_or_else(|| {
                        self.err(
                            &key,
                            format!(
                                "expected an array of treaty names of data/treaty_parties_to_2007.csv, found {}",
                                type_name(v)
                            ),
                        )
                    })?;
                    spec.parties_data = arr
                        .iter()
                        .enumerate()
                        .map(|(i, x)| self.string(x, &format!("{key}[{i}]")).map(str::to_string))
                        .collect::<Result<_>>()?;
                }
                "timeline" => spec.timeline = self.timeline::<TreatyDesign>(v, &key)?,
                _ => {
                    if TreatyDesign::spec(k).is_some() {
                        self.param(&mut spec.design, k, v, &key)?;
                    } else {
                        let mut names: Vec<&str> = TREATY_EXTRA_KEYS.to_vec();
                        names.extend(TreatyDesign::SPECS.iter().map(|s| s.name));
                        return Err(self.unknown(&key, &names));
                    }
                }
            }
        }
        Ok(enabled.then_some(spec))
    }

    fn event(&self, v: &Value, path: &str) -> Result<Event> {
        let t = self.table(v, path)?;
        let get = |k: &str| t.get(k);
        let kind_key = join(path, "kind");
        let kind = match get("kind") {
            Some(k) => self.string(k, &kind_key)?,
            None => {
                return Err(self.err(
                    &kind_key,
                    format!("missing; expected one of: {}", EVENT_KINDS.join(", ")),
                ));
            }
        };
        // The kind is resolved once into a closed set: every later match over it is exhaustive,
        // so no kind can fall through to another's arm.
        #[derive(Clone, Copy)]
        enum Kind {
            Crisis,
            Pressure,
            Firewall,
            LegalChannels,
            Enforcement,
        }
        let (kind, allowed): (Kind, &[&str]) = match kind {
            "crisis" => (Kind::Crisis, &["kind", "year", "region", "magnitude"]),
            "pressure" => (Kind::Pressure, &["kind", "year", "members", "shift"]),
            "firewall" => (Kind::Firewall, &["kind", "year", "members", "level"]),
            "legal_channels" => (Kind::LegalChannels, &["kind", "year", "members", "level"]),
            "enforcement" => (Kind::Enforcement, &["kind", "year", "members", "level"]),
            other => {
                return Err(self.err(
                    &kind_key,
                    format!(
                        "expected one of: {}, found {other:?}",
                        EVENT_KINDS.join(", ")
                    ),
                ));
            }
        };
        for k in t.keys() {
            if !allowed.contains(&k.as_str()) {
                return Err(self.unknown(&join(path, k), allowed));
            }
        }
        let need = |k: &str| -> Result<&Value> {
            get(k).ok_or_else(|| self.err(&join(path, k), "missing"))
        };
        let year = self.integer(need("year")?, &join(path, "year"), 1900, 2300)? as i32;
        let ranged = |k: &str, lo: f64, hi: f64| -> Result<f64> {
            let key = join(path, k);
            let x = self.number(need(k)?, &key)?;
            if !(lo..=hi).contains(&x) {
                return Err(self.err(&key, format!("expected a value in [{lo}, {hi}], found {x}")));
            }
            Ok(x)
        };
        let members = || -> Result<Selector> {
            match get("members") {
                Some(m) => self.selector(m, &join(path, "members")),
                None => Ok(Selector {
                    all: true,
                    ..Selector::default()
                }),
            }
        };
        Ok(match kind {
            Kind::Crisis => Event::Crisis {
                year,
                region: self
                    .string(need("region")?, &join(path, "region"))?
                    .to_string(),
                magnitude: ranged("magnitude", 0.0, 1000.0)?,
            },
            Kind::Pressure => Event::Pressure {
                year,
                members: members()?,
                shift: ranged("shift", -1.0, 1.0)?,
            },
            Kind::Firewall => Event::Firewall {
                year,
                members: members()?,
                level: ranged("level", 0.0, 1.0)?,
            },
            Kind::LegalChannels => Event::LegalChannels {
                year,
                members: members()?,
                level: ranged("level", 0.0, 1.0)?,
            },
            Kind::Enforcement => Event::Enforcement {
                year,
                members: members()?,
                level: ranged("level", 0.0, 1.0)?,
            },
        })
    }

    /// Checks names against the facts of the world: State codes, regions, forum tables.
    fn check_against_facts(&self, s: &Scenario) -> Result<()> {
        let facts = s.facts()?;
        let check_selector = |sel: &Selector, key: &str| -> Result<()> {
            if let Some(codes) = &sel.iso3 {
                for (k, c) in codes.iter().enumerate() {
                    if facts.state_by_iso3(c).is_none() {
                        return Err(self.err(
                            &format!("{key}[{k}]"),
                            format!("unknown State code {c:?}; expected a code of the world's States (e.g. \"{}\")", facts.iso3[0]),
                        ));
                    }
                }
            }
            if let Some(regions) = &sel.regions {
                for r in regions {
                    if !facts.is_region_name(r) {
                        return Err(self.err(
                            &join(key, "region"),
                            format!(
                                "unknown region {r:?}; expected a migration region ({}) or a continent or sub-region ({})",
                                facts.region_names.join(", "),
                                facts.region_alias_names().join(", ")
                            ),
                        ));
                    }
                }
            }
            if let Some(d) = &sel.data
                && !facts.forum_roles.contains_key(d)
            {
                let known: Vec<&str> = facts.forum_roles.keys().map(String::as_str).collect();
                return Err(self.err(
                    &join(key, "data"),
                    if known.is_empty() {
                        "membership tables exist only for world kind \"un193\"".to_string()
                    } else {
                        format!(
                            "unknown forum table {d:?}; expected one of: {}",
                            known.join(", ")
                        )
                    },
                ));
            }
            Ok(())
        };
        for f in &s.forums {
            check_selector(&f.members, &format!("forums.{}.members", f.name))?;
            check_selector(&f.observers, &format!("forums.{}.observers", f.name))?;
            check_selector(&f.chairs, &format!("forums.{}.chairs", f.name))?;
        }
        for t in &s.treaties {
            if let Some(m) = &t.members {
                check_selector(m, &format!("treaties.{}.members", t.name))?;
            }
            if let Some(m) = &t.eligible {
                check_selector(m, &format!("treaties.{}.eligible", t.name))?;
            }
            for (k, name) in t.parties_data.iter().enumerate() {
                if !facts.history.ratified.contains_key(name) {
                    let known: Vec<&str> =
                        facts.history.ratified.keys().map(String::as_str).collect();
                    return Err(self.err(
                        &format!("treaties.{}.parties_data[{k}]", t.name),
                        if known.is_empty() {
                            "the record of treaty parties exists only for world kind \"un193\""
                                .to_string()
                        } else {
                            format!(
                                "unknown treaty {name:?}; expected one of: {}",
                                known.join(", ")
                            )
                        },
                    ));
                }
            }
            if let Some(tf) = &t.trust_forum
                && !s.forums.iter().any(|f| &f.name == tf)
            {
                return Err(self.err(
                    &format!("treaties.{}.trust_forum", t.name),
                    format!("unknown forum {tf:?}; expected the name of an enabled forum of this scenario"),
                ));
            }
        }
        for (k, e) in s.events.iter().enumerate() {
            match e {
                Event::Crisis { region, .. } => {
                    if !facts.region_names.iter().any(|r| r == region) {
                        return Err(self.err(
                            &format!("events[{k}].region"),
                            format!(
                                "unknown migration region {region:?}; expected one of: {}",
                                facts.region_names.join(", ")
                            ),
                        ));
                    }
                }
                Event::Pressure { members, .. }
                | Event::Firewall { members, .. }
                | Event::LegalChannels { members, .. }
                | Event::Enforcement { members, .. } => {
                    check_selector(members, &format!("events[{k}].members"))?;
                }
            }
        }
        Ok(())
    }
}

fn timeline_value(timeline: &[TimelineChange]) -> Value {
    Value::Array(
        timeline
            .iter()
            .map(|c| {
                let mut ct = Table::new();
                ct.insert("year".into(), Value::Integer(c.year.into()));
                ct.insert(c.field.into(), Value::Float(c.value));
                Value::Table(ct)
            })
            .collect(),
    )
}

fn section_table<S: Section>(s: &S) -> Table {
    let mut t = Table::new();
    for spec in S::specs() {
        let v = s.value(spec.name).unwrap_or(spec.default);
        let value = if spec.kind == Kind::Int {
            Value::Integer(v as i64)
        } else {
            Value::Float(v)
        };
        t.insert(spec.name.to_string(), value);
    }
    t
}

fn selector_value(s: &Selector) -> Value {
    if s.all {
        return Value::String("all".into());
    }
    if s.is_empty_rule() {
        return Value::String("none".into());
    }
    if let (Some(codes), None, None, None) = (&s.iso3, &s.regions, &s.income, &s.data) {
        return Value::Array(codes.iter().cloned().map(Value::String).collect());
    }
    let mut t = Table::new();
    let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
    if let Some(r) = &s.regions {
        t.insert("region".into(), strings(r));
    }
    if let Some(g) = &s.income {
        t.insert(
            "income".into(),
            Value::Array(g.iter().map(|g| Value::String(g.name().into())).collect()),
        );
    }
    if let Some(d) = &s.data {
        t.insert("data".into(), Value::String(d.clone()));
    }
    if let Some(c) = &s.iso3 {
        t.insert("iso3".into(), strings(c));
    }
    Value::Table(t)
}

/// Every setting of a scenario with its resolved value.
pub(super) fn resolved_table(s: &Scenario) -> Table {
    let mut t = Table::new();
    t.insert("name".into(), Value::String(s.name.clone()));
    t.insert("description".into(), Value::String(s.description.clone()));
    t.insert("passage".into(), Value::String(s.passage.clone()));
    let mut run = Table::new();
    run.insert("start_year".into(), Value::Integer(s.run.start_year.into()));
    run.insert("end_year".into(), Value::Integer(s.run.end_year.into()));
    run.insert(
        "replications".into(),
        Value::Integer(s.run.replications as i64),
    );
    run.insert("seed".into(), Value::Integer(s.run.seed as i64));
    t.insert("run".into(), Value::Table(run));
    let mut world = section_table(&s.world);
    world.insert("factual".into(), Value::String(s.factual_name.clone()));
    world.insert(
        "kind".into(),
        Value::String(
            match s.world_kind {
                WorldKind::Un193 => "un193",
                WorldKind::Synthetic => "synthetic",
            }
            .into(),
        ),
    );
    t.insert("world".into(), Value::Table(world));
    t.insert("flows".into(), Value::Table(section_table(&s.flows)));
    t.insert(
        "admission".into(),
        Value::Table(section_table(&s.admission)),
    );
    t.insert("pressure".into(), Value::Table(section_table(&s.pressure)));
    t.insert("policy".into(), Value::Table(section_table(&s.policy)));
    t.insert(
        "forum_dynamics".into(),
        Value::Table(section_table(&s.forum_dynamics)),
    );
    t.insert(
        "treaty_dynamics".into(),
        Value::Table(section_table(&s.treaty_dynamics)),
    );
    let mut bilateral = section_table(&s.bilateral);
    if !s.bilateral_timeline.is_empty() {
        bilateral.insert("timeline".into(), timeline_value(&s.bilateral_timeline));
    }
    t.insert("bilateral".into(), Value::Table(bilateral));
    t.insert(
        "observation".into(),
        Value::Table(section_table(&s.observation)),
    );
    let mut forums = Table::new();
    for f in &s.forums {
        let mut ft = section_table(&f.design);
        ft.insert("description".into(), Value::String(f.description.clone()));
        ft.insert("members".into(), selector_value(&f.members));
        ft.insert("observers".into(), selector_value(&f.observers));
        if !f.chairs.is_empty_rule() {
            ft.insert("chairs".into(), selector_value(&f.chairs));
        }
        ft.insert("timeline".into(), timeline_value(&f.timeline));
        ft.insert(
            "skip_years".into(),
            Value::Array(
                f.skip_years
                    .iter()
                    .map(|&y| Value::Integer(y.into()))
                    .collect(),
            ),
        );
        forums.insert(f.name.clone(), Value::Table(ft));
    }
    t.insert("forums".into(), Value::Table(forums));
    if !s.priors.is_empty() || s.posterior.is_some() {
        let mut cal = Table::new();
        if !s.priors.is_empty() {
            let mut priors = Table::new();
            for p in &s.priors {
                priors.insert(
                    p.key.clone(),
                    Value::Array(vec![Value::Float(p.low), Value::Float(p.high)]),
                );
            }
            cal.insert("priors".into(), Value::Table(priors));
        }
        if let Some(d) = &s.posterior {
            cal.insert("posterior".into(), Value::String(d.source.clone()));
        }
        t.insert("calibration".into(), Value::Table(cal));
    }
    let mut treaties = Table::new();
    for tr in &s.treaties {
        let mut tt = section_table(&tr.design);
        tt.insert("description".into(), Value::String(tr.description.clone()));
        if let Some(m) = &tr.members {
            tt.insert("members".into(), selector_value(m));
        }
        if let Some(f) = &tr.trust_forum {
            tt.insert("trust_forum".into(), Value::String(f.clone()));
        }
        if !tr.parties_data.is_empty() {
            tt.insert(
                "parties_data".into(),
                Value::Array(
                    tr.parties_data
                        .iter()
                        .map(|n| Value::String(n.clone()))
                        .collect(),
                ),
            );
        }
        if !tr.timeline.is_empty() {
            tt.insert("timeline".into(), timeline_value(&tr.timeline));
        }
        if let Some(m) = &tr.eligible {
            tt.insert("eligible".into(), selector_value(m));
        }
        treaties.insert(tr.name.clone(), Value::Table(tt));
    }
    t.insert("treaties".into(), Value::Table(treaties));
    let events: Vec<Value> = s
        .events
        .iter()
        .map(|e| {
            let mut et = Table::new();
            et.insert("year".into(), Value::Integer(e.year().into()));
            match e {
                Event::Crisis {
                    region, magnitude, ..
                } => {
                    et.insert("kind".into(), Value::String("crisis".into()));
                    et.insert("region".into(), Value::String(region.clone()));
                    et.insert("magnitude".into(), Value::Float(*magnitude));
                }
                Event::Pressure { members, shift, .. } => {
                    et.insert("kind".into(), Value::String("pressure".into()));
                    et.insert("members".into(), selector_value(members));
                    et.insert("shift".into(), Value::Float(*shift));
                }
                Event::Firewall { members, level, .. } => {
                    et.insert("kind".into(), Value::String("firewall".into()));
                    et.insert("members".into(), selector_value(members));
                    et.insert("level".into(), Value::Float(*level));
                }
                Event::LegalChannels { members, level, .. } => {
                    et.insert("kind".into(), Value::String("legal_channels".into()));
                    et.insert("members".into(), selector_value(members));
                    et.insert("level".into(), Value::Float(*level));
                }
                Event::Enforcement { members, level, .. } => {
                    et.insert("kind".into(), Value::String("enforcement".into()));
                    et.insert("members".into(), selector_value(members));
                    et.insert("level".into(), Value::Float(*level));
                }
            }
            Value::Table(et)
        })
        .collect();
    t.insert("events".into(), Value::Array(events));
    if let Some(sw) = &s.sweep {
        let mut st = Table::new();
        match sw.design {
            crate::experiment::design::Design::Grid => {
                st.insert("design".into(), Value::String("grid".into()));
            }
            crate::experiment::design::Design::Lhs { samples } => {
                st.insert("design".into(), Value::String("lhs".into()));
                st.insert("samples".into(), Value::Integer(samples as i64));
            }
        }
        let mut ps = Table::new();
        for p in &sw.params {
            let mut pt = Table::new();
            pt.insert("from".into(), Value::Float(p.from));
            pt.insert("to".into(), Value::Float(p.to));
            pt.insert("steps".into(), Value::Integer(p.steps as i64));
            ps.insert(p.key.clone(), Value::Table(pt));
        }
        st.insert("parameters".into(), Value::Table(ps));
        t.insert("sweep".into(), Value::Table(st));
    }
    t
}
