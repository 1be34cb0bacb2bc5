//! The world of one replication: every State's attributes, policies and stocks in
//! struct-of-arrays form, and the live state of each forum and treaty.
//!
//! `World` is plain data. It is built once per replication from the [`Facts`] and the scenario
//! (with the replication's world-jitter stream), then changed only by `dynamics`. Every buffer the
//! yearly loop needs is allocated here, so a year allocates nothing.

pub mod facts;
pub mod history;

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::scenario::{Event, ForumDesign, Scenario, TreatyDesign};
pub use facts::{Facts, IncomeGroup, Role};

/// Policy domains of rights protection, in the order of the seed's normative framework.
pub const DOMAINS: [&str; 3] = ["asylum", "labour", "trafficking"];
/// Number of protection domains.
pub const N_DOMAINS: usize = 3;
/// Migration streams: forced (asylum seekers) and labour migrants.
pub const STREAMS: [&str; 2] = ["forced", "labour"];
pub const FORCED: usize = 0;
pub const LABOUR: usize = 1;

/// Live state of one forum in a replication.
#[derive(Debug, Clone)]
pub struct ForumState {
    pub name: String,
    /// Design in force this year (the scenario's design with timeline changes applied).
    pub design: ForumDesign,
    /// Participants: members first, then observers, each in State order.
    pub participants: Vec<u32>,
    /// Position of each State among the participants (`u32::MAX` if none).
    pub position: Vec<u32>,
    /// Voice of each participant, power^alpha (plus the chairs' share), cached for
    /// `voice_exponent`.
    pub voice: Vec<f64>,
    pub voice_exponent: f64,
    /// Whether each participant chairs the forum (members only).
    pub chair: Vec<bool>,
    pub n_members: usize,
    /// Trust of each participant in the forum, by participant position.
    pub trust: Vec<f64>,
    /// Whether each participant attended the latest meeting.
    pub attended: Vec<bool>,
    /// Positions of the participants who attended the latest meeting, in order; the first
    /// `attendance` entries are valid.
    pub attendees: Vec<u32>,
    /// Norm anchor of the latest joint statement, per domain; `None` before the first statement.
    pub anchor: Option<[f64; N_DOMAINS]>,
    /// Year of the latest meeting (`None` before the first).
    pub last_meeting: Option<i32>,
    /// Attendees of the latest meeting and whether it was held this year.
    pub attendance: usize,
    pub met_this_year: bool,
    /// Next timeline change to apply.
    pub next_change: usize,
    /// Years without a meeting.
    pub skip_years: Vec<i32>,
    /// Scratch buffers for a meeting.
    /// Voice times success of each participant at the latest meeting (0 if absent).
    pub scratch_weight: Vec<f64>,
    /// Attending members' (protection, voice) per domain, for the joint statement.
    pub scratch_quantile: [Vec<(f64, f64)>; N_DOMAINS],
}

/// Live state of one treaty in a replication.
#[derive(Debug, Clone)]
pub struct TreatyState {
    pub name: String,
    pub design: TreatyDesign,
    /// Floors in force per domain (endogenous under cover).
    pub floors: [f64; N_DOMAINS],
    /// Fixed membership (regional law): parties from the opening year, no ratification.
    pub fixed_members: Option<Vec<u32>>,
    /// Party status per State.
    pub party: Vec<bool>,
    /// Whether each State may ratify.
    pub eligible: Vec<bool>,
    /// Index of the forum whose trust counts in ratification, if any.
    pub trust_forum: Option<usize>,
    /// Parties by the record (`parties_data`) at the end of the year before the start, or of
    /// the record's cut-off if earlier; `None` without a record.
    pub recorded_parties: Option<Vec<bool>>,
    /// Next timeline change to apply.
    pub next_change: usize,
    /// Shortfalls detected this year.
    pub detected: usize,
    /// Parties with a shortfall below a floor this year.
    pub noncompliant: usize,
    /// Scratch buffer for floor revisions.
    pub scratch_sort: Vec<(f64, f64)>,
}

impl TreatyState {
    pub fn n_parties(&self) -> usize {
        self.party.iter().filter(|&&p| p).count()
    }
}

/// The per-corridor arrays of a [`World`], moved out of it ([`World::take_corridors`]).
pub struct Corridors {
    network: Vec<f64>,
    scratch_network: Vec<f64>,
    coverage_labour: Vec<f64>,
    coverage_readmission: Vec<f64>,
    labour_factor: Vec<f64>,
    covered_labour: Vec<f64>,
}

/// The world of one replication.
#[derive(Debug, Clone)]
pub struct World {
    pub n_states: usize,
    pub n_regions: usize,
    pub year: i32,

