//! Display names and definitions: the one table that turns the keys of the result files
//! (scenario names, metric columns, forum and treaty identifiers) into words for charts, reports
//! and tables read by policy readers.
//!
//! Every chart title, axis, legend entry and report heading takes its words from here, so a
//! scenario or metric reads the same everywhere. A key that is not in the tables (a user's own
//! scenario or forum) reads as its identifier with underscores as spaces.

/// A metric's display name, unit and definition.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricName {
    /// Short name for a title or a table row ("Mean rights protection").
    pub name: String,
    /// What its numbers are ("level, 0–1", "States", "share of the stock").
    pub unit: String,
    /// One sentence a reader can check the number against.
    pub definition: String,
    /// Whether the quantity counts things (States, agreements): drawn with integer ticks.
    pub count: bool,
}

/// Which sign of the race-to-the-bottom index is good: one line for every chart and table of it.
pub const RTB_SIGN: &str = "RTB index: relative fall of mean protection from the start to the end; \
above 0 = protection fell (a race to the bottom), below 0 = protection rose. Lower is better.";

/// [`RTB_SIGN`] in one line, for the note under a chart of the RTB index.
pub const RTB_SIGN_SHORT: &str =
    "RTB index above 0: protection fell (a race to the bottom); below 0: it rose. Lower is better.";

/// Built-in scenarios: (name, display name).
const SCENARIOS: [(&str, &str); 17] = [
    ("status_quo", "Status quo"),
    ("un_platform", "UN platform on migrants' rights"),
    ("regular_hld", "Regular High-Level Dialogues"),
    (
        "iom_protection_mandate",
        "Protection mandate for secretariats",
    ),
    ("firewalls", "Firewalls between services and enforcement"),
    ("civil_society_capacity", "Civil-society capacity"),
    ("open_legal_channels", "Open legal channels"),
    ("all_proposals", "All proposals together"),
    ("informal_only", "Informal forums only"),
    ("no_forums", "No forums"),
    ("crisis_2015", "2015 displacement crisis"),
    ("populist_wave", "Populist wave"),
    ("destination_dominance", "Destination dominance in RCPs"),
    ("bilateral_turn", "Bilateral turn"),
    ("refugee_regime_under_strain", "Refugee regime under strain"),
    ("responsibility_sharing", "Responsibility sharing"),
    ("synthetic_world", "Synthetic world"),
];

/// Forums of the status quo: (identifier, short name, full name).
const FORUMS: [(&str, &str, &str); 21] = [
    ("GFMD", "GFMD", "Global Forum on Migration and Development"),
    (
        "HLD",
        "UN High-Level Dialogue",
        "UN High-Level Dialogue on International Migration and Development",
    ),
    (
        "IGC",
        "IGC",
        "Intergovernmental Consultations on Migration, Asylum and Refugees",
    ),
    (
        "RCM",
        "Puebla Process",
        "Regional Conference on Migration (Puebla Process)",
    ),
    (
        "SACM",
        "South American Conference",
        "South American Conference on Migration",
    ),
    (
        "Colombo",
        "Colombo Process",
        "Regional Consultative Process on Overseas Employment and Contractual Labour for Countries of Origin in Asia (Colombo Process)",
    ),
    (
        "ADD",
        "Abu Dhabi Dialogue",
        "Abu Dhabi Dialogue (Ministerial Consultation on Overseas Employment and Contractual Labour)",
    ),
    (
        "Bali",
        "Bali Process",
        "Bali Process on People Smuggling, Trafficking in Persons and Related Transnational Crime",
    ),
    ("Budapest", "Budapest Process", "Budapest Process"),
    ("Prague", "Prague Process", "Prague Process"),
    (
        "Almaty",
        "Almaty Process",
        "Almaty Process on Refugee Protection and International Migration",
    ),
    (
        "MTM",
        "Mediterranean Transit Dialogue",
        "Mediterranean Transit Migration Dialogue",
    ),
    (
        "Rabat",
        "Rabat Process",
        "Euro-African Dialogue on Migration and Development (Rabat Process)",
    ),
    (
        "Khartoum",
        "Khartoum Process",
        "EU-Horn of Africa Migration Route Initiative (Khartoum Process)",
    ),
    ("MIDWA", "MIDWA", "Migration Dialogue for West Africa"),
    ("MIDSA", "MIDSA", "Migration Dialogue for Southern Africa"),
    (
        "IGAD-RCP",
        "IGAD RCP",
        "IGAD Regional Consultative Process on Migration",
    ),
    (
        "MIDCAS",
        "MIDCAS",
        "Migration Dialogue for Central African States",
    ),
    (
        "COMESA-RCP",
        "COMESA RCP",
        "COMESA Regional Consultative Process on Migration",
    ),
    (
        "ARCP",
        "Arab RCP",
        "Arab Regional Consultative Process on Migration and Refugee Affairs",
    ),
    ("PIDC", "PIDC", "Pacific Immigration Directors' Conference"),
];

