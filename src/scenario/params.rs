//! The parameter registry: every numeric setting of the model with its default, range, unit and
//! meaning, in one place.
//!
//! Each section of a scenario file (`[flows]`, `[pressure]`, ...) is a struct generated here from
//! one table, so the defaults that the model uses, the ranges that validation checks and the list
//! that `forumsim params` prints cannot drift apart. Forum and treaty settings use the same
//! mechanism ([`ForumDesign`], [`TreatyDesign`]).

/// Whether a parameter takes any real value or only whole numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Real,
    Int,
}

/// Description of one numeric parameter.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub default: f64,
    pub min: f64,
    pub max: f64,
    pub kind: Kind,
    pub unit: &'static str,
    pub meaning: &'static str,
}

impl ParamSpec {
    /// Checks a value against the range and kind; the error says what was expected.
    pub fn check(&self, value: f64) -> Result<(), String> {
        if !value.is_finite() {
            return Err(format!("expected a finite number, found {value}"));
        }
        if self.kind == Kind::Int && value.fract() != 0.0 {
            return Err(format!("expected a whole number, found {value}"));
        }
        if value < self.min || value > self.max {
            return Err(format!(
                "expected a value in [{}, {}] ({}), found {value}",
                self.min, self.max, self.unit
            ));
        }
        Ok(())
    }
}

/// A section of numeric parameters addressed by name.
pub trait Section {
    /// Every parameter of the section, in declaration order.
    fn specs() -> &'static [ParamSpec];
    /// The value of a parameter by name.
    fn value(&self, name: &str) -> Option<f64>;
    /// A mutable reference to a parameter by name.
    fn value_mut(&mut self, name: &str) -> Option<&mut f64>;
}

macro_rules! param_section {
    (
        $(#[$doc:meta])*
        $name:ident {
            $( $field:ident : $kind:ident = $default:expr, [$min:expr, $max:expr], $unit:literal, $meaning:literal; )*
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( #[doc = $meaning] pub $field: f64, )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self { $( $field: $default as f64, )* }
            }
        }

        impl $name {
            /// Every parameter of this section, in declaration order.
            pub const SPECS: &'static [ParamSpec] = &[
                $( ParamSpec {
                    name: stringify!($field),
                    default: $default as f64,
                    min: $min as f64,
                    max: $max as f64,
                    kind: Kind::$kind,
                    unit: $unit,
                    meaning: $meaning,
                }, )*
            ];

            /// The spec of a parameter by name.
            pub fn spec(name: &str) -> Option<&'static ParamSpec> {
                Self::SPECS.iter().find(|s| s.name == name)
            }

            /// The value of a parameter by name.
            pub fn get(&self, name: &str) -> Option<f64> {
                match name {
                    $( stringify!($field) => Some(self.$field), )*
                    _ => None,
                }
            }

            /// A mutable reference to a parameter by name.
            pub fn get_mut(&mut self, name: &str) -> Option<&mut f64> {
                match name {
                    $( stringify!($field) => Some(&mut self.$field), )*
                    _ => None,
                }
            }
        }

        impl Section for $name {
            fn specs() -> &'static [ParamSpec] {
                Self::SPECS
            }
            fn value(&self, name: &str) -> Option<f64> {
                self.get(name)
            }
            fn value_mut(&mut self, name: &str) -> Option<&mut f64> {
                self.get_mut(name)
            }
        }
    };
}