    // Fixed attributes of the States.
    pub region: Vec<u16>,
    pub income_group: Vec<IncomeGroup>,
    pub income: Vec<f64>,
    pub population: Vec<f64>,
    /// 1000 / population: turns counts into rates per 1000 inhabitants.
    pub per_mille: Vec<f64>,
    pub power: Vec<f64>,
    pub h0: Vec<f64>,
    pub election_period: Vec<u8>,
    pub election_phase: Vec<u8>,
    pub emigrant_share: Vec<f64>,
    /// Destination States: more immigrants than emigrants at the start.
    pub destination: Vec<bool>,
    /// log(population / mean population), for the size pull.
    pub log_size: Vec<f64>,
    /// Poverty-weighted population of each State, pop (1 - y)^psi.
    pub emigration_weight: Vec<f64>,
    /// Capacity to host, income times population (responsibility sharing).
    pub capacity: Vec<f64>,
    /// Share of the refugees recognised on its territory that a State keeps under the
    /// responsibility sharing of its treaties (1 without).
    pub sharing_kept: Vec<f64>,
    /// Each State's taste for each instrument (utility per level): the shifter that makes its
    /// start-year policy its domestic best response (`world.steady_start`; 0 otherwise).
    pub taste: Vec<[f64; 5]>,
    /// Each State's own policy move of last year per instrument (what it would report as its
    /// practice at a forum); forum pulls are not part of it.
    pub last_move: Vec<[f64; 5]>,

    // Policy.
    pub protection: [Vec<f64>; N_DOMAINS],
    pub enforcement: Vec<f64>,
    pub legal: Vec<f64>,
    pub firewall: Vec<f64>,
    /// Lowest legal-channel openness a State may choose (scenario events).
    pub legal_floor: Vec<f64>,
    /// Lowest enforcement a State may choose (scenario events: interception).
    pub enforcement_floor: Vec<f64>,

    // Dynamic state.
    pub pressure: Vec<f64>,
    pub stock_regular: Vec<f64>,
    pub stock_refugee: Vec<f64>,
    pub stock_irregular: Vec<f64>,
    /// Stock in destination j from origin region r, at `r * n_states + j` (origin-major, so
    /// that the yearly flow loops run over destinations and vectorise).
    pub network: Vec<f64>,
    /// Whether [`World::check_invariants`] must scan the network for a negative or NaN stock:
    /// true until admission, which writes every stock each year, has seen them all non-negative
    /// as it wrote them (`dynamics::flows::admit`), so the check does not read the whole
    /// per-corridor array again.
    pub network_unchecked: bool,
    pub discourse: Vec<f64>,
    pub reputation: Vec<f64>,
    /// Crisis multiplier per origin region.
    pub crisis: Vec<f64>,

    // Flows of the current year.
    /// Potential movers per stream and origin region, at `s * n_regions + r`.
    pub pool: Vec<f64>,
    /// Share of the pool of (s, r) going to destination j, at `(s * n_regions + r) * n_states + j`.
    pub share: Vec<f64>,
    /// Movers who stayed home per stream and origin region.
    pub stayed: Vec<f64>,
    pub inflow: [Vec<f64>; 2],
    /// Share moments $M_1..M_4$ per stream and destination, each at `s * n_states + j` (for
    /// policy anticipation; see `dynamics::flows::ShareMoments`).
    pub moments: [Vec<f64>; crate::dynamics::flows::N_MOMENTS],
    /// Largest share of any origin region per stream and destination, at `s * n_states + j`.
    pub max_share: Vec<f64>,
    pub arrivals_regular: Vec<f64>,
    pub arrivals_refugee: Vec<f64>,
    pub arrivals_irregular: Vec<f64>,
    pub arrivals_irregular_prev: Vec<f64>,
    pub arrivals_regular_prev: Vec<f64>,
    /// Entries without a visa (asylum seekers and labour migrants beyond the legal channels), this
    /// year and the year before: what an interior ministry counts at the border.
    pub entries_irregular: Vec<f64>,
    pub entries_irregular_prev: Vec<f64>,
    /// Rejected claimants removed this year only because a readmission agreement covers them.
    pub readmitted: Vec<f64>,
    /// Share of each destination's labour arrivals that came under labour agreements this year.
    pub bilateral_share: Vec<f64>,
    /// Share of each destination's forced arrivals from origins with which it has a readmission
    /// agreement this year.
    pub readmission_share: Vec<f64>,
    pub trafficking: Vec<f64>,

