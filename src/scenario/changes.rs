//! When a scenario's changes against a baseline begin: the year a proposal starts, for the
//! marker of a comparison's charts. Read from the two validated scenarios, so that it holds for
//! every way a file can say it (an event, a timeline entry, a new forum or treaty, a changed
//! meeting schedule).

use super::{Event, ForumSpec, Scenario, TimelineChange, TreatySpec};

/// When the changes of a scenario against a baseline take effect.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyStart {
    /// The two scenarios run the same world.
    Unchanged,
    /// Every change holds from the first year of the run.
    FromStart,
    /// The earliest year in which a dated change (an event, a timeline entry, the first meeting
    /// of a new forum, a changed meeting schedule, the opening of a new treaty) takes effect;
    /// `also_from_start` when some other change holds from the first year.
    Year { year: i32, also_from_start: bool },
}

/// Collects the years of dated changes, and whether any change holds from the start.
struct Changes {
    start: i32,
    end: i32,
    years: Vec<i32>,
    from_start: bool,
}

impl Changes {
    fn dated(&mut self, year: i32) {
        // A change dated before the run holds from its first year; one after it never acts.
        if year <= self.start {
            self.from_start = true;
        } else if year <= self.end {
            self.years.push(year);
        }
    }

    /// Entries of one timeline the other lacks (and the other way round).
    fn timelines(&mut self, a: &[TimelineChange], b: &[TimelineChange]) {
        for (x, y) in [(a, b), (b, a)] {
            for c in x.iter().filter(|c| !y.contains(c)) {
                self.dated(c.year);
            }
        }
    }

    fn events(&mut self, a: &[Event], b: &[Event]) {
        for (x, y) in [(a, b), (b, a)] {
            for e in x.iter().filter(|e| !y.contains(e)) {
                self.dated(e.year());
            }
        }
    }

    /// The meeting years of a forum within the run.
    fn meetings(&self, f: &ForumSpec) -> Vec<i32> {
        let d = &f.design;
        let (first, last, step) = (d.first_year as i32, d.last_year as i32, d.interval as i32);
        (self.start..=self.end.min(last))
            .filter(|y| *y >= first && (y - first) % step.max(1) == 0 && !f.skip_years.contains(y))
            .collect()
    }

    fn forum(&mut self, base: Option<&ForumSpec>, other: Option<&ForumSpec>) {
        match (base, other) {
            (Some(b), Some(o)) => {
                self.timelines(&b.timeline, &o.timeline);
                let (mb, mo) = (self.meetings(b), self.meetings(o));
                if let Some(y) = mb
                    .iter()
                    .filter(|y| !mo.contains(y))
                    .chain(mo.iter().filter(|y| !mb.contains(y)))
                    .min()
                {
                    self.dated(*y);
                }
                // Everything else the same once timeline and schedule are set aside?
                let mut plain = o.clone();
                plain.timeline.clone_from(&b.timeline);
                plain.skip_years.clone_from(&b.skip_years);
                plain.design.first_year = b.design.first_year;
                plain.design.last_year = b.design.last_year;
                plain.design.interval = b.design.interval;
                if &plain != b {
                    self.from_start = true;
                }
            }
            (None, Some(f)) | (Some(f), None) => match self.meetings(f).first() {
                Some(&y) => self.dated(y),
                None => self.from_start = true,
            },
            (None, None) => {}
        }
    }

    fn treaty(&mut self, base: Option<&TreatySpec>, other: Option<&TreatySpec>) {
        match (base, other) {
            (Some(b), Some(o)) => {
                self.timelines(&b.timeline, &o.timeline);
                let mut plain = o.clone();
                plain.timeline.clone_from(&b.timeline);
                if &plain != b {
                    self.from_start = true;
                }
            }
            (None, Some(t)) | (Some(t), None) => self.dated(t.design.opened as i32),
            (None, None) => {}
        }
    }
}