param_section! {
    /// `[world]`: how the States' attributes are built from the facts.
    WorldParams {
        n_states: Int = 200, [2, 100000], "States", "number of States of a synthetic world";
        n_regions: Int = 10, [1, 1000], "regions", "number of migration regions of a synthetic world";
        income_jitter: Real = 0.05, [0, 0.3], "income units", "half-width of the uniform jitter added to each State's income level";
        h0_base: Real = 0.35, [0, 1], "level", "baseline domestic hostility to immigration of a middle-income State";
        h0_income: Real = 0.1, [-1, 1], "level per income unit", "change of baseline hostility per unit of income above 0.5";
        h0_immigrant: Real = 0.5, [-2, 2], "level per share", "change of baseline hostility per unit of immigrant share of the population (capped at 0.5)";
        h0_jitter: Real = 0.1, [0, 0.5], "level", "half-width of the uniform jitter of baseline hostility";
        p0_base: Real = 0.35, [0, 1], "level", "initial rights protection of a State with income 0";
        p0_income: Real = 0.4, [0, 1], "level per income unit", "rise of initial rights protection with income";
        p0_jitter: Real = 0.05, [0, 0.5], "level", "half-width of the uniform jitter of initial protection, per domain";
        e0_base: Real = 0.25, [0, 1], "level", "initial enforcement of a State with income 0";
        e0_income: Real = 0.4, [0, 1], "level per income unit", "rise of initial enforcement with income";
        e0_jitter: Real = 0.05, [0, 0.5], "level", "half-width of the uniform jitter of initial enforcement";
        l0_base: Real = 0.3, [0, 1], "level", "initial openness of legal channels of a State with income 0";
        l0_income: Real = 0.2, [0, 1], "level per income unit", "rise of initial legal-channel openness with income";
        l0_jitter: Real = 0.05, [0, 0.5], "level", "half-width of the uniform jitter of initial legal-channel openness";
        recorded_start: Int = 1, [0, 1], "switch", "1: initial policies from the record where it has them (asylum protection from UNHCR recognition rates, enforcement, legal channels and labour protection from the IMPIC indices), the income formulas shifted to the recorded States' level elsewhere; 0: the income formulas everywhere";
        steady_start: Int = 1, [0, 1], "switch", "1: start from the quasi-steady state (pressure at its steady level for the start-year arrivals; State tastes that make each start-year policy its domestic best response); 0: raw initial values";
        election_period_min: Int = 4, [1, 10], "years", "shortest electoral cycle";
        election_period_max: Int = 5, [1, 10], "years", "longest electoral cycle";
    }
}

param_section! {
    /// `[flows]`: outflows, destination choice and crises.
    FlowParams {
        g_forced: Real = 0.0012, [0, 1], "1/year", "share of the weighted origin population that considers flight each year";
        g_labour: Real = 0.004, [0, 1], "1/year", "share of the weighted origin population that considers labour migration each year";
        psi: Real = 1.0, [0, 5], "exponent", "elasticity of emigration pressure to poverty (1 - income)";
        beta_income: Real = 2.0, [0, 20], "utility per income unit", "attraction of destination income";
        beta_protection_forced: Real = 2.0, [0, 20], "utility per level", "attraction of asylum protection for forced migrants";
        beta_protection_labour: Real = 1.0, [0, 20], "utility per level", "attraction of labour protection for labour migrants";
        beta_enforcement: Real = 2.0, [0, 20], "utility per level", "deterrence by enforcement and border control";
        beta_legal_forced: Real = 0.0, [0, 20], "utility per level", "attraction of legal channels for forced migrants";
        beta_legal_labour: Real = 1.5, [0, 20], "utility per level", "attraction of legal channels for labour migrants";
        beta_far: Real = 3.0, [0, 20], "utility", "cost of leaving the origin region";
        beta_network: Real = 0.5, [0, 2], "utility per log person", "pull of the diaspora already in the destination (log of 1 + stock)";
        beta_size: Real = 0.3, [0, 2], "utility per log ratio", "pull of destination size (log population over the mean)";
        v0_forced: Real = 9.0, [-50, 50], "utility", "utility of staying (outside option) for forced migrants";
        v0_labour: Real = 9.0, [-50, 50], "utility", "utility of staying (outside option) for labour migrants";
        crisis_prob: Real = 0.03, [0, 1], "1/year", "probability that a crisis starts in an origin region in a year";
        crisis_scale: Real = 0.5, [0, 100], "multiplier", "minimum magnitude of a random crisis (Pareto scale)";
        crisis_tail: Real = 1.5, [0.1, 10], "exponent", "Pareto tail index of crisis magnitude (lower = heavier tail)";
        crisis_cap: Real = 10.0, [0, 1000], "multiplier", "largest magnitude of a random crisis";
        crisis_decay: Real = 0.6, [0, 1], "1/year", "share of a crisis that remains the next year";
        crisis_labour_weight: Real = 0.25, [0, 1], "share", "share of the crisis multiplier that also applies to labour outflows";
    }
}