    // Scratch for the yearly step (allocated once).
    pub scratch_attract: Vec<f64>,
    pub scratch_network: Vec<f64>,
    /// Share of each destination's forced arrivals not removed this year.
    pub scratch_staying: Vec<f64>,
    pub scratch_denominator: Vec<f64>,
    /// The inverse of each logit denominator, at `s * n_regions + r`.
    pub scratch_inverse: Vec<f64>,
    /// Summed forum pull (learning, transfers) per State and instrument this year.
    pub scratch_pull: Vec<[f64; 5]>,
    /// Forum attendance this year per State (number of meetings attended), for discourse.
    pub scratch_discourse: Vec<f64>,
    /// Election and event shocks to pressure this year.
    pub pressure_shock: Vec<f64>,
    /// Poverty-weighted population of each origin region (sum of `emigration_weight`).
    pub region_base: Vec<f64>,
    /// Number of States per region.
    pub region_size: Vec<f64>,
    /// Cost of each policy option per State: [domain][option], option 0 = down, 1 = stay, 2 = up.
    pub scratch_penalty: Vec<[[f64; 3]; N_DOMAINS]>,
    /// Each State's start-of-step values as forum meetings read them (see `forums::Snapshot`).
    pub scratch_snapshot: Vec<crate::dynamics::forums::Snapshot>,
    /// Regional cover per State: (strength, floors).
    pub scratch_cover: Vec<(f64, [f64; N_DOMAINS])>,
    /// Share of States of each region that are parties, per treaty (scratch).
    pub scratch_region_count: Vec<f64>,
    /// Random words drawn in one call for a sub-step's per-State or per-participant draws: at
    /// most two per participant of a meeting (participants are distinct States).
    pub scratch_words: Vec<u32>,

    pub forums: Vec<ForumState>,
    pub treaties: Vec<TreatyState>,

    // Bilateral agreements (`dynamics::bilateral`).
    pub agreements: Vec<crate::dynamics::bilateral::Agreement>,
    /// Pairs (origin, destination) that may sign an agreement: corridors of the record.
    pub bilateral_candidates: Vec<(u32, u32)>,
    /// The candidates sorted by pair, with their positions in `bilateral_candidates`: (origin,
    /// destination, position).
    pub bilateral_index: Vec<(u32, u32, u32)>,
    /// Per candidate, whether it holds an agreement this year: bit 0 labour, bit 1 readmission.
    pub bilateral_held: Vec<u8>,
    /// The candidates that consider an agreement of each kind this year (labour, readmission),
    /// with room for one more: `dynamics::bilateral::consider` writes every candidate and keeps
    /// the considered ones without a branch.
    pub scratch_considered: [Vec<u32>; 2],
    /// The (candidate, kind) pairs, as `2 * candidate + kind`, whose sides would sign this year.
    pub scratch_accepted: Vec<u32>,
    /// Each State's share of its region's poverty-weighted population (its weight in the
    /// coverage of a corridor).
    pub origin_share: Vec<f64>,
    /// Coverage of each corridor by labour and readmission agreements, at `r * n_states + j`.
    pub coverage_labour: Vec<f64>,
    pub coverage_readmission: Vec<f64>,
    /// Multiplier of each corridor's attraction for labour migrants (1 without agreements).
    pub labour_factor: Vec<f64>,
    /// Share of each corridor's labour arrivals under labour agreements.
    pub covered_labour: Vec<f64>,
    /// The corridors (`r * n_states + j`) the agreements covered at the last rebuild.
    pub bilateral_touched: Vec<u32>,
    /// Labour protection each destination's agreements commit it to.
    pub bilateral_floor: Vec<f64>,
    pub scratch_floor_weight: Vec<f64>,
    /// Agreements signed in the run so far: labour, readmission.
    pub signed: [u64; 2],
    /// The bilateral settings in force (the scenario's, with its timeline applied).
    pub bilateral: crate::scenario::BilateralParams,
    /// Next bilateral timeline change to apply.
    pub bilateral_next: usize,

    /// Targets of each scheduled event: the region index of a crisis, the States of other events.
    pub event_targets: Vec<Vec<u32>>,
}

fn jitter(rng: &mut ChaCha8Rng, half_width: f64) -> f64 {
    (2.0 * rng.random::<f64>() - 1.0) * half_width
}

