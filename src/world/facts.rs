//! The facts a world is built from: the 193 UN member States of the embedded data tables, or a
//! synthetic world of any size.
//!
//! Facts carry no randomness of a replication and do no simulation: they are read once per run and
//! shared by every replication. The embedded tables are copies of the project's `data/` folder (UN
//! DESA International Migrant Stock, World Bank income groups, UN M49 regions; see
//! `data/SOURCES.md`).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::history::History;
use crate::error::{Error, Result};

const STATES_CSV: &str = include_str!("../../data/states.csv");
const STOCKS_CSV: &str = include_str!("../../data/stocks.csv");
const CORRIDORS_CSV: &str = include_str!("../../data/corridors_2015.csv");
const FORUMS_CSV: &str = include_str!("../../data/forums.csv");

/// World Bank income group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IncomeGroup {
    Low,
    LowerMiddle,
    UpperMiddle,
    High,
}

impl IncomeGroup {
    pub const ALL: [IncomeGroup; 4] = [
        IncomeGroup::Low,
        IncomeGroup::LowerMiddle,
        IncomeGroup::UpperMiddle,
        IncomeGroup::High,
    ];

    /// The name used in data tables and scenario files.
    pub fn name(self) -> &'static str {
        match self {
            IncomeGroup::Low => "low",
            IncomeGroup::LowerMiddle => "lower_middle",
            IncomeGroup::UpperMiddle => "upper_middle",
            IncomeGroup::High => "high",
        }
    }

    pub fn parse(s: &str) -> Option<IncomeGroup> {
        IncomeGroup::ALL.into_iter().find(|g| g.name() == s)
    }

    /// Income level y in (0, 1] before jitter: the midpoint the group stands for.
    pub fn level(self) -> f64 {
        match self {
            IncomeGroup::Low => 0.15,
            IncomeGroup::LowerMiddle => 0.35,
            IncomeGroup::UpperMiddle => 0.6,
            IncomeGroup::High => 0.9,
        }
    }
}

/// Role of a State in a forum of the membership table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Member,
    Observer,
}

/// The facts of a world: one entry per State, plus regions and initial diaspora networks.
#[derive(Debug, Clone)]
pub struct Facts {
    /// Three-letter code (ISO 3166-1 alpha-3, or `S00001`... for synthetic States).
    pub iso3: Vec<String>,
    pub name: Vec<String>,
    /// Migration region index (UN M49 intermediate region where present, else sub-region).
    pub region: Vec<u16>,
    pub region_names: Vec<String>,
    /// Other names a region selector may use for a State: M49 sub-region and continent.
    pub region_aliases: Vec<[String; 2]>,
    pub income_group: Vec<IncomeGroup>,
    pub population: Vec<f64>,
    /// Foreign-born stock at the start year.
    pub immigrants: Vec<f64>,
    /// Emigrant stock (nationals abroad) at the start year.
    pub emigrants: Vec<f64>,
    /// Refugees hosted at the start year.
    pub refugees: Vec<f64>,
    /// Initial stock in destination j from origin region r, at `r * n_states + j` (origin-major,
    /// the layout of `World::network`, so that a replication's world copies it without a
    /// division per entry). Built destination-major from the tables, turned once at the end.
    pub network: Vec<f64>,
    /// Forum memberships of the data table (un193 only), by forum name.
    pub forum_roles: BTreeMap<String, Vec<(u32, Role)>>,
    /// Origin group of the corridor table for each model region (un193 only; else empty).
    pub region_group: Vec<String>,
    /// The 2015 corridors (un193 only): (origin group index into `corridor_groups`, destination,
    /// stock).
    pub corridors: Vec<(usize, u32, f64)>,
    pub corridor_groups: Vec<String>,
    /// The record of the past up to each table's cut-off (un193 only; else empty).
    pub history: Arc<History>,
    /// The States in the order of their codes, for finding a code by binary search.
    by_iso3: Vec<u32>,
    /// The States of each region, sub-region and continent name, in State order.
    by_region: BTreeMap<String, Vec<u32>>,
}