/// Treaties of the status quo: (identifier, short name, full name).
const TREATIES: [(&str, &str, &str); 9] = [
    (
        "Refugee_Convention",
        "Refugee Convention",
        "1951 Convention relating to the Status of Refugees and its 1967 Protocol",
    ),
    ("ECHR", "ECHR", "European Convention on Human Rights"),
    (
        "American_Convention",
        "American Convention",
        "American Convention on Human Rights",
    ),
    (
        "ICRMW",
        "Migrant Workers Convention",
        "International Convention on the Protection of the Rights of All Migrant Workers and Members of Their Families (ICRMW)",
    ),
    (
        "Trafficking_Protocol",
        "Palermo Protocol",
        "Protocol to Prevent, Suppress and Punish Trafficking in Persons (Palermo Protocol)",
    ),
    (
        "ILO_C97",
        "ILO C97",
        "ILO Migration for Employment Convention (Revised), 1949 (No. 97)",
    ),
    (
        "ILO_C143",
        "ILO C143",
        "ILO Migrant Workers (Supplementary Provisions) Convention, 1975 (No. 143)",
    ),
    (
        "CoE_Trafficking",
        "CoE Trafficking Convention",
        "Council of Europe Convention on Action against Trafficking in Human Beings (GRETA monitoring)",
    ),
    (
        "EU_law",
        "EU law",
        "EU migration and asylum law (binding, with the Court of Justice)",
    ),
];