/// Replaces the start-year instruments the record has (`history::recorded_policy`) by their
/// recorded values, and shifts the income-formula values of every other State by the mean
/// difference, over the recorded States, between the record and the formula (so that the formula
/// keeps its income gradient but takes the record's level).
fn start_from_record(
    facts: &Facts,
    scenario: &Scenario,
    protection: &mut [Vec<f64>; N_DOMAINS],
    enforcement: &mut [f64],
    legal: &mut [f64],
) {
    let n = facts.n_states();
    let ap = &scenario.admission;
    let recorded: Vec<[Option<f64>; 5]> = (0..n)
        .map(|i| {
            history::recorded_policy(
                &facts.history,
                i,
                scenario.run.start_year,
                ap.recognition_base,
                ap.recognition_protection,
            )
        })
        .collect();
    for k in 0..5 {
        let values: &mut [f64] = match k {
            0..=2 => &mut protection[k],
            3 => enforcement,
            _ => legal,
        };
        let (mut gap, mut count) = (0.0, 0.0);
        for (i, r) in recorded.iter().enumerate() {
            if let Some(x) = r[k] {
                gap += x - values[i];
                count += 1.0;
            }
        }
        let shift = if count > 0.0 { gap / count } else { 0.0 };
        for (i, r) in recorded.iter().enumerate() {
            values[i] = match r[k] {
                Some(x) => x,
                None => (values[i] + shift).clamp(0.0, 1.0),
            };
        }
    }
}

/// Voice of each participant of a forum with exponent `alpha`: power^alpha, and for the chairs
/// among the members a further `chair_voice` times the members' total, split among them (the
/// chair sets the agenda). Writes into `voice`, one entry per participant.
pub fn forum_voice(
    power: &[f64],
    participants: &[u32],
    n_members: usize,
    chair: &[bool],
    alpha: f64,
    chair_voice: f64,
    voice: &mut [f64],
) {
    for (v, &i) in voice.iter_mut().zip(participants) {
        *v = power[i as usize].powf(alpha);
    }
    let chairs = chair.iter().filter(|&&c| c).count();
    if chairs > 0 && chair_voice > 0.0 {
        let members: f64 = voice[..n_members].iter().sum();
        let extra = chair_voice * members / chairs as f64;
        for (v, &c) in voice.iter_mut().zip(chair) {
            if c {
                *v += extra;
            }
        }
    }
}

/// Mean protection over the domains, from levels whose first [`N_DOMAINS`] entries are the
/// protection domains (a State's instruments, say).
#[inline(always)]
pub fn mean_of_domains<T: crate::dynamics::math::Real>(p: &[T]) -> T {
    (p[0] + p[1] + p[2]) / T::splat(N_DOMAINS as f64)
}

/// The institutions of a world as they start: the forums (participants, voices, trust), the
/// treaties (eligibility, fixed and recorded parties) and the targets of the scheduled events.
/// They come from the scenario's institutions, the facts and the States' power alone, and
/// nothing else of the world depends on them when it is built, so a world under other
/// institutions is a copy of it with these replaced ([`World::under`]).
struct Institutions {
    forums: Vec<ForumState>,
    treaties: Vec<TreatyState>,
    event_targets: Vec<Vec<u32>>,
}

impl Institutions {
    fn new(facts: &Facts, scenario: &Scenario, power: &[f64]) -> Institutions {
        let n = facts.n_states();
        let forums = scenario
            .forums
            .iter()
            .map(|f| {
                let members = f.members.resolve(facts, Role::Member);
                let mut participants = members.clone();
                for o in f.observers.resolve(facts, Role::Observer) {
                    if !members.contains(&o) {
                        participants.push(o);
                    }
                }
                let np = participants.len();
                let mut position = vec![u32::MAX; n];
                for (k, &i) in participants.iter().enumerate() {
                    position[i as usize] = k as u32;
                }
                let mut chair = vec![false; np];
                for c in f.chairs.resolve(facts, Role::Member) {
                    if let Ok(k) = members.binary_search(&c) {
                        chair[k] = true;
                    }
                }
                let mut voice = vec![0.0; np];
                forum_voice(
                    power,
                    &participants,
                    members.len(),
                    &chair,
                    f.design.power_exponent,
                    scenario.forum_dynamics.chair_voice,
                    &mut voice,
                );
                ForumState {
                    voice,
                    voice_exponent: f.design.power_exponent,
                    chair,
                    position,
                    name: f.name.clone(),
                    design: f.design.clone(),
                    n_members: members.len(),
                    trust: vec![f.design.trust0; np],
                    attended: vec![false; np],
                    attendees: vec![0; np],
                    participants,
                    anchor: None,
                    last_meeting: None,
                    attendance: 0,
                    met_this_year: false,
                    next_change: 0,
                    skip_years: f.skip_years.clone(),
                    scratch_weight: vec![0.0; np],
                    scratch_quantile: std::array::from_fn(|_| vec![(0.0, 0.0); np]),
                }
            })
            .collect();
        let treaties = scenario
            .treaties
            .iter()
            .map(|t| TreatyState {
                name: t.name.clone(),
                design: t.design.clone(),
                floors: [
                    t.design.floor_asylum,
                    t.design.floor_labour,
                    t.design.floor_trafficking,
                ],
                fixed_members: t.members.as_ref().map(|m| m.resolve(facts, Role::Member)),
                party: vec![false; n],
                eligible: match &t.eligible {
                    None => vec![true; n],
                    Some(sel) => {
                        let mut e = vec![false; n];
                        for i in sel.resolve(facts, Role::Member) {
                            e[i as usize] = true;
                        }
                        e
                    }
                },
                trust_forum: t
                    .trust_forum
                    .as_ref()
                    .and_then(|name| scenario.forums.iter().position(|f| &f.name == name)),
                recorded_parties: (!t.parties_data.is_empty()
                    && !facts.history.ratified.is_empty())
                .then(|| {
                    let by = (scenario.run.start_year - 1).min(history::TREATY_CUTOFF);
                    facts.history.parties_by(&t.parties_data, n, by)
                }),
                next_change: 0,
                detected: 0,
                noncompliant: 0,
                scratch_sort: Vec::with_capacity(n),
            })
            .collect();

        let event_targets = scenario
            .events
            .iter()
            .map(|e| match e {
                Event::Crisis { region, .. } => facts
                    .region_names
                    .iter()
                    .position(|r| r == region)
                    .map(|r| vec![r as u32])
                    .unwrap_or_default(),
                Event::Pressure { members, .. }
                | Event::Firewall { members, .. }
                | Event::LegalChannels { members, .. }
                | Event::Enforcement { members, .. } => members.resolve(facts, Role::Member),
            })
            .collect();
        Institutions {
            forums,
            treaties,
            event_targets,
        }
    }
}