impl Facts {
    pub fn n_states(&self) -> usize {
        self.iso3.len()
    }

    pub fn n_regions(&self) -> usize {
        self.region_names.len()
    }

    /// Index of a State by its code.
    pub fn state_by_iso3(&self, code: &str) -> Option<u32> {
        self.iso3.iter().position(|c| c == code).map(|i| i as u32)
    }

    /// Index of a State by its code, by binary search (once the facts are built).
    pub fn state_of_code(&self, code: &str) -> Option<u32> {
        self.by_iso3
            .binary_search_by(|&i| self.iso3[i as usize].as_str().cmp(code))
            .ok()
            .map(|k| self.by_iso3[k])
    }

    /// The States that lie in the region, sub-region or continent `name` (those for which
    /// [`Facts::in_region`] holds), in State order.
    pub fn states_in_region(&self, name: &str) -> &[u32] {
        self.by_region.get(name).map_or(&[], Vec::as_slice)
    }

    /// Builds the lookups by code and by region name, once the States are read: scenario
    /// selectors use them for every forum and treaty of every replication.
    fn index_names(&mut self) {
        let mut by_iso3: Vec<u32> = (0..self.n_states() as u32).collect();
        by_iso3.sort_by(|&a, &b| self.iso3[a as usize].cmp(&self.iso3[b as usize]));
        let mut by_region: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for i in 0..self.n_states() {
            let [sub_region, continent] = &self.region_aliases[i];
            for name in [
                &self.region_names[self.region[i] as usize],
                sub_region,
                continent,
            ] {
                // A name is copied into the map once, not for every State's lookup.
                match by_region.get_mut(name) {
                    Some(states) if states.last() == Some(&(i as u32)) => {}
                    Some(states) => states.push(i as u32),
                    None => {
                        by_region.insert(name.clone(), vec![i as u32]);
                    }
                }
            }
        }
        self.by_iso3 = by_iso3;
        self.by_region = by_region;
    }

    /// Whether a name is a region, sub-region or continent of this world.
    pub fn is_region_name(&self, name: &str) -> bool {
        self.region_names.iter().any(|r| r == name)
            || self
                .region_aliases
                .iter()
                .any(|a| a[0] == name || a[1] == name)
    }

    /// The sub-region and continent names a selector's `region` also takes, sorted, each once.
    pub fn region_alias_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .region_aliases
            .iter()
            .flat_map(|a| [a[0].as_str(), a[1].as_str()])
            .filter(|n| !n.is_empty() && !self.region_names.iter().any(|r| r == n))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Whether State `i` lies in the region, sub-region or continent `name`.
    pub fn in_region(&self, i: usize, name: &str) -> bool {
        self.region_names[self.region[i] as usize] == name
            || self.region_aliases[i][0] == name
            || self.region_aliases[i][1] == name
    }

