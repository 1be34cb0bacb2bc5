//! The record of the past, up to each table's cut-off year: treaty ratifications (to 2007), asylum
//! decisions (2000-2012), refugees by host (2000-2015), the IMPIC policy indices (1980-2007),
//! bilateral labour agreements (to 2007) and bilateral migrant stocks (1990-2015). Initial
//! conditions read it only up to the start year; calibration targets read it only up to each
//! table's cut-off (`data/SOURCES.md` credits the sources).

use std::collections::BTreeMap;

use crate::error::{Error, Result};

const TREATY_PARTIES_CSV: &str = include_str!("../../data/treaty_parties_to_2007.csv");
const ASYLUM_CSV: &str = include_str!("../../data/asylum_decisions_2000_2012.csv");
const REFUGEES_CSV: &str = include_str!("../../data/refugees_by_host_2000_2015.csv");
const IMPIC_CSV: &str = include_str!("../../data/impic_1980_2007.csv");
const BLA_CSV: &str = include_str!("../../data/bilateral_labour_agreements_to_2007.csv");
const BLA_PROVISIONS_CSV: &str =
    include_str!("../../data/bilateral_labour_agreement_provisions_to_2007.csv");
const BILATERAL_STOCK_CSV: &str = include_str!("../../data/bilateral_stock_1990_2015.csv");

/// The last year of the treaty-ratification table.
pub const TREATY_CUTOFF: i32 = 2007;
/// The last year of the bilateral labour agreements table.
pub const AGREEMENT_CUTOFF: i32 = 2007;

/// One country of asylum's first-instance and appeal decisions in a year, summed over origins.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AsylumYear {
    pub year: i32,
    /// Recognised (Convention status) plus complementary protection.
    pub granted: f64,
    pub rejected: f64,
}

/// One State's IMPIC indices in a year (0 open to 1 restrictive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impic {
    pub year: i32,
    pub overall: f64,
    /// Restrictiveness of the entry conditions for labour migrants.
    pub external_labour: f64,
    /// Restrictiveness of labour migrants' rights once admitted.
    pub internal_labour: f64,
    pub asylum: f64,
    /// Control: external (borders), internal, overall.
    pub control_external: f64,
    pub control_internal: f64,
    pub control_overall: f64,
}

/// A bilateral labour agreement between an origin and a destination State.
#[derive(Debug, Clone, PartialEq)]
pub struct LabourAgreement {
    pub origin: u32,
    pub destination: u32,
    pub year: i32,
    /// Whether its provisions are coded in the provisions table.
    pub coded: bool,
    /// Rights provisions of a coded agreement: equal treatment, wage protection, social security,
    /// a ban on recruitment fees charged to migrants, a complaint mechanism, a path to permanent
    /// residence; the share of these six it has (0 for an uncoded one).
    pub rights: f64,
    /// Whether it sets a quota of workers.
    pub quota: bool,
}

/// The record of the past for the 193 UN member States (empty for a synthetic world).
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Year of ratification, accession or succession per treaty of the table and State (`None`:
    /// not a party by the cut-off).
    pub ratified: BTreeMap<String, Vec<Option<i32>>>,
    /// Asylum decisions per State, by year.
    pub asylum: Vec<Vec<AsylumYear>>,
    /// Refugees hosted per State at year end (UNHCR), by year.
    pub refugees: Vec<Vec<(i32, f64)>>,
    /// IMPIC indices per State, by year (33 OECD States).
    pub impic: Vec<Vec<Impic>>,
    pub labour_agreements: Vec<LabourAgreement>,
    /// Migrant stock by year: (origin, destination, stock) between UN member States, sorted by
    /// origin then destination; and the stock of unknown or other origins per destination.
    pub bilateral: BTreeMap<i32, Vec<(u32, u32, f64)>>,
    pub bilateral_unknown: BTreeMap<i32, Vec<f64>>,
}

fn data_err(table: &'static str, message: impl Into<String>) -> Error {
    Error::Data {
        table,
        message: message.into(),
    }
}

fn number(table: &'static str, s: &str, what: &str) -> Result<f64> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(0.0);
    }
    s.parse::<f64>()
        .map_err(|_| data_err(table, format!("{what} is not a number: {s:?}")))
}

fn year(table: &'static str, s: &str) -> Result<i32> {
    let x = number(table, s, "year")?;
    Ok(x as i32)
}

/// Calls `f` with the fields of each row of a table in the columns `names`, in order (empty
/// where the table has no such column): the columns are found once, and every row is read into
/// the same record.
fn each_row<const K: usize>(
    table: &'static str,
    text: &str,
    names: [&str; K],
    mut f: impl FnMut([&str; K]) -> Result<()>,
) -> Result<()> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| data_err(table, e.to_string()))?;
    let columns = names.map(|name| header.iter().position(|h| h == name));
    let mut record = csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .map_err(|e| data_err(table, e.to_string()))?
    {
        f(columns.map(|c| c.and_then(|k| record.get(k)).unwrap_or("")))?;
    }
    Ok(())
}