/// Metrics that are not per forum, treaty or region: (key, name, unit, definition, count).
const METRICS: [(&str, &str, &str, &str, bool); 34] = [
    (
        "protection_mean",
        "Mean rights protection",
        "level, 0–1",
        "Mean over States of each State's mean protection of migrants' rights in the asylum, labour and trafficking domains.",
        false,
    ),
    (
        "protection_migrant_weighted",
        "Migrant-weighted rights protection",
        "level, 0–1",
        "Mean protection weighted by each State's migrant stock: the protection migrants actually live under.",
        false,
    ),
    (
        "protection_asylum",
        "Asylum protection",
        "level, 0–1",
        "Mean over States of protection in the asylum domain.",
        false,
    ),
    (
        "protection_labour",
        "Labour-rights protection",
        "level, 0–1",
        "Mean over States of protection in the labour domain.",
        false,
    ),
    (
        "protection_trafficking",
        "Protection against trafficking",
        "level, 0–1",
        "Mean over States of protection in the trafficking domain.",
        false,
    ),
    (
        "protection_p10",
        "Protection of the worst-protecting States",
        "level, 0–1",
        "10th percentile of States' mean protection.",
        false,
    ),
    (
        "share_below_floor",
        "States below the protection floor",
        "share of States",
        "Share of States whose mean protection is below the floor (observation.floor).",
        false,
    ),
    (
        "dispersion_across",
        "Spread of protection across States",
        "standard deviation",
        "Standard deviation of mean protection across States.",
        false,
    ),
    (
        "dispersion_within_forums",
        "Spread of protection within forums",
        "standard deviation",
        "Mean over forums of the standard deviation of their members' protection.",
        false,
    ),
    (
        "enforcement_mean",
        "Enforcement and border control",
        "level, 0–1",
        "Mean over States of the enforcement instrument.",
        false,
    ),
    (
        "legal_channels_mean",
        "Openness of legal channels",
        "level, 0–1",
        "Mean over States of the openness of legal channels of entry.",
        false,
    ),
    (
        "irregular_share",
        "Irregular share of the migrant stock",
        "share of the stock",
        "Irregular migrant stock divided by the whole migrant stock.",
        false,
    ),
    (
        "irregular_share_workers",
        "Irregular share of migrant workers",
        "share",
        "Irregular stock divided by regular plus irregular (non-refugee) stock.",
        false,
    ),
    (
        "trafficking_exposure_thousands",
        "Arrivals exposed to trafficking",
        "thousands of people",
        "Irregular arrivals exposed to trafficking in the year.",
        false,
    ),
    (
        "migrant_stock_millions",
        "Migrant stock",
        "millions of people",
        "All migrants living outside their State of origin.",
        false,
    ),
    (
        "arrivals_millions",
        "Arrivals",
        "millions of people",
        "Migrants arriving in the year, all kinds.",
        false,
    ),
    (
        "pressure_mean",
        "Domestic political pressure",
        "level, 0–1",
        "Mean over States of domestic political pressure against immigration.",
        false,
    ),
    (
        "reputation_mean",
        "Reputation",
        "level, 0–1",
        "Mean over States of their reputation for keeping commitments.",
        false,
    ),
    (
        "recognition_rate",
        "Refugee recognition rate",
        "share of forced arrivals",
        "Share of the year's forced arrivals recognised as refugees, over all States.",
        false,
    ),
    (
        "refugee_stock_millions",
        "Refugee stock",
        "millions of people",
        "Recognised refugees living in host States.",
        false,
    ),
    (
        "agreements_labour",
        "Bilateral labour agreements",
        "agreements",
        "Bilateral labour agreements in force.",
        true,
    ),
    (
        "agreements_readmission",
        "Readmission agreements",
        "agreements",
        "Bilateral readmission agreements in force.",
        true,
    ),
    (
        "labour_under_agreements",
        "Labour arrivals under agreements",
        "share",
        "Share of the year's labour arrivals that came under a bilateral labour agreement.",
        false,
    ),
    (
        "ratifications",
        "Ratifications",
        "ratifications",
        "Parties summed over all treaties of the scenario (a State party to two treaties counts twice).",
        true,
    ),
    (
        "rtb",
        "Race-to-the-bottom index",
        "relative change",
        "(P(0) − P(T)) / P(0) of mean protection, P(0) before the first year and P(T) at the end: above 0 protection fell, below 0 it rose; lower is better.",
        false,
    ),
    (
        "rtb_migrant_weighted",
        "Race-to-the-bottom index, migrant-weighted",
        "relative change",
        "The RTB index of migrant-weighted protection: above 0 the protection migrants live under fell; lower is better.",
        false,
    ),
    (
        "drift_per_decade",
        "Drift of protection per decade",
        "level change per 10 years",
        "Change of mean protection per 10 years, from a straight line through the years.",
        false,
    ),
    (
        "years_to_floor",
        "Years until the floor",
        "years",
        "Years until mean protection first fell below the floor; empty if never.",
        false,
    ),
    (
        "irregular_share_end",
        "Irregular share of the stock at the end",
        "share of the stock",
        "Irregular migrant stock divided by the whole migrant stock in the last year.",
        false,
    ),
    (
        "pressure_end",
        "Domestic pressure at the end",
        "level, 0–1",
        "Mean over States of domestic political pressure in the last year.",
        false,
    ),
    (
        "ratifications_total",
        "Ratifications at the end",
        "ratifications",
        "Parties summed over all treaties of the scenario in the last year (a State party to two treaties counts twice).",
        true,
    ),
    (
        "protection_mean_end",
        "Mean rights protection at the end",
        "level, 0–1",
        "Mean protection over States in the last year.",
        false,
    ),
    (
        "protection_migrant_weighted_end",
        "Migrant-weighted protection at the end",
        "level, 0–1",
        "Migrant-weighted protection in the last year.",
        false,
    ),
    (
        "year",
        "Year",
        "calendar year",
        "The calendar year of the simulation.",
        false,
    ),
];

