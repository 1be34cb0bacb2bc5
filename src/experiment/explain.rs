//! Why an effect happens: the paired difference between two scenarios broken into the channels of
//! the model. Each channel can be switched off (a transformation of a scenario: a mechanism's
//! weight set to zero); the difference is computed for every combination of channels on and off,
//! in both scenarios, under the same seeds, and each channel's share is its Shapley value
//! (Shapley 1953): the mean over all orders in which the channels could be switched on of the
//! change its switching on makes. The shares add up exactly to the total effect less the effect
//! left with every channel off ("other": what acts outside the channels listed). Every combination
//! runs the same replications, so each replication has its own Shapley values, and their means
//! come with 95% intervals across replications (under a posterior, across parameters too).

use rayon::prelude::*;

use super::simulate;
use crate::error::{Error, Result};
use crate::scenario::{Event, Scenario};

/// A channel of the model that can be switched off.
pub struct Channel {
    pub name: &'static str,
    /// What switching it off does.
    pub off: &'static str,
    switch_off: fn(&mut Scenario),
    /// The key paths it sets: pinned, so that a posterior does not draw them back.
    pins: &'static [&'static str],
}

fn drop_timeline(s: &mut Scenario, fields: &[&str]) {
    for f in &mut s.forums {
        f.timeline.retain(|c| !fields.contains(&c.field));
    }
    for t in &mut s.treaties {
        t.timeline.retain(|c| !fields.contains(&c.field));
    }
}

/// The channels, in the order they are reported.
pub const CHANNELS: [Channel; 9] = [
    Channel {
        name: "deflection",
        pins: &[
            "flows.beta_protection_forced",
            "flows.beta_protection_labour",
            "flows.beta_enforcement",
        ],
        off: "migrants do not choose destinations by protection or enforcement (flows.beta_protection_forced, beta_protection_labour, beta_enforcement = 0)",
        switch_off: |s| {
            s.flows.beta_protection_forced = 0.0;
            s.flows.beta_protection_labour = 0.0;
            s.flows.beta_enforcement = 0.0;
        },
    },
    Channel {
        name: "practice exchange",
        pins: &["forum_dynamics.eta"],
        off: "attendees adopt nothing of each other's practices (forum_dynamics.eta = 0)",
        switch_off: |s| s.forum_dynamics.eta = 0.0,
    },
    Channel {
        name: "joint statement and follow-up",
        pins: &["policy.w_reputation", "policy.w_standing"],
        off: "falling below a forum's anchor costs nothing, seen or detected (policy.w_reputation = w_standing = 0)",
        switch_off: |s| {
            s.policy.w_reputation = 0.0;
            s.policy.w_standing = 0.0;
        },
    },
    Channel {
        name: "discourse",
        pins: &["pressure.kappa_discourse"],
        off: "forums do not calm domestic debate (pressure.kappa_discourse = 0)",
        switch_off: |s| s.pressure.kappa_discourse = 0.0,
    },
    Channel {
        name: "capacity and rights transfer",
        pins: &[],
        off: "no forum transfers enforcement capacity or pulls protection up (capacity_transfer = rights_transfer = 0, also in timelines)",
        switch_off: |s| {
            for f in &mut s.forums {
                f.design.capacity_transfer = 0.0;
                f.design.rights_transfer = 0.0;
            }
            drop_timeline(s, &["capacity_transfer", "rights_transfer"]);
        },
    },
    Channel {
        name: "treaty floors",
        pins: &[],
        off: "a shortfall below a treaty's floor costs nothing (sanction = 0, also in timelines)",
        switch_off: |s| {
            for t in &mut s.treaties {
                t.design.sanction = 0.0;
            }
            drop_timeline(s, &["sanction"]);
        },
    },
    Channel {
        name: "responsibility sharing",
        pins: &[],
        off: "no treaty resettles refugees among its parties (sharing = 0, also in timelines)",
        switch_off: |s| {
            for t in &mut s.treaties {
                t.design.sharing = 0.0;
            }
            drop_timeline(s, &["sharing"]);
        },
    },
    Channel {
        name: "bilateral deals",
        pins: &["bilateral.lifetime", "bilateral.consider_prob"],
        off: "no bilateral agreement is in force or signed (bilateral.lifetime = consider_prob = 0)",
        switch_off: |s| {
            s.bilateral.lifetime = 0.0;
            s.bilateral.consider_prob = 0.0;
            s.bilateral_timeline
                .retain(|c| c.field != "consider_prob" && c.field != "lifetime");
        },
    },
    Channel {
        name: "firewalls and held-open policies",
        pins: &["pressure.kappa_voice"],
        off: "migrants' voice does not calm pressure, and no event holds legal channels or enforcement at a floor (pressure.kappa_voice = 0; legal_channels and enforcement events removed)",
        switch_off: |s| {
            s.pressure.kappa_voice = 0.0;
            s.events
                .retain(|e| !matches!(e, Event::LegalChannels { .. } | Event::Enforcement { .. }));
        },
    },
];

