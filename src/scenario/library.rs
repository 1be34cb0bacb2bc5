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

library!["status_quo.toml"];