/// Turns an identifier into words: underscores and dashes as spaces, the first letter upper-case.
fn humanise(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A scenario's display name ("un_platform" → "UN platform on migrants' rights").
pub fn scenario(name: &str) -> String {
    SCENARIOS
        .iter()
        .find(|(k, _)| *k == name)
        .map_or_else(|| humanise(name), |(_, v)| v.to_string())
}

/// The short or full name of `id` in a table of (identifier, short, full) names; an identifier
/// not in it reads as itself with underscores as spaces.
fn lookup(table: &[(&str, &str, &str)], id: &str, full: bool) -> String {
    table.iter().find(|(k, _, _)| *k == id).map_or_else(
        || id.replace('_', " "),
        |(_, short, long)| if full { long } else { short }.to_string(),
    )
}

/// A forum's short display name, for chart labels ("RCM" → "Puebla Process").
pub fn forum(id: &str) -> String {
    lookup(&FORUMS, id, false)
}

/// A forum's full name, for a report's glossary.
pub fn forum_full(id: &str) -> String {
    lookup(&FORUMS, id, true)
}

/// A treaty's short display name ("Trafficking_Protocol" → "Palermo Protocol").
pub fn treaty(id: &str) -> String {
    lookup(&TREATIES, id, false)
}

/// A treaty's full name, for a report's glossary.
pub fn treaty_full(id: &str) -> String {
    lookup(&TREATIES, id, true)
}

/// A parameter's display name from its key path, for the axes of a sweep: what it is, the forum
/// or treaty it belongs to, and the key ("institutional memory, GFMD (forums.GFMD.memory)").
pub fn parameter(key: &str) -> String {
    use crate::scenario::params::*;
    let parts: Vec<&str> = key.split('.').collect();
    let (spec, of) = match parts.as_slice() {
        ["forums", f, k] => (ForumDesign::spec(k), Some(forum(f))),
        ["treaties", t, k] => (TreatyDesign::spec(k), Some(treaty(t))),
        [section, k] => (
            match *section {
                "world" => WorldParams::spec(k),
                "flows" => FlowParams::spec(k),
                "admission" => AdmissionParams::spec(k),
                "pressure" => PressureParams::spec(k),
                "policy" => PolicyParams::spec(k),
                "forum_dynamics" => ForumDynamics::spec(k),
                "treaty_dynamics" => TreatyDynamics::spec(k),
                "bilateral" => BilateralParams::spec(k),
                "observation" => ObservationParams::spec(k),
                _ => None,
            },
            None,
        ),
        _ => (None, None),
    };
    let Some(spec) = spec else {
        return key.to_string();
    };
    // The meaning up to its first explanation (a colon, semicolon or parenthesis).
    let what = spec
        .meaning
        .split([':', ';', '('])
        .next()
        .unwrap_or(spec.meaning)
        .trim();
    match of {
        Some(of) => format!("{what}, {of} ({key})"),
        None => format!("{what} ({key})"),
    }
}

/// A migration region's display name from its slug ("western_asia" → "Western Asia").
fn region(slug: &str) -> String {
    slug.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| match w {
            "and" | "of" | "the" => w.to_string(),
            _ => humanise(w),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn metric_of(name: String, unit: &str, definition: String, count: bool) -> MetricName {
    MetricName {
        name,
        unit: unit.to_string(),
        definition,
        count,
    }
}

/// Names a per-forum, per-treaty or per-region metric from the forum's, treaty's or region's key.
type Namer = fn(&str) -> MetricName;

/// A metric column's display name, unit and definition. Per-forum, per-treaty and per-region
/// metrics (`attendance_GFMD`, `parties_ICRMW`, `protection_region_western_asia`) are named from
/// their prefix and the forum's, treaty's or region's name; `_start` and `_end` forms of a
/// per-domain protection level from the level's own entry.
pub fn metric(key: &str) -> MetricName {
    if let Some((_, name, unit, definition, count)) = METRICS.iter().find(|m| m.0 == key) {
        return metric_of(name.to_string(), unit, definition.to_string(), *count);
    }
    let prefixed: [(&str, Namer); 7] = [
        ("parties_high_income_", |t| {
            metric_of(
                format!("High-income parties to the {}", treaty(t)),
                "States",
                format!("High-income States party to the {}.", treaty_full(t)),
                true,
            )
        }),
        ("parties_", |t| {
            metric_of(
                format!("Parties to the {}", treaty(t)),
                "States",
                format!(
                    "States party to the {} (0 in a scenario without the treaty).",
                    treaty_full(t)
                ),
                true,
            )
        }),
        ("compliance_", |t| {
            metric_of(
                format!("Compliance with the {}", treaty(t)),
                "share of parties",
                format!(
                    "Share of the parties to the {} with no shortfall below its floors.",
                    treaty_full(t)
                ),
                false,
            )
        }),
        ("detected_", |t| {
            metric_of(
                format!("Shortfalls detected under the {}", treaty(t)),
                "shortfalls",
                format!(
                    "Shortfalls below the floors of the {} detected in the year.",
                    treaty_full(t)
                ),
                true,
            )
        }),
        ("attendance_", |f| {
            metric_of(
                format!("Attendance at the {}", forum(f)),
                "States",
                format!(
                    "States attending the meeting of the {} (meeting years only).",
                    forum_full(f)
                ),
                true,
            )
        }),
        ("anchor_", |f| {
            metric_of(
                format!("Norm anchor of the {}", forum(f)),
                "level, 0–1",
                format!(
                    "Mean over domains of the norm anchor of the {} (after its first joint statement).",
                    forum_full(f)
                ),
                false,
            )
        }),
        ("protection_region_", |r| {
            metric_of(
                format!("Protection in {}", region(r)),
                "level, 0–1",
                format!("Mean protection of the States of {}.", region(r)),
                false,
            )
        }),
    ];
    for (prefix, make) in prefixed {
        if let Some(rest) = key.strip_prefix(prefix) {
            return make(rest);
        }
    }
    for (suffix, when) in [("_start", "at the start"), ("_end", "at the end")] {
        if let Some(base) = key.strip_suffix(suffix)
            && let Some((_, name, unit, definition, count)) = METRICS.iter().find(|m| m.0 == base)
        {
            return metric_of(
                format!("{name} {when}"),
                unit,
                format!("{definition} Value {when} of the run."),
                *count,
            );
        }
    }
    metric_of(humanise(key), "", String::new(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_the_program_writes_has_a_definition() {
        use crate::experiment::observe::CORE_METRICS;
        use crate::output::SWEEP_METRICS;
        for key in CORE_METRICS.iter().chain(SWEEP_METRICS.iter()) {
            let m = metric(key);
            assert!(!m.definition.is_empty(), "{key} has no definition");
            assert_ne!(m.name, humanise(key), "{key} has no display name");
        }
        for key in [
            "protection_asylum_start",
            "protection_labour_end",
            "rtb_migrant_weighted",
            "drift_per_decade",
            "years_to_floor",
        ] {
            assert!(!metric(key).definition.is_empty(), "{key}");
        }
    }

    #[test]
    fn per_forum_treaty_and_region_metrics_read_in_words() {
        assert_eq!(
            metric("parties_ICRMW").name,
            "Parties to the Migrant Workers Convention"
        );
        assert!(metric("parties_ICRMW").count);
        assert_eq!(
            metric("parties_high_income_EU_law").name,
            "High-income parties to the EU law"
        );
        assert_eq!(
            metric("attendance_RCM").name,
            "Attendance at the Puebla Process"
        );
        assert_eq!(
            metric("protection_region_latin_america_and_the_caribbean").name,
            "Protection in Latin America and the Caribbean"
        );
        assert_eq!(
            metric("protection_labour_end").name,
            "Labour-rights protection at the end"
        );
    }

    #[test]
    fn parameters_read_in_words_with_their_key() {
        assert_eq!(
            parameter("forums.GFMD.memory"),
            "institutional memory, GFMD (forums.GFMD.memory)"
        );
        assert!(parameter("flows.beta_far").ends_with("(flows.beta_far)"));
        assert_ne!(parameter("flows.beta_far"), "(flows.beta_far)");
        assert_eq!(parameter("no.such.key"), "no.such.key");
    }

    #[test]
    fn unknown_keys_read_as_their_words() {
        assert_eq!(scenario("my_gfmd_variant"), "My gfmd variant");
        assert_eq!(scenario("un_platform"), "UN platform on migrants' rights");
        assert_eq!(forum("NewForum"), "NewForum");
        assert_eq!(treaty("Some_Treaty"), "Some Treaty");
    }

    #[test]
    fn every_built_in_scenario_forum_and_treaty_has_a_name() {
        let sq = crate::Scenario::builtin("status_quo").unwrap();
        for f in &sq.forums {
            assert!(FORUMS.iter().any(|x| x.0 == f.name), "forum {}", f.name);
        }
        for t in &sq.treaties {
            assert!(TREATIES.iter().any(|x| x.0 == t.name), "treaty {}", t.name);
        }
        for (name, _) in crate::scenario::library::LIBRARY {
            if let Some(stem) = name.strip_suffix(".toml") {
                assert!(SCENARIOS.iter().any(|x| x.0 == stem), "scenario {stem}");
            }
        }
    }
}