impl World {
    /// Builds the world of one replication. All draws come from `rng` (the world-jitter stream),
    /// in State order, a fixed number per State.
    pub fn new(facts: &Facts, scenario: &Scenario, rng: &mut ChaCha8Rng) -> World {
        let n = facts.n_states();
        let nr = facts.n_regions();
        let wp = &scenario.world;
        let mut income = Vec::with_capacity(n);
        let mut h0 = Vec::with_capacity(n);
        let mut protection: [Vec<f64>; N_DOMAINS] = Default::default();
        let mut enforcement = Vec::with_capacity(n);
        let mut legal = Vec::with_capacity(n);
        let mut election_period = Vec::with_capacity(n);
        let mut election_phase = Vec::with_capacity(n);
        let span = (wp.election_period_max - wp.election_period_min) as u32 + 1;
        for i in 0..n {
            let y =
                (facts.income_group[i].level() + jitter(rng, wp.income_jitter)).clamp(0.02, 1.0);
            income.push(y);
            let imm_share = facts.immigrants[i] / facts.population[i].max(1.0);
            let h = wp.h0_base
                + wp.h0_income * (y - 0.5)
                + wp.h0_immigrant * imm_share.min(0.5)
                + jitter(rng, wp.h0_jitter);
            h0.push(h.clamp(0.0, 1.0));
            for p in protection.iter_mut() {
                p.push((wp.p0_base + wp.p0_income * y + jitter(rng, wp.p0_jitter)).clamp(0.0, 1.0));
            }
            enforcement
                .push((wp.e0_base + wp.e0_income * y + jitter(rng, wp.e0_jitter)).clamp(0.0, 1.0));
            legal.push((wp.l0_base + wp.l0_income * y + jitter(rng, wp.l0_jitter)).clamp(0.0, 1.0));
            let period = wp.election_period_min as u32 + (rng.random::<u32>() % span);
            election_period.push(period as u8);
            election_phase.push((rng.random::<u32>() % period) as u8);
        }
        if wp.recorded_start > 0.0 {
            start_from_record(
                facts,
                scenario,
                &mut protection,
                &mut enforcement,
                &mut legal,
            );
        }
        // Weight in migration governance: a State's stake as a destination (its immigrant
        // stock) times its capacity (income), as a share of the world's.
        let weight = |i: usize| income[i] * facts.immigrants[i].max(1.0);
        let weight_total: f64 = (0..n).map(weight).sum();
        let power: Vec<f64> = (0..n).map(|i| weight(i) / weight_total).collect();
        let mean_pop = facts.population.iter().sum::<f64>() / n as f64;
        let log_size = facts
            .population
            .iter()
            .map(|p| (p / mean_pop).ln())
            .collect();
        let psi = scenario.flows.psi;
        let emigration_weight: Vec<f64> = (0..n)
            .map(|i| facts.population[i] * (1.0 - income[i]).max(0.0).powf(psi))
            .collect();
        let mut region_base = vec![0.0; nr];
        for i in 0..n {
            region_base[facts.region[i] as usize] += emigration_weight[i];
        }
        let irregular_share0 = 0.15;
        let stock_refugee: Vec<f64> = facts.refugees.clone();
        let stock_irregular: Vec<f64> = (0..n)
            .map(|i| (facts.immigrants[i] - facts.refugees[i]).max(0.0) * irregular_share0)
            .collect();
        let stock_regular: Vec<f64> = (0..n)
            .map(|i| (facts.immigrants[i] - facts.refugees[i]).max(0.0) * (1.0 - irregular_share0))
            .collect();

        let Institutions {
            forums,
            treaties,
            event_targets,
        } = Institutions::new(facts, scenario, &power);
        let capacity: Vec<f64> = (0..n).map(|i| income[i] * facts.population[i]).collect();
        let bp = &scenario.bilateral;
        let start = scenario.run.start_year;
        let mut origin_share = vec![0.0; n];
        for i in 0..n {
            let total = region_base[facts.region[i] as usize];
            origin_share[i] = if total > 0.0 {
                emigration_weight[i] / total
            } else {
                0.0
            };
        }
        let bilateral_candidates: Vec<(u32, u32)> = facts
            .history
            .bilateral
            .range(..=start.max(1990))
            .next_back()
            .map(|(_, t)| {
                t.iter()
                    .filter(|&&(o, j, s)| s >= bp.min_stock && o != j)
                    .map(|&(o, j, _)| (o, j))
                    .collect()
            })
            .unwrap_or_default();
        let mut bilateral_index: Vec<(u32, u32, u32)> = bilateral_candidates
            .iter()
            .enumerate()
            .map(|(c, &(o, j))| (o, j, c as u32))
            .collect();
        bilateral_index.sort_unstable();
        let mut agreements: Vec<crate::dynamics::bilateral::Agreement> = Vec::new();
        // Each pair's agreement, found by pair (a record's pairs repeat, and a search of the
        // agreements made so far per record row grows with their square).
        let mut made: BTreeMap<(u32, u32), usize> = BTreeMap::new();
        for a in facts
            .history
            .labour_agreements
            .iter()
            .filter(|a| a.year < start && start - a.year <= bp.lifetime as i32)
        {
            let rights = if a.coded { a.rights } else { bp.new_rights };
            match made.entry((a.origin, a.destination)) {
                Entry::Occupied(k) => {
                    let x = &mut agreements[*k.get()];
                    x.since = x.since.max(a.year);
                    x.rights = x.rights.max(rights);
                }
                Entry::Vacant(k) => {
                    k.insert(agreements.len());
                    agreements.push(crate::dynamics::bilateral::Agreement {
                        origin: a.origin,
                        destination: a.destination,
                        readmission: false,
                        since: a.year,
                        rights,
                        slot: crate::dynamics::bilateral::slot(
                            &bilateral_index,
                            a.origin,
                            a.destination,
                        ),
                    });
                }
            }
        }
        // Two draws per participant of a forum's meeting (participants are distinct States), one
        // per State for a treaty, two per bilateral candidate pair (the policy draws into a
        // buffer of its own).
        let words = (2 * n).max(2 * bilateral_candidates.len());
        // Every agreement in force covers one corridor: at most the record's and two per
        // candidate pair, so the list of covered corridors never grows in the yearly loop.
        let touched = agreements.len() + 2 * bilateral_candidates.len();
        let mut world = World {
            event_targets,
            n_states: n,
            n_regions: nr,
            year: scenario.run.start_year,
            region: facts.region.clone(),
            income_group: facts.income_group.clone(),
            income,
            population: facts.population.clone(),
            per_mille: facts.population.iter().map(|p| 1000.0 / p).collect(),
            power,
            pressure: h0.clone(),
            h0,
            election_period,
            election_phase,
            emigrant_share: (0..n)
                .map(|i| facts.emigrants[i] / facts.population[i].max(1.0))
                .collect(),
            destination: (0..n)
                .map(|i| facts.immigrants[i] > facts.emigrants[i])
                .collect(),
            log_size,
            emigration_weight,
            capacity,
            sharing_kept: vec![1.0; n],
            taste: vec![[0.0; 5]; n],
            last_move: vec![[0.0; 5]; n],
            protection,
            enforcement,
            legal,
            firewall: vec![0.0; n],
            legal_floor: vec![0.0; n],
            enforcement_floor: vec![0.0; n],
            stock_regular,
            stock_refugee,
            stock_irregular,
            // Origin-major in the facts already.
            network: facts.network.clone(),
            network_unchecked: true,
            discourse: vec![0.0; n],
            reputation: vec![1.0; n],
            crisis: vec![0.0; nr],
            pool: vec![0.0; 2 * nr],
            share: vec![0.0; 2 * n * nr],
            stayed: vec![0.0; 2 * nr],
            inflow: [vec![0.0; n], vec![0.0; n]],
            moments: std::array::from_fn(|_| vec![0.0; 2 * n]),
            max_share: vec![0.0; 2 * n],
            arrivals_regular: vec![0.0; n],
            arrivals_refugee: vec![0.0; n],
            arrivals_irregular: vec![0.0; n],
            arrivals_irregular_prev: vec![0.0; n],
            arrivals_regular_prev: vec![0.0; n],
            entries_irregular: vec![0.0; n],
            entries_irregular_prev: vec![0.0; n],
            readmitted: vec![0.0; n],
            bilateral_share: vec![0.0; n],
            readmission_share: vec![0.0; n],
            trafficking: vec![0.0; n],
            scratch_attract: vec![0.0; 2 * n],
            scratch_network: vec![0.0; n * nr],
            scratch_staying: vec![0.0; n],
            scratch_denominator: vec![0.0; 2 * nr],
            scratch_inverse: vec![0.0; 2 * nr],
            scratch_pull: vec![[0.0; 5]; n],
            scratch_discourse: vec![0.0; n],
            pressure_shock: vec![0.0; n],
            region_base,
            region_size: {
                let mut size = vec![0.0; nr];
                for &r in &facts.region {
                    size[r as usize] += 1.0;
                }
                size
            },
            scratch_penalty: vec![[[0.0; 3]; N_DOMAINS]; n],
            scratch_snapshot: vec![Default::default(); n],
            scratch_cover: vec![(0.0, [0.0; N_DOMAINS]); n],
            scratch_region_count: vec![0.0; nr],
            scratch_words: vec![0; words],
            forums,
            treaties,
            agreements,
            bilateral_held: vec![0; bilateral_candidates.len()],
            scratch_considered: std::array::from_fn(|_| vec![0; bilateral_candidates.len() + 1]),
            scratch_accepted: Vec::with_capacity(2 * bilateral_candidates.len()),
            bilateral_index,
            bilateral_candidates,
            origin_share,
            coverage_labour: vec![0.0; n * nr],
            coverage_readmission: vec![0.0; n * nr],
            labour_factor: vec![1.0; n * nr],
            covered_labour: vec![0.0; n * nr],
            bilateral_touched: Vec::with_capacity(touched),
            bilateral_floor: vec![0.0; n],
            scratch_floor_weight: vec![0.0; n],
            signed: [0, 0],
            bilateral: scenario.bilateral.clone(),
            bilateral_next: 0,
        };
        crate::dynamics::bilateral::rebuild(&mut world);
        world
    }

