//! The scenario library built into the binary, so that a fresh clone (or an installed binary) runs
//! the seed's scenarios without the `scenarios/` folder. The files are the same as in that folder.

/// The scenario that `forumsim run` uses without a file.
pub const DEFAULT: &str = "status_quo";

/// The seed's proposals, each alone and all together: what the default comparison puts beside
/// the status quo.
pub const PROPOSALS: &[&str] = &[
    "un_platform",
    "regular_hld",
    "iom_protection_mandate",
    "firewalls",
    "civil_society_capacity",
    "open_legal_channels",
    "all_proposals",
];

macro_rules! library {
    ($($name:literal),* $(,)?) => {
        /// Every built-in scenario file: (file name, text).
        pub const LIBRARY: &[(&str, &str)] = &[
            $( ($name, include_str!(concat!("../../scenarios/", $name))), )*
        ];
    };
}

library![
    "all_proposals.toml",
    "bilateral_turn.toml",
    "civil_society_capacity.toml",
    "crisis_2015.toml",
    "destination_dominance.toml",
    "firewalls.toml",
    "informal_only.toml",
    "iom_protection_mandate.toml",
    "no_forums.toml",
    "open_legal_channels.toml",
    "populist_wave.toml",
    "refugee_regime_under_strain.toml",
    "regular_hld.toml",
    "responsibility_sharing.toml",
    "status_quo.toml",
    "synthetic_world.toml",
    "un_platform.toml",
];

/// Data files of the library (posteriors the built-in scenarios run over), by file name.
pub const DATA: &[(&str, &str)] = &[(
    "status_quo_posterior.csv",
    include_str!("../../scenarios/status_quo_posterior.csv"),
)];

/// A data file of the library by name.
pub fn data_file(name: &str) -> Option<&'static str> {
    DATA.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of `scenarios/` is in the library, and every library scenario loads.
    #[test]
    fn library_matches_the_scenarios_folder() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("scenarios folder")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        files.sort();
        let mut built_in: Vec<String> = LIBRARY.iter().map(|(n, _)| n.to_string()).collect();
        built_in.sort();
        assert_eq!(files, built_in);
        for (file, _) in LIBRARY {
            let name = file.trim_end_matches(".toml");
            crate::Scenario::builtin(name).expect("built-in scenario loads");
        }
        for name in PROPOSALS.iter().chain([&DEFAULT]) {
            assert!(LIBRARY.iter().any(|(f, _)| *f == format!("{name}.toml")));
        }
    }
}