/// How interactions between channels are shared out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Exact Shapley values over every combination (2^k of them).
    Shapley,
    /// Each channel switched off alone; the interactions stay in a remainder.
    OneAtATime,
}

/// A mean over replications and its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Share {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
}

impl Share {
    fn of(v: &[f64]) -> Share {
        let s = crate::stats::summarize(v, &mut Vec::new()).expect("at least two replications");
        Share {
            mean: s.mean,
            low: s.ci_low,
            high: s.ci_high,
        }
    }
}

/// One channel's part of the effect.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelShare {
    pub name: String,
    pub off: String,
    /// Its Shapley value (Shapley method) or the fall of the effect when it alone is off.
    pub share: Share,
}

/// An effect broken into its channels.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub base: String,
    pub variant: String,
    pub method: Method,
    /// The paired effect with every channel on.
    pub total: Share,
    pub channels: Vec<ChannelShare>,
    /// With the Shapley method, the effect with every channel off; with one at a time, the
    /// total less the channels' parts (interactions and what acts outside them).
    pub rest: Share,
    pub replications: u64,
    pub seed: u64,
    pub runs: usize,
    pub wall_seconds: f64,
}

/// `s` with every channel whose bit in `on` is clear switched off, and the keys it sets pinned.
fn switched(s: &Scenario, on: usize) -> Scenario {
    let mut s = s.clone();
    for (c, channel) in CHANNELS.iter().enumerate() {
        if on & (1 << c) == 0 {
            (channel.switch_off)(&mut s);
            s.pinned.extend(channel.pins.iter().map(|k| k.to_string()));
        }
    }
    s
}

fn factorial(n: usize) -> f64 {
    (1..=n).map(|x| x as f64).product()
}