    /// Moves out the arrays of one value per corridor (origin region and destination) that,
    /// within a replication, only the yearly steps of flows and bilateral agreements read: the
    /// network and its factors, and the bilateral coverage (validation and calibration read the
    /// network too, of a whole world). [`World::put_corridors`] puts them back.
    pub fn take_corridors(&mut self) -> Corridors {
        Corridors {
            network: std::mem::take(&mut self.network),
            scratch_network: std::mem::take(&mut self.scratch_network),
            coverage_labour: std::mem::take(&mut self.coverage_labour),
            coverage_readmission: std::mem::take(&mut self.coverage_readmission),
            labour_factor: std::mem::take(&mut self.labour_factor),
            covered_labour: std::mem::take(&mut self.covered_labour),
        }
    }

    /// Puts back the arrays [`World::take_corridors`] moved out.
    pub fn put_corridors(&mut self, c: Corridors) {
        self.network = c.network;
        self.scratch_network = c.scratch_network;
        self.coverage_labour = c.coverage_labour;
        self.coverage_readmission = c.coverage_readmission;
        self.labour_factor = c.labour_factor;
        self.covered_labour = c.covered_labour;
    }

    /// This world under the institutions of `scenario`, a scenario with this world's parameters
    /// (`Scenario::factual_scenario`): what [`World::new`] builds for it from the same stream, as
    /// long as nothing has yet changed what the institutions act on (the factual world of
    /// `dynamics::factual_start`, taken before the first year). A copy is much cheaper than
    /// drawing and building the States again.
    pub fn under(&self, facts: &Facts, scenario: &Scenario) -> World {
        let Institutions {
            forums,
            treaties,
            event_targets,
        } = Institutions::new(facts, scenario, &self.power);
        World {
            forums,
            treaties,
            event_targets,
            ..self.clone()
        }
    }