    /// The 193 UN member States with their 2015-era figures interpolated to `start_year`.
    pub fn un193(start_year: i32) -> Result<Facts> {
        let data_err = |table: &'static str, message: String| Error::Data { table, message };
        let mut reader = csv::Reader::from_reader(STATES_CSV.as_bytes());
        let mut rows = Vec::new();
        for rec in reader.records() {
            let rec = rec.map_err(|e| data_err("states.csv", e.to_string()))?;
            rows.push(rec);
        }
        let mut facts = Facts {
            iso3: Vec::new(),
            name: Vec::new(),
            region: Vec::new(),
            region_names: Vec::new(),
            region_aliases: Vec::new(),
            income_group: Vec::new(),
            population: Vec::new(),
            immigrants: Vec::new(),
            emigrants: Vec::new(),
            refugees: Vec::new(),
            network: Vec::new(),
            forum_roles: BTreeMap::new(),
            region_group: Vec::new(),
            corridors: Vec::new(),
            corridor_groups: Vec::new(),
            history: Arc::default(),
            by_iso3: Vec::new(),
            by_region: BTreeMap::new(),
        };
        let num = |s: &str, what: &str| -> Result<f64> {
            if s.is_empty() {
                return Ok(0.0);
            }
            s.parse::<f64>()
                .map_err(|_| data_err("states.csv", format!("{what}: not a number: {s}")))
        };
        // Regions are numbered in order of first appearance in the (sorted) table, so indices are
        // stable across runs.
        let mut region_index: BTreeMap<String, u16> = BTreeMap::new();
        let mut region_names_sorted: Vec<String> = rows
            .iter()
            .map(|r| {
                let inter = r.get(4).unwrap_or("");
                if inter.is_empty() {
                    r.get(3).unwrap_or("").to_string()
                } else {
                    inter.to_string()
                }
            })
            .collect();
        region_names_sorted.sort();
        region_names_sorted.dedup();
        for (k, name) in region_names_sorted.iter().enumerate() {
            region_index.insert(name.clone(), k as u16);
        }
        facts.region_names = region_names_sorted;
        for r in &rows {
            let field = |k: usize| r.get(k).unwrap_or("").to_string();
            let inter = field(4);
            let model_region = if inter.is_empty() { field(3) } else { inter };
            facts.iso3.push(field(0));
            facts.name.push(field(1));
            facts.region.push(region_index[&model_region]);
            facts.region_aliases.push([field(3), field(2)]);
            let group = IncomeGroup::parse(&field(5)).ok_or_else(|| {
                data_err("states.csv", format!("unknown income group {}", field(5)))
            })?;
            facts.income_group.push(group);
            facts.population.push(num(&field(6), "population_2015")?);
            facts.immigrants.push(num(&field(7), "immigrants_2015")?);
            facts.emigrants.push(num(&field(8), "emigrants_2015")?);
            facts.refugees.push(num(&field(9), "refugees_hosted_2015")?);
        }
        facts.index_names();
        facts.interpolate_stocks(start_year)?;
        let (network, corridors, groups, region_group) = facts.corridor_network()?;
        facts.network = network;
        facts.corridors = corridors;
        facts.corridor_groups = groups;
        facts.region_group = region_group;
        facts.forum_roles = read_forum_roles(&facts)?;
        // The record is the same for every start year: read once per process.
        static HISTORY: OnceLock<std::result::Result<Arc<History>, String>> = OnceLock::new();
        facts.history = HISTORY
            .get_or_init(|| {
                History::read(&facts.iso3)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(|message| Error::Data {
                table: "data/ (the record of the past)",
                message,
            })?;
        facts.network_from_bilateral_stock(start_year);
        facts.network = origin_major(&facts.network, facts.n_regions());
        Ok(facts)
    }

    /// Replaces the initial network by the bilateral stocks of the latest table year not after
    /// `start_year` (UN DESA, by origin State, summed into the origin's model region), scaled to
    /// each destination's start-year stock (which also shares out the unknown origins). A
    /// destination without bilateral records keeps its corridor-based row. The 2015 corridors
    /// then serve only as a calibration target.
    fn network_from_bilateral_stock(&mut self, start_year: i32) {
        let history = Arc::clone(&self.history);
        let Some((_, table)) = history.bilateral.range(..=start_year.max(1990)).next_back() else {
            return;
        };
        let (n, nr) = (self.n_states(), self.n_regions());
        let mut rows = vec![0.0; n * nr];
        for &(o, j, stock) in table {
            rows[j as usize * nr + self.region[o as usize] as usize] += stock;
        }
        for j in 0..n {
            let row = &rows[j * nr..(j + 1) * nr];
            let sum: f64 = row.iter().sum();
            if sum > 0.0 {
                let scale = self.immigrants[j] / sum;
                for (slot, x) in self.network[j * nr..(j + 1) * nr].iter_mut().zip(row) {
                    *slot = x * scale;
                }
            }
        }
    }

    /// Replaces the 2015 figures by those of `year`, interpolated linearly between the five-yearly
    /// DESA estimates of `stocks.csv` (clamped to 1990-2020).
    fn interpolate_stocks(&mut self, year: i32) -> Result<()> {
        let data_err = |message: String| Error::Data {
            table: "stocks.csv",
            message,
        };
        let y = year.clamp(1990, 2020);
        let lo = y - (y - 1990) % 5;
        let hi = if lo == y { lo } else { lo + 5 };
        let w = if hi == lo {
            0.0
        } else {
            f64::from(y - lo) / f64::from(hi - lo)
        };
        let mut at: BTreeMap<(String, i32), [f64; 4]> = BTreeMap::new();
        let mut reader = csv::Reader::from_reader(STOCKS_CSV.as_bytes());
        for rec in reader.records() {
            let rec = rec.map_err(|e| data_err(e.to_string()))?;
            let year: i32 = rec
                .get(1)
                .unwrap_or("")
                .parse()
                .map_err(|_| data_err("bad year".into()))?;
            if year != lo && year != hi {
                continue;
            }
            let mut v = [0.0; 4];
            for (k, slot) in v.iter_mut().enumerate() {
                let s = rec.get(2 + k).unwrap_or("");
                *slot = if s.is_empty() {
                    0.0
                } else {
                    s.parse()
                        .map_err(|_| data_err(format!("not a number: {s}")))?
                };
            }
            at.insert((rec.get(0).unwrap_or("").to_string(), year), v);
        }
        for i in 0..self.n_states() {
            let (Some(a), Some(b)) = (
                at.get(&(self.iso3[i].clone(), lo)),
                at.get(&(self.iso3[i].clone(), hi)),
            ) else {
                continue;
            };
            let mix = |k: usize| a[k] * (1.0 - w) + b[k] * w;
            if mix(0) > 0.0 {
                self.population[i] = mix(0);
            }
            self.immigrants[i] = mix(1);
            self.emigrants[i] = mix(2);
            self.refugees[i] = mix(3).min(self.immigrants[i]);
        }
        Ok(())
    }

    /// Initial stock by origin region and destination from the 2015 corridors, scaled to each
    /// destination's immigrant stock at the start year.
    #[allow(clippy::type_complexity)]
    fn corridor_network(
        &self,
    ) -> Result<(Vec<f64>, Vec<(usize, u32, f64)>, Vec<String>, Vec<String>)> {
        let n = self.n_states();
        let nr = self.n_regions();
        // The corridor table groups origins by M49 sub-region; two of them (Sub-Saharan Africa,
        // Latin America and the Caribbean) span several model regions. Their stock is split over
        // those regions in proportion to the regions' emigrants.
        let mut emigrants_by_region = vec![0.0; nr];
        for i in 0..n {
            emigrants_by_region[self.region[i] as usize] += self.emigrants[i];
        }
        let mut group_regions: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for i in 0..n {
            let r = self.region[i] as usize;
            let entry = group_regions
                .entry(self.region_aliases[i][0].clone())
                .or_default();
            if !entry.contains(&r) {
                entry.push(r);
            }
        }
        let mut network = vec![0.0; n * nr];
        let mut corridors = Vec::new();
        let mut groups: Vec<String> = group_regions.keys().cloned().collect();
        groups.sort();
        let mut region_group = vec![String::new(); nr];
        for (g, regions) in &group_regions {
            for &r in regions {
                region_group[r] = g.clone();
            }
        }
        let mut reader = csv::Reader::from_reader(CORRIDORS_CSV.as_bytes());
        for rec in reader.records() {
            let rec = rec.map_err(|e| Error::Data {
                table: "corridors_2015.csv",
                message: e.to_string(),
            })?;
            let group = rec.get(0).unwrap_or("");
            let Some(j) = self.state_by_iso3(rec.get(1).unwrap_or("")) else {
                continue;
            };
            let stock: f64 = rec.get(2).unwrap_or("").parse().map_err(|_| Error::Data {
                table: "corridors_2015.csv",
                message: format!("migrant_stock_2015 is not a number: {:?}", rec.get(2)),
            })?;
            let Some(regions) = group_regions.get(group) else {
                continue;
            };
            if let Some(g) = groups.iter().position(|x| x == group) {
                corridors.push((g, j, stock));
            }
            let total: f64 = regions.iter().map(|&r| emigrants_by_region[r]).sum();
            for &r in regions {
                let w = if total > 0.0 {
                    emigrants_by_region[r] / total
                } else {
                    1.0 / regions.len() as f64
                };
                network[j as usize * nr + r] += stock * w;
            }
        }
        let world_emigrants: f64 = emigrants_by_region.iter().sum();
        for j in 0..n {
            let row = &mut network[j * nr..(j + 1) * nr];
            let sum: f64 = row.iter().sum();
            let target = self.immigrants[j];
            if sum > 0.0 {
                // Corridors leave out unknown origins; scale to the start-year stock.
                let scale = target / sum;
                row.iter_mut().for_each(|x| *x *= scale);
            } else if world_emigrants > 0.0 {
                for (r, x) in row.iter_mut().enumerate() {
                    *x = target * emigrants_by_region[r] / world_emigrants;
                }
            }
        }
        Ok((network, corridors, groups, region_group))
    }

    /// A synthetic world of `n` States in `n_regions` regions, drawn from a fixed stream of
    /// `seed`; it is the same for every replication of a run.
    pub fn synthetic(n: usize, n_regions: usize, seed: u64) -> Facts {
        let n_regions = n_regions.clamp(1, n.max(1));
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(u64::from_le_bytes(*b"syntheti"));
        let mut f = Facts {
            iso3: (0..n).map(|i| format!("S{:05}", i + 1)).collect(),
            name: (0..n)
                .map(|i| format!("Synthetic State {}", i + 1))
                .collect(),
            region: (0..n).map(|i| (i * n_regions / n) as u16).collect(),
            region_names: (0..n_regions).map(|r| format!("R{:02}", r + 1)).collect(),
            region_aliases: vec![[String::new(), String::new()]; n],
            income_group: Vec::with_capacity(n),
            population: Vec::with_capacity(n),
            immigrants: Vec::with_capacity(n),
            emigrants: Vec::with_capacity(n),
            refugees: Vec::with_capacity(n),
            network: vec![0.0; n * n_regions],
            forum_roles: BTreeMap::new(),
            region_group: Vec::new(),
            corridors: Vec::new(),
            corridor_groups: Vec::new(),
            history: Arc::default(),
            by_iso3: Vec::new(),
            by_region: BTreeMap::new(),
        };
        for _ in 0..n {
            let u: f64 = rng.random();
            let group = match u {
                u if u < 0.15 => IncomeGroup::Low,
                u if u < 0.40 => IncomeGroup::LowerMiddle,
                u if u < 0.68 => IncomeGroup::UpperMiddle,
                _ => IncomeGroup::High,
            };
            // Log-uniform population from 100 thousand to 100 million.
            let pop = 10f64.powf(5.0 + 3.0 * rng.random::<f64>());
            let rich = group.level();
            let imm_share = 0.01 + 0.2 * rich * rng.random::<f64>();
            let emi_share = 0.01 + 0.08 * (1.0 - rich) * rng.random::<f64>();
            f.income_group.push(group);
            f.population.push(pop);
            f.immigrants.push(pop * imm_share);
            f.emigrants.push(pop * emi_share);
            f.refugees.push(pop * imm_share * 0.1 * rng.random::<f64>());
        }
        let mut emigrants_by_region = vec![0.0; n_regions];
        for i in 0..n {
            emigrants_by_region[f.region[i] as usize] += f.emigrants[i];
        }
        for j in 0..n {
            // Half of a destination's stock comes from its own region, the rest in proportion to
            // each region's emigrants.
            let own = f.region[j] as usize;
            let total: f64 = emigrants_by_region.iter().sum();
            for (r, emigrants) in emigrants_by_region.iter().enumerate() {
                let share = 0.5 * emigrants / total + if r == own { 0.5 } else { 0.0 };
                f.network[j * n_regions + r] = f.immigrants[j] * share;
            }
        }
        f.network = origin_major(&f.network, n_regions);
        f.index_names();
        f
    }
}

/// The origin-major copy (`r * n + j`) of a destination-major table (`j * nr + r`) of `nr`
/// regions.
fn origin_major(by_destination: &[f64], nr: usize) -> Vec<f64> {
    let n = by_destination.len() / nr.max(1);
    let mut out = vec![0.0; by_destination.len()];
    for (j, row) in by_destination.chunks_exact(nr).enumerate() {
        for (r, &x) in row.iter().enumerate() {
            out[r * n + j] = x;
        }
    }
    out
}

fn read_forum_roles(facts: &Facts) -> Result<BTreeMap<String, Vec<(u32, Role)>>> {
    let mut roles: BTreeMap<String, Vec<(u32, Role)>> = BTreeMap::new();
    let mut reader = csv::Reader::from_reader(FORUMS_CSV.as_bytes());
    for rec in reader.records() {
        let rec = rec.map_err(|e| Error::Data {
            table: "forums.csv",
            message: e.to_string(),
        })?;
        let forum = rec.get(0).unwrap_or("").to_string();
        let code = rec.get(1).unwrap_or("");
        let role = match rec.get(2).unwrap_or("") {
            "member" => Role::Member,
            "observer" => Role::Observer,
            other => {
                return Err(Error::Data {
                    table: "forums.csv",
                    message: format!("unknown role {other}"),
                });
            }
        };
        let Some(i) = facts.state_by_iso3(code) else {
            return Err(Error::Data {
                table: "forums.csv",
                message: format!("unknown State {code}"),
            });
        };
        roles.entry(forum).or_default().push((i, role));
    }
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn un193_has_193_states_in_22_regions() {
        let f = Facts::un193(2007).expect("embedded data");
        assert_eq!(f.n_states(), 193);
        assert_eq!(f.n_regions(), 22);
        assert!(f.population.iter().all(|&p| p > 0.0));
        // The 2007 migrant stock lies between the DESA figures of 2005 and 2010 (187 and 216 million).
        let total: f64 = f.immigrants.iter().sum();
        assert!(total > 187e6 && total < 216e6, "{total}");
        // The network of each destination adds up to its immigrant stock.
        let (n, nr) = (f.n_states(), f.n_regions());
        for j in 0..n {
            let s: f64 = (0..nr).map(|r| f.network[r * n + j]).sum();
            assert!((s - f.immigrants[j]).abs() <= 1e-6 * f.immigrants[j].max(1.0));
        }
        assert_eq!(f.forum_roles["IGC"].len(), 17);
    }

    #[test]
    fn synthetic_world_is_deterministic_in_its_seed() {
        let a = Facts::synthetic(50, 5, 7);
        let b = Facts::synthetic(50, 5, 7);
        let c = Facts::synthetic(50, 5, 8);
        assert_eq!(a.population, b.population);
        assert_ne!(a.population, c.population);
        assert_eq!(a.n_regions(), 5);
        assert_eq!(a.region[49], 4);
    }

    /// The lookups by code and by region name give what the linear definitions give, for every
    /// code and every name of both kinds of world.
    #[test]
    fn lookups_agree_with_the_linear_definitions() {
        for f in [
            Facts::un193(2007).expect("embedded data"),
            Facts::synthetic(50, 5, 7),
        ] {
            for (i, code) in f.iso3.iter().enumerate() {
                assert_eq!(f.state_of_code(code), Some(i as u32));
            }
            assert_eq!(f.state_of_code("XXX"), None);
            let names = f
                .region_names
                .iter()
                .chain(f.region_aliases.iter().flatten());
            for name in names.chain([&"Nowhere".to_string()]) {
                let linear: Vec<u32> = (0..f.n_states())
                    .filter(|&i| f.in_region(i, name))
                    .map(|i| i as u32)
                    .collect();
                assert_eq!(f.states_in_region(name), linear, "{name}");
            }
        }
    }
}