param_section! {
    /// `[admission]`: what happens to arrivals at the destination.
    AdmissionParams {
        kappa_quota: Real = 0.01, [0, 1], "1/year", "regular labour quota per unit of legal-channel openness, per capita and income";
        recognition_base: Real = 0.0, [0, 1], "share", "recognition rate of asylum claims at zero asylum protection";
        recognition_protection: Real = 1.0, [0, 1], "share per level", "rise of the recognition rate with asylum protection (with the defaults, asylum protection is the share of claims recognised)";
        removal_enforcement: Real = 0.5, [0, 1], "share per level", "share of rejected claimants removed per unit of enforcement";
        theta0: Real = 0.05, [0, 1], "share", "share of irregular arrivals exposed to trafficking at zero enforcement";
        theta_enforcement: Real = 0.3, [0, 1], "share per level", "rise of trafficking exposure with enforcement (smuggling)";
        mu: Real = 0.035, [0, 1], "1/year", "rate at which migrant stocks return or naturalise";
        regularisation: Real = 0.02, [0, 1], "1/year per level", "share of the irregular stock regularised per year per unit of legal-channel openness";
    }
}

param_section! {
    /// `[pressure]`: domestic political pressure.
    PressureParams {
        rho: Real = 0.2, [0, 1], "1/year", "reversion of pressure toward its baseline";
        a_irregular: Real = 0.08, [0, 1], "level per year", "push of irregular arrivals on pressure (saturating)";
        irregular_ref: Real = 0.3, [0.000001, 1000], "per mille per year", "irregular arrivals per 1000 inhabitants that give half the push";
        kappa_discourse: Real = 0.05, [0, 1], "level per year", "calming effect of a balanced discourse from forums";
        kappa_voice: Real = 0.3, [0, 5], "level per share", "calming effect of migrants' voice (firewall times migrant share)";
        election_shock: Real = 0.1, [0, 1], "level", "half-width of the uniform pressure shock in an election year";
        election_bias: Real = 0.02, [-1, 1], "level", "mean pressure shock in an election year";
        discourse_decay: Real = 0.5, [0, 1], "share", "share of last year's discourse that remains";
    }
}

param_section! {
    /// `[policy]`: each State's yearly choice of its instruments.
    PolicyParams {
        delta: Real = 0.02, [0, 0.5], "level per year", "step by which an instrument can move in a year";
        noise: Real = 0.1, [0.000001, 1000], "utility per level", "noise of policy choice on the marginal utility: the logit temperature of a move is noise times delta, so a smaller step does not make choices noisier";
        c_irregular: Real = 1.0, [0, 100], "utility per per mille", "cost of anticipated irregular arrivals per 1000 inhabitants, times pressure";
        c_visible: Real = 0.2, [0, 100], "utility per per mille", "cost of anticipated total arrivals per 1000 inhabitants, times pressure";
        c_rights: Real = 1.0, [0, 100], "utility per level", "value of rights protection, times (1 - pressure)";
        c_protection_cost: Real = 0.4, [0, 100], "utility per level squared", "running cost of protection (reception, inspection), quadratic";
        c_econ: Real = 0.3, [0, 100], "utility per per mille", "economic gain from regular labour arrivals per 1000 inhabitants, times income";
        c_enforcement: Real = 2.0, [0, 100], "utility per level squared", "cost of enforcement, quadratic";
        c_legal: Real = 0.5, [0, 100], "utility per level squared", "running cost of legal channels (visas, labour-market tests, integration), quadratic";
        c_adjust: Real = 0.1, [0, 100], "utility per level", "cost of changing an instrument";
        w_reputation: Real = 1.0, [0, 100], "utility per level", "weight of the norm cost of falling below the anchor of a forum attended (times its audience, or its obligation)";
        w_standing: Real = 1.0, [0, 100], "utility per reputation unit", "value of a State's standing: a shortfall a forum's follow-up may detect costs its expected loss of reputation times this";
        c_trafficking: Real = 1.0, [0, 100], "utility per per mille", "cost of unprotected trafficking victims per 1000 inhabitants (exposure times 1 - trafficking protection)";
    }
}