impl History {
    /// Reads every table for the States of `iso3` (index order).
    pub fn read(iso3: &[String]) -> Result<History> {
        let n = iso3.len();
        let index: BTreeMap<&str, u32> = iso3
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i as u32))
            .collect();
        let state = |table: &'static str, code: &str| -> Result<Option<u32>> {
            match index.get(code) {
                Some(&i) => Ok(Some(i)),
                None if code.len() == 3 => Ok(None),
                None => Err(data_err(table, format!("not a State code: {code:?}"))),
            }
        };
        let mut h = History {
            asylum: vec![Vec::new(); n],
            refugees: vec![Vec::new(); n],
            impic: vec![Vec::new(); n],
            ..History::default()
        };
        const T: &str = "treaty_parties_to_2007.csv";
        each_row(
            T,
            TREATY_PARTIES_CSV,
            ["iso3", "treaty", "year"],
            |[code, treaty, y]| {
                let Some(i) = state(T, code)? else {
                    return Ok(());
                };
                let years = h
                    .ratified
                    .entry(treaty.to_string())
                    .or_insert_with(|| vec![None; n]);
                if !y.trim().is_empty() {
                    years[i as usize] = Some(year(T, y)?);
                }
                Ok(())
            },
        )?;
        const A: &str = "asylum_decisions_2000_2012.csv";
        let columns = [
            "iso3",
            "year",
            "dec_recognized",
            "dec_other",
            "dec_rejected",
        ];
        each_row(
            A,
            ASYLUM_CSV,
            columns,
            |[code, y, recognised, other, rejected]| {
                let Some(i) = state(A, code)? else {
                    return Ok(());
                };
                let granted =
                    number(A, recognised, "dec_recognized")? + number(A, other, "dec_other")?;
                h.asylum[i as usize].push(AsylumYear {
                    year: year(A, y)?,
                    granted,
                    rejected: number(A, rejected, "dec_rejected")?,
                });
                Ok(())
            },
        )?;
        const R: &str = "refugees_by_host_2000_2015.csv";
        each_row(
            R,
            REFUGEES_CSV,
            ["host_iso3", "year", "refugees"],
            |[code, y, refugees]| {
                let Some(i) = state(R, code)? else {
                    return Ok(());
                };
                h.refugees[i as usize].push((year(R, y)?, number(R, refugees, "refugees")?));
                Ok(())
            },
        )?;
        const I: &str = "impic_1980_2007.csv";
        const COLUMNS: [&str; 9] = [
            "iso3",
            "year",
            "immpol_overall",
            "extreg_labour",
            "intreg_labour",
            "reg_asylum",
            "control_external",
            "control_internal",
            "control_overall",
        ];
        each_row(I, IMPIC_CSV, COLUMNS, |fields| {
            let Some(i) = state(I, fields[0])? else {
                return Ok(());
            };
            let x = |k: usize| number(I, fields[k], COLUMNS[k]);
            h.impic[i as usize].push(Impic {
                year: year(I, fields[1])?,
                overall: x(2)?,
                external_labour: x(3)?,
                internal_labour: x(4)?,
                asylum: x(5)?,
                control_external: x(6)?,
                control_internal: x(7)?,
                control_overall: x(8)?,
            });
            Ok(())
        })?;
        const S: &str = "bilateral_stock_1990_2015.csv";
        let columns = ["year", "dest_iso3", "orig_iso3", "stock_total"];
        each_row(S, BILATERAL_STOCK_CSV, columns, |[y, dest, orig, stock]| {
            let y = year(S, y)?;
            let Some(j) = state(S, dest)? else {
                return Ok(());
            };
            let stock = number(S, stock, "stock_total")?;
            match state(S, orig)? {
                Some(o) => h.bilateral.entry(y).or_default().push((o, j, stock)),
                None => {
                    h.bilateral_unknown.entry(y).or_insert_with(|| vec![0.0; n])[j as usize] +=
                        stock
                }
            }
            Ok(())
        })?;
        for v in h.bilateral.values_mut() {
            v.sort_by_key(|&(o, j, _)| (o, j));
        }
        h.labour_agreements = read_agreements(&h, &state)?;
        Ok(h)
    }

    /// Bilateral stock of origin `o` in destination `j` in a table year (0 if none).
    pub fn stock(&self, year: i32, o: u32, j: u32) -> f64 {
        self.bilateral.get(&year).map_or(0.0, |v| {
            v.binary_search_by_key(&(o, j), |&(a, b, _)| (a, b))
                .map_or(0.0, |k| v[k].2)
        })
    }

    /// The asylum recognition rate of State `i` over the years `from..=to`, weighted by decisions
    /// (granted over granted and rejected), with the number of substantive decisions.
    pub fn recognition(&self, i: usize, from: i32, to: i32) -> (f64, f64) {
        let (mut granted, mut total) = (0.0, 0.0);
        for a in self.asylum[i]
            .iter()
            .filter(|a| a.year >= from && a.year <= to)
        {
            granted += a.granted;
            total += a.granted + a.rejected;
        }
        (
            if total > 0.0 {
                granted / total
            } else {
                f64::NAN
            },
            total,
        )
    }

    /// State `i`'s IMPIC indices in the latest year not after `year`.
    pub fn impic_at(&self, i: usize, year: i32) -> Option<Impic> {
        self.impic[i]
            .iter()
            .filter(|x| x.year <= year)
            .max_by_key(|x| x.year)
            .copied()
    }

    /// Whether State `i` was a party, by the end of `year`, to any of the table's `treaties`.
    pub fn party_by(&self, treaties: &[String], i: usize, year: i32) -> bool {
        treaties.iter().any(|t| {
            self.ratified
                .get(t)
                .and_then(|v| v[i])
                .is_some_and(|y| y <= year)
        })
    }

    /// [`History::party_by`] of every State, each of the `treaties` looked up once (not once
    /// per State: a world's recorded parties are built every replication).
    pub fn parties_by(&self, treaties: &[String], n_states: usize, year: i32) -> Vec<bool> {
        let mut parties = vec![false; n_states];
        for years in treaties.iter().filter_map(|t| self.ratified.get(t)) {
            for (party, ratified) in parties.iter_mut().zip(years) {
                *party |= ratified.is_some_and(|y| y <= year);
            }
        }
        parties
    }
}

