//! The scenario reader under mutated files: every shipped scenario with lines deleted, doubled
//! or swapped, numbers replaced by extreme or ill-typed values, fragments inserted, bytes flipped
//! and the text cut short. Whatever the file, loading it never panics; a file that loads writes a
//! resolved scenario that loads back to the same hash (as `merge` and `rerun` need), and two
//! years of it simulate without a panic.
//!
//! It runs briefly with the tests (64 cases); `FORUMSIM_FUZZ_CASES=N` runs N.

use std::path::Path;

use proptest::prelude::*;

use super::Scenario;
use super::library::LIBRARY;

/// Values put in place of a number.
const VALUES: &[&str] = &[
    "0",
    "-1",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "-inf",
    "9223372036854775807",
    "-9223372036854775808",
    "1.5",
    "2300",
    "1899",
    "\"x\"",
    "[]",
    "{}",
    "true",
];

/// Lines inserted somewhere.
const FRAGMENTS: &[&str] = &[
    "[[events]]",
    "kind = \"legal_channels\"",
    "kind = \"crisis\"",
    "year = 2010",
    "level = 0.5",
    "members = \"all\"",
    "members = { region = \"Nowhere\" }",
    "members = [\"XXX\"]",
    "extends = \"status_quo.toml\"",
    "extends = \"missing.toml\"",
    "extends = \"fuzzed.toml\"",
    "[sweep]",
    "design = \"lhs\"",
    "[sweep.parameters.\"flows.beta_far\"]",
    "from = 1",
    "[world]",
    "kind = \"synthetic\"",
    "n_states = 2",
    "n_regions = 1000",
    "[run]",
    "end_year = 2007",
    "start_year = 2056",
    "[forums.NEW]",
    "enabled = false",
    "[treaties.ICRMW]",
    "trust_forum = \"NOPE\"",
    "[[forums.GFMD.timeline]]",
    "\u{0}",
    "é = 1",
];

#[derive(Debug, Clone, Copy)]
enum Mutation {
    DeleteLine(usize),
    DoubleLine(usize),
    SwapLines(usize, usize),
    ReplaceNumber(usize, usize),
    Insert(usize, usize),
    FlipByte(usize, u8),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let n = any::<usize>();
    prop_oneof![
        n.prop_map(Mutation::DeleteLine),
        n.prop_map(Mutation::DoubleLine),
        (n, n).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (n, n).prop_map(|(a, b)| Mutation::ReplaceNumber(a, b)),
        (n, n).prop_map(|(a, b)| Mutation::Insert(a, b)),
        (n, any::<u8>()).prop_map(|(a, b)| Mutation::FlipByte(a, b)),
        n.prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &[u8], m: Mutation) -> Vec<u8> {
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    let join = |lines: Vec<&[u8]>| lines.join(&b'\n');
    let at = |k: usize| k % lines.len().max(1);
    match m {
        Mutation::DeleteLine(k) => {
            let mut l = lines.clone();
            if !l.is_empty() {
                l.remove(at(k));
            }
            join(l)
        }
        Mutation::DoubleLine(k) => {
            let mut l = lines.clone();
            if !l.is_empty() {
                l.insert(at(k), lines[at(k)]);
            }
            join(l)
        }
        Mutation::SwapLines(a, b) => {
            let mut l = lines.clone();
            if !l.is_empty() {
                l.swap(at(a), at(b));
            }
            join(l)
        }
        Mutation::ReplaceNumber(k, v) => {
            // The k-th line with "= <number>" gets another value.
            let numbered: Vec<usize> = (0..lines.len())
                .filter(|&i| {
                    let l = String::from_utf8_lossy(lines[i]);
                    l.split_once('=').is_some_and(|(_, r)| {
                        r.trim()
                            .starts_with(|c: char| c.is_ascii_digit() || c == '-')
                    })
                })
                .collect();
            if numbered.is_empty() {
                return text.to_vec();
            }
            let i = numbered[k % numbered.len()];
            let line = String::from_utf8_lossy(lines[i]).into_owned();
            let (key, _) = line.split_once('=').unwrap_or((&line, ""));
            let new = format!("{key}= {}", VALUES[v % VALUES.len()]);
            let mut l = lines.clone();
            l[i] = new.as_bytes();
            join(l)
        }
        Mutation::Insert(k, f) => {
            let mut l = lines.clone();
            let pos = k % (lines.len() + 1);
            l.insert(pos, FRAGMENTS[f % FRAGMENTS.len()].as_bytes());
            join(l)
        }
        Mutation::FlipByte(k, b) => {
            let mut t = text.to_vec();
            if !t.is_empty() {
                let i = k % t.len();
                t[i] ^= b.max(1);
            }
            t
        }
        Mutation::Truncate(k) => text[..k % (text.len() + 1)].to_vec(),
    }
}

/// Loads the mutated file `fuzzed.toml` in `dir` (beside copies of the library, which it may
/// extend) and checks what a loaded scenario promises.
fn check(dir: &Path, bytes: &[u8]) {
    let path = dir.join("fuzzed.toml");
    std::fs::write(&path, bytes).expect("write");
    let Ok(scenario) = Scenario::load(&path) else {
        return;
    };
    let resolved = dir.join("resolved.toml");
    std::fs::write(&resolved, scenario.resolved_toml()).expect("write");
    let again = Scenario::load(&resolved).expect("a resolved scenario loads");
    assert_eq!(
        again.content_hash(),
        scenario.content_hash(),
        "the resolved scenario loads back to the same hash"
    );
    let mut short = scenario.clone();
    short.run.end_year = short.run.start_year + 1;
    let facts = short.facts().expect("the facts of a loaded scenario");
    // An invariant broken by extreme parameters is a recorded failure, not a panic.
    let _ = crate::experiment::simulate(&short, &facts, 1, 0, 0);
}

fn cases() -> u32 {
    std::env::var("FORUMSIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_scenario_files_never_panic(
        file in 0..LIBRARY.len(),
        mutations in proptest::collection::vec(mutation(), 1..5),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in LIBRARY {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        let mut bytes = LIBRARY[file].1.as_bytes().to_vec();
        for m in mutations {
            bytes = apply(&bytes, m);
        }
        check(dir.path(), &bytes);
    }
}
