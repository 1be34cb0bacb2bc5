//! Who dominates a forum: each member's share of its voice (power^alpha, plus the chairs'
//! share), as the forum's joint statement, practice exchange and capacity transfer weigh it.
//! Power is a State's stake as a destination (its immigrant stock) times its capacity (income);
//! see `docs/ODD.md`, section 3.1.

use crate::experiment::seeds;
use crate::scenario::Scenario;
use crate::world::{Facts, World};

/// One member's voice in one forum at the start of a replication.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceShare {
    pub forum: String,
    pub iso3: String,
    pub name: String,
    /// Share of the members' total voice, in [0, 1].
    pub share: f64,
    pub chair: bool,
    pub destination: bool,
}

/// Every forum's members with their voice shares under the forum's design in the start year, the
/// largest first, from the world of replication 0 of `seed` (the income jitter moves the shares
/// by a little from one replication to the next).
pub fn voice_shares(scenario: &Scenario, facts: &Facts, seed: u64) -> Vec<VoiceShare> {
    let key = seeds::replication_key(seed, 0, 0);
    let world = World::new(facts, scenario, &mut seeds::stream(key, seeds::WORLD));
    let mut out = Vec::new();
    for f in &world.forums {
        let members = &f.participants[..f.n_members];
        let total: f64 = f.voice[..f.n_members].iter().sum();
        let mut rows: Vec<VoiceShare> = members
            .iter()
            .zip(&f.voice)
            .zip(&f.chair)
            .map(|((&i, &v), &chair)| VoiceShare {
                forum: f.name.clone(),
                iso3: facts.iso3[i as usize].clone(),
                name: facts.name[i as usize].clone(),
                share: if total > 0.0 { v / total } else { 0.0 },
                chair,
                destination: world.destination[i as usize],
            })
            .collect();
        rows.sort_by(|a, b| b.share.total_cmp(&a.share).then(a.iso3.cmp(&b.iso3)));
        out.extend(rows);
    }
    out
}

/// The shares as CSV text (`forum,iso3,name,share,chair,destination`), every member.
pub fn to_csv(rows: &[VoiceShare]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["forum", "iso3", "name", "share", "chair", "destination"]);
    for r in rows {
        let _ = w.write_record([
            r.forum.as_str(),
            r.iso3.as_str(),
            r.name.as_str(),
            &format!("{:.6}", r.share),
            if r.chair { "1" } else { "0" },
            if r.destination { "1" } else { "0" },
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The `top` largest voices of each forum as a table for reading, one block per forum, with the
/// share of its destination members.
pub fn to_table(rows: &[VoiceShare], top: usize) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let mut forums: Vec<&str> = rows.iter().map(|r| r.forum.as_str()).collect();
    forums.dedup();
    for forum in forums {
        let members: Vec<&VoiceShare> = rows.iter().filter(|r| r.forum == forum).collect();
        let destinations = members
            .iter()
            .filter(|r| r.destination)
            .fold(0.0, |sum, r| sum + r.share);
        let _ = writeln!(
            out,
            "{forum}: {} members, destination members carry {:.1}% of the voice",
            members.len(),
            100.0 * destinations
        );
        for r in members.iter().take(top) {
            let _ = writeln!(
                out,
                "  {:<4} {:<34} {:>6.1}%{}{}",
                r.iso3,
                r.name,
                100.0 * r.share,
                if r.destination { "  destination" } else { "" },
                if r.chair { "  chair" } else { "" }
            );
        }
    }
    out
}