    /// Mean protection of State `i` over the three domains.
    #[inline]
    pub fn mean_protection(&self, i: usize) -> f64 {
        mean_of_domains(&[
            self.protection[0][i],
            self.protection[1][i],
            self.protection[2][i],
        ])
    }

    /// The share of asylum claims State `i` recognises at its current protection (the admission
    /// mechanism's rate, defined whether or not claims arrive).
    #[inline]
    pub fn recognition_rate(&self, i: usize, scenario: &Scenario) -> f64 {
        let ap = &scenario.admission;
        (ap.recognition_base + ap.recognition_protection * self.protection[0][i]).min(1.0)
    }

    /// Total migrant stock of State `i`.
    #[inline]
    pub fn stock(&self, i: usize) -> f64 {
        self.stock_regular[i] + self.stock_refugee[i] + self.stock_irregular[i]
    }

    /// Policy instrument `k` of State `i`: 0-2 protection domains, 3 enforcement, 4 legal channels.
    #[inline]
    pub fn instrument(&self, i: usize, k: usize) -> f64 {
        match k {
            0..=2 => self.protection[k][i],
            3 => self.enforcement[i],
            _ => self.legal[i],
        }
    }

    /// All five instruments of State `i`, in the order of [`World::instrument`].
    #[inline]
    pub fn instruments(&self, i: usize) -> [f64; 5] {
        [
            self.protection[0][i],
            self.protection[1][i],
            self.protection[2][i],
            self.enforcement[i],
            self.legal[i],
        ]
    }