param_section! {
    /// `[forum_dynamics]`: how States take part in forums, common to all forums.
    ForumDynamics {
        attend_base: Real = -0.65, [-20, 20], "log-odds", "attendance log-odds at zero trust";
        attend_trust: Real = 3.0, [0, 50], "log-odds per level", "rise of attendance log-odds with trust";
        attend_obligation: Real = 5.0, [0, 50], "log-odds per level", "fall of attendance log-odds with obligation times pressure times shortfall";
        eta: Real = 0.5, [0, 1], "share per meeting", "practice exchange: share of the other attendees' success-and-voice-weighted practice (last year's policy move) an attendee adopts per meeting";
        cut_ref: Real = 0.05, [0.000001, 1000], "per mille per year", "cut in irregular arrivals per 1000 inhabitants that counts as a clear success (security lens)";
        gain_ref: Real = 0.05, [0.000001, 1000], "per mille per year", "rise in regular labour arrivals per 1000 inhabitants that counts as a clear success (labour and development lens)";
        peer_audience: Real = 0.25, [0, 1], "share", "audience of a shortfall behind closed doors: peers see each other's practice even without records or civil society";
        vagueness_slack: Real = 0.1, [0, 1], "level", "how far below a joint statement of precision 0 a State may stay without a shortfall (precision 1: none)";
        chair_voice: Real = 0.25, [0, 10], "share of voice", "extra voice of a forum's chairs, as a share of its members' voice, split among them";
        trust_gain: Real = 0.05, [0, 1], "share per meeting", "growth of trust toward 1 when attending";
        trust_decay: Real = 0.1, [0, 1], "share per meeting", "decay of trust when absent";
        reputation_loss: Real = 0.5, [0, 10], "level per level", "reputation lost per unit of detected shortfall";
        reputation_recovery: Real = 0.05, [0, 1], "1/year", "recovery of reputation toward 1";
    }
}

param_section! {
    /// `[treaty_dynamics]`: ratification and withdrawal, common to all treaties.
    TreatyDynamics {
        b_diaspora: Real = 1.0, [0, 100], "utility", "benefit of protection for the State's emigrants abroad (at the reference emigrant share)";
        diaspora_ref: Real = 0.05, [0.000001, 1], "share", "emigrant share of the population at which the diaspora benefit is full";
        b_trust: Real = 0.5, [0, 100], "utility per level", "benefit of trust in the treaty's forum";
        b_peer: Real = 1.0, [0, 100], "utility per share", "benefit of the share of ratifiers in the State's region";
        b_reputation: Real = 0.5, [0, 100], "utility per level", "benefit of reputation";
        exposure_ref: Real = 0.1, [0.000001, 1], "share", "immigrant share at which the compliance exposure is 1";
        exposure_income: Real = 0.5, [0, 5], "exposure per income unit", "expected exposure as a destination, per unit of income (added to the immigrant-share exposure)";
        ratify_temperature: Real = 0.2, [0.000001, 100], "utility", "logit temperature of the ratification decision";
        withdraw_prob: Real = 0.01, [0, 1], "1/year", "probability that a party considers withdrawal in a year";
    }
}

param_section! {
    /// `[observation]`: settings of the recorded metrics.
    ObservationParams {
        floor: Real = 0.4, [0, 1], "level", "protection level below which a State counts as below the floor";
    }
}