/// Breaks the paired effect of `variant` against `base` on the RTB index into the channels.
pub fn explain(
    base: &Scenario,
    variant: &Scenario,
    method: Method,
    replications: u64,
    seed: u64,
    threads: usize,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Explanation> {
    let started = std::time::Instant::now();
    if base.world_kind != variant.world_kind
        || base.run.start_year != variant.run.start_year
        || base.run.end_year != variant.run.end_year
    {
        return Err(Error::Invalid {
            file: variant.source.clone().into(),
            key: "run".into(),
            message: format!(
                "{} must have the same world and years as {} to be compared with it",
                variant.name, base.name
            ),
        });
    }
    let k = CHANNELS.len();
    let all_on = (1usize << k) - 1;
    // The combinations (bit set: channel on) each method needs.
    let combos: Vec<usize> = match method {
        Method::Shapley => (0..=all_on).collect(),
        Method::OneAtATime => std::iter::once(all_on)
            .chain((0..k).map(|c| all_on & !(1 << c)))
            .collect(),
    };
    let facts = base.facts()?;
    let pool = super::thread_pool(threads)?;
    let reps = replications.max(2);
    let tasks: Vec<(usize, usize, u64)> = combos
        .iter()
        .enumerate()
        .flat_map(|(ci, _)| (0..2).flat_map(move |side| (0..reps).map(move |r| (ci, side, r))))
        .collect();
    let scenarios: Vec<[Scenario; 2]> = combos
        .iter()
        .map(|&on| [switched(base, on), switched(variant, on)])
        .collect();
    let total_tasks = tasks.len() as u64;
    let mut values = vec![0.0; tasks.len()];
    let chunk = 64 * threads.max(1);
    let mut done = 0;
    for start in (0..tasks.len()).step_by(chunk) {
        let end = (start + chunk).min(tasks.len());
        let out: Vec<Result<f64>> = pool.install(|| {
            tasks[start..end]
                .par_iter()
                .map(|&(ci, side, r)| {
                    Ok(simulate(&scenarios[ci][side], &facts, seed, 0, r)?
                        .record
                        .rtb)
                })
                .collect()
        });
        for (slot, v) in values[start..end].iter_mut().zip(out) {
            *slot = v?;
        }
        done += (end - start) as u64;
        progress(done, total_tasks);
    }
    // The paired effect of each combination, per replication.
    let at = |ci: usize, side: usize, r: u64| values[(ci * 2 + side) * reps as usize + r as usize];
    let effect: Vec<Vec<f64>> = (0..combos.len())
        .map(|ci| (0..reps).map(|r| at(ci, 1, r) - at(ci, 0, r)).collect())
        .collect();
    let index_of = |on: usize| {
        combos
            .iter()
            .position(|&c| c == on)
            .expect("combination run")
    };
    let total: Vec<f64> = effect[index_of(all_on)].clone();
    let mut channels = Vec::with_capacity(k);
    let rest = match method {
        Method::Shapley => {
            for (c, channel) in CHANNELS.iter().enumerate() {
                let mut per_rep = vec![0.0; reps as usize];
                for s in (0..=all_on).filter(|s| s & (1 << c) == 0) {
                    let size = s.count_ones() as usize;
                    let weight = factorial(size) * factorial(k - size - 1) / factorial(k);
                    let (with_c, without) = (&effect[index_of(s | (1 << c))], &effect[index_of(s)]);
                    for r in 0..reps as usize {
                        per_rep[r] += weight * (with_c[r] - without[r]);
                    }
                }
                channels.push(ChannelShare {
                    name: channel.name.into(),
                    off: channel.off.into(),
                    share: Share::of(&per_rep),
                });
            }
            Share::of(&effect[index_of(0)])
        }
        Method::OneAtATime => {
            let mut remainder = total.clone();
            for (c, channel) in CHANNELS.iter().enumerate() {
                let without = &effect[index_of(all_on & !(1 << c))];
                let part: Vec<f64> = total.iter().zip(without).map(|(t, w)| t - w).collect();
                for (r, p) in remainder.iter_mut().zip(&part) {
                    *r -= p;
                }
                channels.push(ChannelShare {
                    name: channel.name.into(),
                    off: channel.off.into(),
                    share: Share::of(&part),
                });
            }
            Share::of(&remainder)
        }
    };
    Ok(Explanation {
        base: base.name.clone(),
        variant: variant.name.clone(),
        method,
        total: Share::of(&total),
        channels,
        rest,
        replications: reps,
        seed,
        runs: tasks.len(),
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

/// The breakdown as a table for a reader, the largest parts first.
pub fn table(e: &Explanation) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let how = match e.method {
        Method::Shapley => "Shapley values over every combination of channels",
        Method::OneAtATime => "each channel switched off alone",
    };
    let _ = writeln!(
        s,
        "why {} differs from {}: the paired effect on the RTB index, {} paired replications, seed {} ({how}; {} runs, {:.0} s)",
        e.variant, e.base, e.replications, e.seed, e.runs, e.wall_seconds
    );
    let _ = writeln!(
        s,
        "  total effect {:+.4} [95% CI {:+.4}, {:+.4}] (negative: protection held up); through:",
        e.total.mean, e.total.low, e.total.high
    );
    let mut order: Vec<&ChannelShare> = e.channels.iter().collect();
    order.sort_by(|a, b| b.share.mean.abs().total_cmp(&a.share.mean.abs()));
    for c in order {
        let _ = writeln!(
            s,
            "    {:<34} {:+.4} [{:+.4}, {:+.4}]",
            c.name, c.share.mean, c.share.low, c.share.high
        );
    }
    let rest = match e.method {
        Method::Shapley => "other (with every channel off)",
        Method::OneAtATime => "interactions and other",
    };
    let _ = writeln!(
        s,
        "    {:<34} {:+.4} [{:+.4}, {:+.4}]",
        rest, e.rest.mean, e.rest.low, e.rest.high
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key a channel pins is a parameter, and a switched-off channel stays off under a
    /// posterior that draws one of its keys (the shipped one draws bilateral.consider_prob).
    #[test]
    fn a_switched_off_channel_is_not_drawn_back_by_a_posterior() {
        let base = Scenario::builtin_default().expect("scenario");
        assert!(base.posterior.is_some(), "the status quo ships a posterior");
        for channel in &CHANNELS {
            for key in channel.pins {
                base.parameter(key).expect(key);
            }
        }
        let bilateral = CHANNELS
            .iter()
            .position(|c| c.name == "bilateral deals")
            .expect("a bilateral channel");
        let off = switched(&base, ((1 << CHANNELS.len()) - 1) & !(1 << bilateral));
        for u in [0.1, 0.5, 0.9] {
            assert_eq!(off.with_draw(u).bilateral.consider_prob, 0.0);
            assert!(base.with_draw(u).bilateral.consider_prob > 0.0);
        }
    }

    /// The Shapley values of a scenario against itself are zero, and the shares of a real lever
    /// add up to the total less the rest.
    #[test]
    fn shapley_shares_add_up_to_the_total() {
        let mut base = Scenario::builtin_default().expect("scenario");
        base.run.end_year = 2012;
        let same =
            explain(&base, &base, Method::OneAtATime, 2, 3, 2, &mut |_, _| {}).expect("explains");
        assert_eq!(same.total.mean, 0.0);
        assert!(same.channels.iter().all(|c| c.share.mean == 0.0));
        let mut variant = base.clone();
        variant.forum_dynamics.eta = 0.9;
        variant.policy.w_reputation = 2.0;
        let e =
            explain(&base, &variant, Method::Shapley, 2, 3, 2, &mut |_, _| {}).expect("explains");
        let sum: f64 = e.channels.iter().map(|c| c.share.mean).sum();
        assert!(
            (sum + e.rest.mean - e.total.mean).abs() < 1e-12,
            "{sum} + {} vs {}",
            e.rest.mean,
            e.total.mean
        );
        // A change of the learning rate and the norm weight acts through those two channels and
        // nothing acts with every channel off.
        assert!(e.rest.mean.abs() < 1e-12, "rest {}", e.rest.mean);
        let part = |name: &str| {
            e.channels
                .iter()
                .find(|c| c.name == name)
                .expect(name)
                .share
                .mean
        };
        assert!(part("practice exchange") != 0.0 && part("joint statement and follow-up") != 0.0);
    }
}