/// The names of two lists of institutions, each once, in the order of the first then the second.
fn union<'a>(a: impl Iterator<Item = &'a str>, b: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut names: Vec<&str> = a.collect();
    for n in b {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
}

impl Scenario {
    /// When this scenario's changes against `baseline` take effect (over this scenario's run).
    pub fn policy_start(&self, baseline: &Scenario) -> PolicyStart {
        let mut c = Changes {
            start: self.run.start_year,
            end: self.run.end_year,
            years: Vec::new(),
            from_start: false,
        };
        c.events(&baseline.events, &self.events);
        c.timelines(&baseline.bilateral_timeline, &self.bilateral_timeline);
        let forum = |s: &Scenario, n: &str| s.forums.iter().find(|f| f.name == n).cloned();
        for name in union(
            baseline.forums.iter().map(|f| f.name.as_str()),
            self.forums.iter().map(|f| f.name.as_str()),
        ) {
            c.forum(forum(baseline, name).as_ref(), forum(self, name).as_ref());
        }
        let treaty = |s: &Scenario, n: &str| s.treaties.iter().find(|t| t.name == n).cloned();
        for name in union(
            baseline.treaties.iter().map(|t| t.name.as_str()),
            self.treaties.iter().map(|t| t.name.as_str()),
        ) {
            c.treaty(treaty(baseline, name).as_ref(), treaty(self, name).as_ref());
        }
        // Everything that is not dated: the same in both once the dated parts and the labels
        // are set aside?
        let mut plain = self.clone();
        plain.name.clone_from(&baseline.name);
        plain.description.clone_from(&baseline.description);
        plain.passage.clone_from(&baseline.passage);
        plain.source.clone_from(&baseline.source);
        plain.run = baseline.run.clone();
        plain.events.clone_from(&baseline.events);
        plain
            .bilateral_timeline
            .clone_from(&baseline.bilateral_timeline);
        plain.forums.clone_from(&baseline.forums);
        plain.treaties.clone_from(&baseline.treaties);
        plain.pinned.clone_from(&baseline.pinned);
        if plain != *baseline {
            c.from_start = true;
        }
        match c.years.iter().min() {
            Some(&year) => PolicyStart::Year {
                year,
                also_from_start: c.from_start,
            },
            None if c.from_start => PolicyStart::FromStart,
            None => PolicyStart::Unchanged,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin(name: &str) -> Scenario {
        Scenario::builtin(name).expect("built in")
    }

    #[test]
    fn proposals_start_when_their_files_say() {
        let sq = builtin("status_quo");
        assert_eq!(sq.policy_start(&sq), PolicyStart::Unchanged);
        let year = |name: &str| builtin(name).policy_start(&sq);
        // A new forum from 2017, events of 2017, timeline entries of 2017.
        for name in [
            "un_platform",
            "firewalls",
            "open_legal_channels",
            "civil_society_capacity",
            "iom_protection_mandate",
        ] {
            assert_eq!(
                year(name),
                PolicyStart::Year {
                    year: 2017,
                    also_from_start: false
                },
                "{name}"
            );
        }
        // The High-Level Dialogue's new parameters from 2014 (its meetings change from 2018).
        assert_eq!(
            year("regular_hld"),
            PolicyStart::Year {
                year: 2014,
                also_from_start: false
            }
        );
    }

    #[test]
    fn a_changed_parameter_without_a_year_holds_from_the_start() {
        let sq = builtin("status_quo");
        let mut other = sq.clone();
        other.flows.beta_far += 1.0;
        assert_eq!(other.policy_start(&sq), PolicyStart::FromStart);
        let mut late = sq.clone();
        late.events.push(Event::Pressure {
            year: 2030,
            members: late.forums[0].members.clone(),
            shift: 0.1,
        });
        late.flows.beta_far += 1.0;
        assert_eq!(
            late.policy_start(&sq),
            PolicyStart::Year {
                year: 2030,
                also_from_start: true
            }
        );
    }
}