    #[inline]
    pub fn set_instrument(&mut self, i: usize, k: usize, value: f64) {
        let v = value.clamp(0.0, 1.0);
        match k {
            0..=2 => self.protection[k][i] = v,
            3 => self.enforcement[i] = v.max(self.enforcement_floor[i]),
            _ => self.legal[i] = v.max(self.legal_floor[i]),
        }
    }

    /// Checks the world's invariants (the checks below: levels, shares and stocks finite and in
    /// their ranges); returns the first broken one.
    pub fn check_invariants(&self) -> Option<String> {
        // Each check first folds over the whole array without a branch (it runs every year on
        // every array), and looks for the offending element only when there is one.
        let level = |name: &str, v: &[f64]| -> Option<String> {
            if v.iter().fold(true, |ok, x| ok & (0.0..=1.0).contains(x)) {
                return None;
            }
            v.iter()
                .position(|x| !(0.0..=1.0).contains(x))
                .map(|i| format!("{name} of State {i} is {} (outside [0, 1])", v[i]))
        };
        let nonneg = |name: &str, v: &[f64]| -> Option<String> {
            if v.iter().fold(true, |ok, &x| ok & (x >= 0.0)) {
                return None;
            }
            v.iter()
                .position(|x| x.is_nan() || *x < 0.0)
                .map(|i| format!("{name} at {i} is {} (negative or NaN)", v[i]))
        };
        for (d, p) in self.protection.iter().enumerate() {
            if let Some(e) = level(DOMAINS[d], p) {
                return Some(format!("protection {e}"));
            }
        }
        level("enforcement", &self.enforcement)
            .or_else(|| level("legal channels", &self.legal))
            .or_else(|| level("pressure", &self.pressure))
            .or_else(|| level("reputation", &self.reputation))
            .or_else(|| level("discourse", &self.discourse))
            .or_else(|| nonneg("regular stock", &self.stock_regular))
            .or_else(|| nonneg("refugee stock", &self.stock_refugee))
            .or_else(|| nonneg("irregular stock", &self.stock_irregular))
            .or_else(|| {
                // Admission checks the stocks as it writes them (`network_unchecked`).
                self.network_unchecked
                    .then(|| nonneg("network stock", &self.network))
                    .flatten()
            })
            .or_else(|| nonneg("trafficking exposure", &self.trafficking))
            .or_else(|| {
                self.forums.iter().find_map(|f| {
                    // The name is formatted only on failure: this runs every year.
                    let bad_trust = f.trust.iter().any(|x| !(0.0..=1.0).contains(x));
                    let trust = if bad_trust {
                        level(&format!("trust in {}", f.name), &f.trust)
                    } else {
                        None
                    };
                    trust.or_else(|| {
                        f.anchor.and_then(|a| {
                            a.iter()
                                .any(|x| !(0.0..=1.0).contains(x))
                                .then(|| format!("anchor of {} outside [0, 1]", f.name))
                        })
                    })
                })
            })
    }
}
