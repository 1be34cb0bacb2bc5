//! What the commands share beyond the model: command-line overrides (`--set`, `--sweep`) and the
//! rule for keys a timeline also changes, the names of result folders, finding a scenario by file
//! or built-in name, `list` and `new`. The binary (`src/main.rs`) only parses and prints.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::experiment::design::{Design, Sweep, SweepParam};
use crate::scenario::{Scenario, library};

/// `KEY=VALUE` of `--set` and `--sweep`.
pub fn split_assignment<'a>(flag: &str, text: &'a str) -> Result<(&'a str, &'a str)> {
    text.split_once('=').ok_or_else(|| Error::Invalid {
        file: flag.into(),
        key: text.into(),
        message: "expected KEY=VALUE".into(),
    })
}

/// A number of the command line; the error names the option and the key.
pub fn cli_number(flag: &str, key: &str, text: &str) -> Result<f64> {
    text.trim().parse::<f64>().map_err(|_| Error::Invalid {
        file: flag.into(),
        key: key.into(),
        message: format!("expected a number, found {text:?}"),
    })
}

/// The overrides of `forumsim run`: `--set`, `--sweep`, `--design`, `--samples`.
#[derive(Debug, Clone, Default)]
pub struct Overrides<'a> {
    pub set: &'a [String],
    pub sweep: &'a [String],
    pub design: &'a str,
    pub samples: Option<usize>,
}

/// What [`apply_overrides`] made of the overrides.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The sweep of `--sweep`, or the scenario's own `[sweep]`.
    pub sweep: Option<Sweep>,
    /// One line each: a value that replaces what the scenario's timeline sets.
    pub warnings: Vec<String>,
}

/// Applies `--set` to `scenario` and builds the sweep of `--sweep` (or takes the scenario's own).
/// A key that the scenario's timeline changes later is set for the whole run (the timeline's
/// changes of it are dropped) and warned about; `KEY@YEAR` sets it from that year on only.
pub fn apply_overrides(scenario: &mut Scenario, o: &Overrides) -> Result<Applied> {
    let mut warnings = Vec::new();
    for assignment in o.set {
        let (key, value) = split_assignment("--set", assignment)?;
        let value = cli_number("--set", key, value)?;
        let note = scenario.timeline_overrides("--set", key);
        scenario
            .set(key, value)
            .map_err(Error::invalid("--set", key))?;
        warnings.extend(note);
    }
    let design = match o.design {
        "grid" if o.samples.is_some() => {
            return Err(Error::Invalid {
                file: "--samples".into(),
                key: "grid".into(),
                message: "applies to --design lhs only; a grid has the points of its --sweep steps"
                    .into(),
            });
        }
        "grid" => Design::Grid,
        "lhs" => Design::Lhs {
            samples: o.samples.filter(|&n| n > 0).ok_or_else(|| Error::Invalid {
                file: "--design".into(),
                key: "lhs".into(),
                message: "expected --samples N with N > 0".into(),
            })?,
        },
        other => {
            return Err(Error::Invalid {
                file: "--design".into(),
                key: other.into(),
                message: "expected grid or lhs".into(),
            });
        }
    };
    if o.sweep.is_empty() {
        if o.design != "grid" || o.samples.is_some() {
            return Err(Error::Invalid {
                file: "--design".into(),
                key: o.design.into(),
                message: "--design and --samples shape the sweep of --sweep KEY=FROM:TO, which is missing (a scenario's own [sweep] sets its design and samples in the file)".into(),
            });
        }
        let sweep = scenario.sweep.clone();
        for p in sweep.iter().flat_map(|s| &s.params) {
            warnings.extend(scenario.timeline_overrides("[sweep]", &p.key));
        }
        return Ok(Applied { sweep, warnings });
    }
    let mut params = Vec::new();
    for text in o.sweep {
        let (key, range) = split_assignment("--sweep", text)?;
        let parts: Vec<&str> = range.split(':').collect();
        if parts.len() < 2 || parts.len() > 3 {
            return Err(Error::Invalid {
                file: "--sweep".into(),
                key: key.into(),
                message: format!("expected FROM:TO or FROM:TO:STEPS, found {range:?}"),
            });
        }
        let from = cli_number("--sweep", key, parts[0])?;
        let to = cli_number("--sweep", key, parts[1])?;
        let steps = match parts.get(2) {
            Some(s) => s
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| Error::Invalid {
                    file: "--sweep".into(),
                    key: key.into(),
                    message: format!("expected a whole number of steps >= 1, found {s:?}"),
                })?,
            None => 2,
        };
        let (_, spec) = scenario
            .parameter(key)
            .map_err(Error::invalid("--sweep", key))?;
        for x in [from, to] {
            spec.check(x).map_err(Error::invalid("--sweep", key))?;
        }
        warnings.extend(scenario.timeline_overrides("--sweep", key));
        params.push(SweepParam {
            key: key.into(),
            from,
            to,
            steps,
        });
    }
    Ok(Applied {
        sweep: Some(Sweep { design, params }),
        warnings,
    })
}

/// FNV-1a 64 of a text, as 8 hex digits: a short, stable tag of a set of overrides.
fn short_hash(text: &str) -> String {
    format!(
        "{:08x}",
        crate::experiment::seeds::fnv1a64(text) & 0xffff_ffff
    )
}