/// Fewest substantive asylum decisions (granted or rejected) over the five years up to the start
/// for a State's recognition rate to set its asylum protection.
pub const MIN_DECISIONS: f64 = 200.0;

/// State `i`'s start-year instruments as the record has them, where it has them: asylum
/// protection from its recognition rate over the five years up to `start` (decision-weighted, at
/// least [`MIN_DECISIONS`]), inverted through the admission mechanism
/// (rate = `recognition_base` + `recognition_protection` × p); and from its IMPIC indices of the
/// latest year not after `start`: enforcement = overall control, legal channels = 1 − the
/// restrictiveness of labour entry, labour protection = 1 − the restrictiveness of labour
/// migrants' rights. Trafficking protection has no record. Order: the five instruments.
pub fn recorded_policy(
    h: &History,
    i: usize,
    start: i32,
    recognition_base: f64,
    recognition_protection: f64,
) -> [Option<f64>; 5] {
    let mut out = [None; 5];
    if h.asylum.is_empty() {
        return out;
    }
    let (rate, decisions) = h.recognition(i, start - 4, start);
    if decisions >= MIN_DECISIONS && recognition_protection > 0.0 {
        out[0] = Some(((rate - recognition_base) / recognition_protection).clamp(0.0, 1.0));
    }
    if let Some(x) = h.impic_at(i, start) {
        out[1] = Some((1.0 - x.internal_labour).clamp(0.0, 1.0));
        out[3] = Some(x.control_overall.clamp(0.0, 1.0));
        out[4] = Some((1.0 - x.external_labour).clamp(0.0, 1.0));
    }
    out
}