param_section! {
    /// One forum's design (`[forums.NAME]`), after Abbott et al. (2000) and the seed's levers.
    ForumDesign {
        obligation: Real = 0, [0, 1], "level", "legal obligation O (0 = non-binding)";
        precision: Real = 0, [0, 1], "level", "precision P of the forum's norms";
        delegation: Real = 0, [0, 1], "level", "delegation D to a third party (secretariat, court)";
        rights_agenda: Real = 0, [0, 1], "level", "weight of migrants' rights on the agenda (r)";
        agenda_asylum: Real = 1, [0, 1], "weight", "agenda weight of asylum practices";
        agenda_labour: Real = 1, [0, 1], "weight", "agenda weight of labour practices (protection and legal channels)";
        agenda_trafficking: Real = 1, [0, 1], "weight", "agenda weight of trafficking practices";
        agenda_enforcement: Real = 1, [0, 1], "weight", "agenda weight of enforcement and border practices";
        transparency: Real = 0, [0, 1], "level", "records of proceedings (tau)";
        civil_society: Real = 0, [0, 1], "level", "access of civil society (c)";
        memory: Real = 0, [0, 1], "level", "institutional memory: permanent secretariat and follow-up (m)";
        power_exponent: Real = 0, [0, 5], "exponent", "voice of a member is proportional to power^alpha (destination dominance)";
        consensus_quantile: Real = 0.5, [0, 1], "quantile", "level of the joint statement among attendees (0 = lowest common denominator)";
        security_lens: Real = 0, [0, 1], "share", "share of interior-ministry framing: practices judged by cuts in irregular arrivals";
        capacity_transfer: Real = 0, [0, 1], "share per meeting", "pull of transit and origin members' enforcement toward destination members'";
        rights_transfer: Real = 0, [0, 1], "share per meeting", "pull of members' protection up toward the anchor (protection mandate)";
        interval: Int = 1, [1, 100], "years", "years between meetings";
        first_year: Int = 2007, [1900, 2300], "year", "year of the first meeting";
        last_year: Int = 2300, [1900, 2300], "year", "year after which the forum no longer meets";
        trust0: Real = 0.5, [0, 1], "level", "initial trust of every member in the forum";
    }
}

param_section! {
    /// One treaty's design (`[treaties.NAME]`).
    TreatyDesign {
        floor_asylum: Real = 0, [0, 1], "level", "floor of asylum protection";
        floor_labour: Real = 0, [0, 1], "level", "floor of labour protection";
        floor_trafficking: Real = 0, [0, 1], "level", "floor of protection of trafficked persons";
        obligation: Real = 1, [0, 1], "level", "legal obligation O";
        precision: Real = 0.6, [0, 1], "level", "precision P: share of the floor that binds precisely (the rest is 'to the extent possible')";
        delegation: Real = 0.4, [0, 1], "level", "delegation D to a treaty body or court";
        transparency: Real = 0.5, [0, 1], "level", "public reporting of the parties' compliance";
        opened: Int = 1990, [1900, 2300], "year", "year the treaty opens for ratification";
        consider_prob: Real = 0.1, [0, 1], "1/year", "probability that a non-party considers ratifying in a year (u)";
        sanction: Real = 2.0, [0, 100], "utility per level", "cost of a detected shortfall below the floor";
        political_cost: Real = 4.0, [0, 100], "utility", "domestic cost of ratification per unit of pressure, shortfall and exposure";
        fixed_cost: Real = 0.5, [-100, 100], "utility", "fixed cost of ratification (reporting, administration)";
        cover: Real = 0, [0, 1], "share", "regional cover: how much cheaper it is domestically to lower protection toward the common floor";
        floor_quantile: Real = 0.2, [0, 1], "quantile", "with cover: the floor is this voice-weighted quantile of members' protection";
        revision_interval: Int = 5, [1, 100], "years", "with cover: years between revisions of the floor";
        power_exponent: Real = 1, [0, 5], "exponent", "with cover: voice of a member is proportional to power^alpha";
        court: Real = 0, [0, 1], "share", "a court the parties' residents can petition (ECtHR, Inter-American Court): the share of shortfalls it takes up; it adds to detection and raises the cost of a detected shortfall by that share";
        sharing: Real = 0, [0, 1], "share", "responsibility sharing: share of the refugees recognised in a party that are resettled among all parties in proportion to their capacity (income times population)";
    }
}