/// The label of a run with command-line overrides: the scenario's name, `-set-` or `-sweep-`,
/// and a short hash of the overrides (`status_quo-set-1a2b3c4d`), so that its results never
/// stand in the folder, or under the name, of the scenario as written. `None` without overrides.
pub fn override_label(name: &str, set: &[String], sweep: &[String]) -> Option<String> {
    if set.is_empty() && sweep.is_empty() {
        return None;
    }
    let all: Vec<&str> = set.iter().chain(sweep).map(String::as_str).collect();
    let kind = if sweep.is_empty() { "set" } else { "sweep" };
    Some(format!("{name}-{kind}-{}", short_hash(&all.join("\n"))))
}

/// The default folder of a comparison: `output/comparison` for the default comparison (the
/// status quo and the seed's proposals), else `output/<base>-vs-<other>[-<other>...]`, shortened
/// with a hash of all the names past 120 bytes.
pub fn comparison_dir(scenarios: &[Scenario], default_set: bool) -> PathBuf {
    if default_set {
        return Path::new("output").join("comparison");
    }
    let names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
    let mut name = match names.split_first() {
        Some((base, rest)) if !rest.is_empty() => format!("{base}-vs-{}", rest.join("-")),
        Some((base, _)) => format!("{base}-alone"),
        None => "comparison".into(),
    };
    if name.len() > 120 {
        let hash = short_hash(&names.join("\n"));
        let mut cut = 100;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name = format!("{}-{hash}", &name[..cut]);
    }
    Path::new("output").join(name)
}

/// Where a scenario named on the command line came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The file of that path.
    File,
    /// No such file: the built-in scenario of that name.
    Builtin(String),
}

/// The built-in scenario a command-line argument names when no file has that path: `NAME`,
/// `NAME.toml` or `scenarios/NAME.toml`.
pub fn builtin_name(arg: &Path) -> Option<String> {
    let text = arg.to_str()?;
    let stem = text
        .strip_prefix("scenarios/")
        .unwrap_or(text)
        .trim_end_matches(".toml");
    library::LIBRARY
        .iter()
        .any(|(file, _)| file.trim_end_matches(".toml") == stem)
        .then(|| stem.to_string())
}

/// Loads the scenario a command-line argument names: the file at that path if there is one (a
/// file path wins), else the built-in scenario of that name.
pub fn open_scenario(arg: &Path) -> Result<(Scenario, Found)> {
    if std::fs::symlink_metadata(arg).is_err()
        && let Some(name) = builtin_name(arg)
    {
        return Ok((Scenario::builtin(&name)?, Found::Builtin(name)));
    }
    Ok((Scenario::load(arg)?, Found::File))
}

/// One line of `forumsim list` per built-in scenario: its name and the first line of its
/// description.
pub fn list_builtin() -> Result<Vec<(String, String)>> {
    library::LIBRARY
        .iter()
        .map(|(file, _)| {
            let name = file.trim_end_matches(".toml");
            let s = Scenario::builtin(name)?;
            Ok((
                name.to_string(),
                s.description.lines().next().unwrap_or("").to_string(),
            ))
        })
        .collect()
}

/// One line of `forumsim list DIR` per `.toml` file of a folder (an invalid file says why).
pub fn list_folder(dir: &Path) -> Result<Vec<(String, String)>> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|source| Error::Read {
            file: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    entries.sort();
    Ok(entries
        .into_iter()
        .map(|path| {
            let line = match Scenario::load(&path) {
                Ok(s) => s.description.lines().next().unwrap_or("").to_string(),
                Err(e) => format!("(invalid: {e})"),
            };
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (stem, line)
        })
        .collect())
}

/// The text `forumsim new NAME` writes: a variant of the status quo, every line commented.
pub fn new_scenario_text(name: &str) -> String {
    format!(
        r#"# {name}: a variant of the status quo. Check it with `forumsim check {name}.toml`, compare it
# with `forumsim compare status_quo {name}.toml`. Every parameter, its range and meaning:
# `forumsim params`; the model: docs/ODD.md.

# The scenario this one starts from: a file beside this one, or a built-in scenario's name
# (`forumsim list` shows them). Events and timelines are added to the parent's; other values
# replace.
extends = "status_quo.toml"
name = "{name}"
description = """One line that says what this variant changes (shown by `forumsim list`)"""

[run]
# start_year = 2007
# end_year = 2056
# replications = 200
# seed = 20160209

# A forum's design, for the whole run (a timeline entry below changes it from a year on):
# [forums.GFMD]
# memory = 0.5

# A change of design from a year on (this adds to the status quo's GFMD timeline):
# [[forums.GFMD.timeline]]
# year = 2017
# memory = 0.9
# transparency = 0.8
# civil_society = 0.6

# An event: a displacement crisis, a shift of domestic pressure, a firewall, legal channels
# held open, enforcement held up (see `forumsim params` for each kind's fields):
# [[events]]
# kind = "crisis"
# year = 2030
# region = "Western Asia"
# magnitude = 2.0
"#
    )
}

/// Writes the file of `forumsim new NAME` at `path`; an existing file is replaced only with
/// `force`.
pub fn write_new_scenario(path: &Path, name: &str, force: bool) -> Result<()> {
    if !force && std::fs::symlink_metadata(path).is_ok() {
        return Err(Error::Invalid {
            file: path.to_path_buf(),
            key: "new".into(),
            message: "already exists; choose another name or pass --force to replace it".into(),
        });
    }
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(Error::Invalid {
            file: path.to_path_buf(),
            key: "name".into(),
            message: format!("expected letters, digits, _ or -, found {name:?}"),
        });
    }
    std::fs::write(path, new_scenario_text(name)).map_err(Error::write(path))
}