/// The agreements of the table between UN member States, each oriented from origin to
/// destination: the destination is the partner hosting more of the other's nationals (bilateral
/// stock of the latest table year not after the agreement's year, and at least 1990), or, with no
/// stock either way, the partner with the higher immigrant share in 1990.
fn read_agreements(
    h: &History,
    state: &dyn Fn(&'static str, &str) -> Result<Option<u32>>,
) -> Result<Vec<LabourAgreement>> {
    const B: &str = "bilateral_labour_agreements_to_2007.csv";
    const P: &str = "bilateral_labour_agreement_provisions_to_2007.csv";
    let mut provisions: BTreeMap<String, (f64, bool)> = BTreeMap::new();
    // The treaty, its quota flag and its six rights provisions.
    const COLUMNS: [&str; 8] = [
        "treaty_id",
        "quota",
        "prot_equal",
        "wage_prot",
        "social_security",
        "recruit_cost_mig",
        "disputes_emp_mig",
        "perm_resid",
    ];
    each_row(P, BLA_PROVISIONS_CSV, COLUMNS, |fields| {
        let on = |k: usize| -> Result<bool> { Ok(number(P, fields[k], COLUMNS[k])? > 0.0) };
        let mut count = 0.0;
        for k in 2..COLUMNS.len() {
            if on(k)? {
                count += 1.0;
            }
        }
        provisions.insert(
            fields[0].to_string(),
            (count / (COLUMNS.len() - 2) as f64, on(1)?),
        );
        Ok(())
    })?;
    let mut hosted_1990: BTreeMap<u32, f64> = BTreeMap::new();
    for &(_, j, s) in h.bilateral.get(&1990).into_iter().flatten() {
        *hosted_1990.entry(j).or_default() += s;
    }
    let unknown_1990 = h.bilateral_unknown.get(&1990);
    let hosted = |j: u32| -> f64 {
        hosted_1990.get(&j).copied().unwrap_or(0.0) + unknown_1990.map_or(0.0, |u| u[j as usize])
    };
    let mut out = Vec::new();
    each_row(
        B,
        BLA_CSV,
        ["isoA", "isoB", "year", "treaty_id"],
        |[a, b, y, treaty]| {
            let (Some(a), Some(b)) = (state(B, a)?, state(B, b)?) else {
                return Ok(());
            };
            if a == b {
                return Ok(());
            }
            let y = year(B, y)?;
            let table_year = (y - (y - 1990).rem_euclid(5)).clamp(1990, 2005);
            let (ab, ba) = (h.stock(table_year, a, b), h.stock(table_year, b, a));
            let (origin, destination) = if ab > ba {
                (a, b)
            } else if ba > ab {
                (b, a)
            } else if hosted(b) >= hosted(a) {
                (a, b)
            } else {
                (b, a)
            };
            let coded = provisions.get(treaty).copied();
            out.push(LabourAgreement {
                origin,
                destination,
                year: y,
                coded: coded.is_some(),
                rights: coded.map_or(0.0, |c| c.0),
                quota: coded.is_some_and(|c| c.1),
            });
            Ok(())
        },
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {

    use crate::world::Facts;

    #[test]
    fn the_record_reads_and_matches_its_documented_counts() {
        let f = Facts::un193(2007).expect("facts");
        let h = &f.history;
        let parties = |names: &[&str]| {
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            (0..f.n_states())
                .filter(|&i| h.party_by(&names, i, 2007))
                .count()
        };
        // data/SOURCES.md: about 145 States party to the Convention or Protocol, 37 to the ICRMW,
        // 115 to the trafficking protocol by 2007.
        assert_eq!(
            parties(&["Refugee_Convention_1951", "Refugee_Protocol_1967"]),
            146
        );
        assert_eq!(parties(&["ICRMW"]), 37);
        assert_eq!(parties(&["Trafficking_Protocol"]), 115);
        let usa = f.state_by_iso3("USA").expect("USA") as usize;
        assert!(h.impic_at(usa, 2007).is_some());
        let (rate, decisions) = h.recognition(usa, 2002, 2006);
        assert!(
            rate > 0.1 && rate < 0.9 && decisions > 1000.0,
            "{rate} {decisions}"
        );
        assert!(h.labour_agreements.len() > 700);
        let mex = f.state_by_iso3("MEX").expect("MEX");
        let usa = usa as u32;
        assert!(h.stock(2005, mex, usa) > 9e6);
        // Agreements are oriented from origin to destination by the bilateral stock.
        let phl = f.state_by_iso3("PHL").expect("PHL");
        let with_phl: Vec<_> = h
            .labour_agreements
            .iter()
            .filter(|a| a.origin == phl || a.destination == phl)
            .collect();
        let from_phl = with_phl.iter().filter(|a| a.origin == phl).count();
        assert!(
            from_phl * 10 >= with_phl.len() * 9,
            "the Philippines is the origin of {from_phl} of its {} agreements",
            with_phl.len()
        );
        assert!(
            with_phl
                .iter()
                .any(|a| a.origin == phl && a.destination == usa)
        );
    }

    #[test]
    fn parties_by_is_party_by_of_every_state() {
        let f = Facts::un193(2007).expect("facts");
        let h = &f.history;
        let names: Vec<String> = ["Refugee_Convention_1951", "Refugee_Protocol_1967", "ICRMW"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for treaties in [&names[..2], &names[2..], &names[..0]] {
            for year in [1960, 1990, 2006] {
                let each: Vec<bool> = (0..f.n_states())
                    .map(|i| h.party_by(treaties, i, year))
                    .collect();
                assert_eq!(h.parties_by(treaties, f.n_states(), year), each);
            }
        }
        assert!(
            h.parties_by(&names[..2], f.n_states(), 2006)
                .iter()
                .any(|&p| p)
        );
    }
}