param_section! {
    /// `[bilateral]`: bilateral labour and readmission agreements between an origin and a destination.
    BilateralParams {
        lifetime: Int = 20, [0, 200], "years", "years an agreement stays in force after it is signed (0: none is ever in force)";
        min_stock: Real = 20000, [0, 100000000], "persons", "smallest bilateral migrant stock (origin State in destination State, latest record before the start) for a pair to consider an agreement";
        consider_prob: Real = 0.2, [0, 1], "1/year", "probability that a candidate pair considers an agreement of each kind in a year";
        deal_value: Real = 8.0, [0, 1000], "utility per per mille", "value of a deal per covered migrant flow per 1000 inhabitants (labour: to the origin, and to the destination times income times 1 - pressure; readmission: to the destination times pressure)";
        fixed_cost: Real = 0.2, [-100, 100], "utility", "cost of negotiating and running an agreement, for each side";
        readmission_cost: Real = 0.5, [0, 100], "utility", "political cost to the origin of taking back its nationals under a readmission agreement (visas offset it)";
        temperature: Real = 0.05, [0.000001, 100], "utility", "logit temperature of the decision to sign";
        labour_attraction: Real = 1.0, [0, 20], "utility", "pull of a labour agreement for the labour migrants of the origin it covers (a legal channel)";
        visa_attraction: Real = 0.3, [0, 20], "utility", "pull of the visa facilitation a readmission agreement gives the origin's labour migrants";
        readmission_removal: Real = 0.5, [0, 1], "share", "share of the rejected claimants from a readmission partner who are removed although enforcement would not have removed them";
        rights_floor: Real = 0.8, [0, 1], "level", "labour protection an agreement with every rights provision commits the destination to (times its share of them)";
        new_rights: Real = 0.3, [0, 1], "share", "share of the rights provisions of an agreement signed in the model";
        sanction: Real = 1.0, [0, 100], "utility per level", "cost to the destination of a seen shortfall below an agreement's floor, per unit of its share of labour arrivals under agreements";
        transparency: Real = 0.2, [0, 1], "share", "probability that an agreement's human-rights effect is seen: shortfalls below its floor, and removals under readmission (which then cost reputation)";
    }
}

/// All scalar sections, by their TOML name, for `forumsim params` and key-path lookup.
pub const SECTIONS: &[(&str, &[ParamSpec], &str)] = &[
    ("world", WorldParams::SPECS, "how States are built"),
    (
        "flows",
        FlowParams::SPECS,
        "outflows, destination choice, crises",
    ),
    ("admission", AdmissionParams::SPECS, "admission and stocks"),
    (
        "pressure",
        PressureParams::SPECS,
        "domestic political pressure",
    ),
    ("policy", PolicyParams::SPECS, "policy choice"),
    (
        "forum_dynamics",
        ForumDynamics::SPECS,
        "attendance, learning, trust, reputation",
    ),
    (
        "treaty_dynamics",
        TreatyDynamics::SPECS,
        "ratification and withdrawal",
    ),
    ("observation", ObservationParams::SPECS, "recorded metrics"),
    (
        "forums.NAME",
        ForumDesign::SPECS,
        "one forum's design (also in its timeline)",
    ),
    (
        "treaties.NAME",
        TreatyDesign::SPECS,
        "one treaty's design (also in its timeline)",
    ),
    (
        "bilateral",
        BilateralParams::SPECS,
        "bilateral labour and readmission agreements",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_within_its_range() {
        for (section, specs, _) in SECTIONS {
            for spec in *specs {
                assert!(
                    spec.check(spec.default).is_ok(),
                    "{section}.{} default {} outside [{}, {}]",
                    spec.name,
                    spec.default,
                    spec.min,
                    spec.max
                );
            }
        }
    }

    /// The model description lists every parameter, so docs and code cannot drift apart.
    #[test]
    fn odd_lists_every_parameter() {
        let odd = include_str!("../../docs/ODD.md");
        for (section, specs, _) in SECTIONS {
            for spec in *specs {
                let row = format!("| `{}` | {} |", spec.name, spec.default);
                assert!(
                    odd.contains(&row),
                    "docs/ODD.md lacks {section}.{} with its default {}",
                    spec.name,
                    spec.default
                );
            }
        }
    }

    #[test]
    fn check_rejects_out_of_range_and_fractional_integers() {
        let spec = ForumDesign::spec("interval").expect("interval exists");
        assert!(spec.check(1.5).is_err());
        assert!(spec.check(0.0).is_err());
        assert!(spec.check(f64::NAN).is_err());
        assert!(spec.check(5.0).is_ok());
    }

    #[test]
    fn get_and_get_mut_agree_with_specs() {
        let mut f = FlowParams::default();
        for spec in FlowParams::SPECS {
            assert_eq!(f.get(spec.name), Some(spec.default));
            *f.get_mut(spec.name).expect("field") = 0.5;
            assert_eq!(f.get(spec.name), Some(0.5));
        }
        assert_eq!(f.get("nope"), None);
    }
}
