//! The incremental path: a lead's scoring state under one model, updated one event at a time.
//!
//! The state keeps exactly what the model's rules need of the events seen so far, so a new event
//! costs O(rules) and a later instant (decay, inactivity) is scored without reading any event.
//! It answers for any as-of time at or after its newest event; for an earlier instant, callers
//! recompute from the events with [`super::score`].

use std::collections::BTreeMap;

use super::{Activity, LeadFacts, ScoreCard, inactivity_applies};
use crate::model::{Cap, Model};
use crate::time::Timestamp;

#[derive(Clone, Debug, PartialEq)]
pub struct ScoreState {
    rules: Vec<RuleState>,
    /// Per inactivity rule: the latest watched event.
    last_seen: Vec<Option<Timestamp>>,
    newest: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq)]
enum RuleState {
    /// Every event counts: a decayed sum, kept relative to the newest counted event so that it
    /// neither overflows nor underflows however long the history.
    EveryTime { matched: u64, anchor: Timestamp, weight: f64 },
    /// The newest `cap` events, newest first.
    MostRecent { matched: u64, kept: Vec<Timestamp> },
    /// Per calendar period, its newest `cap` events, newest first.
    PerPeriod { matched: u64, kept: BTreeMap<i64, Vec<Timestamp>> },
}

impl ScoreState {
    pub fn new(model: &Model) -> ScoreState {
        ScoreState {
            rules: model
                .engagement
                .rules
                .iter()
                .map(|r| match r.cap {
                    Cap::EveryTime => {
                        RuleState::EveryTime { matched: 0, anchor: Timestamp::from_millis(0), weight: 0.0 }
                    }
                    Cap::MostRecent(_) => RuleState::MostRecent { matched: 0, kept: Vec::new() },
                    Cap::PerPeriod(..) => RuleState::PerPeriod { matched: 0, kept: BTreeMap::new() },
                })
                .collect(),
            last_seen: vec![None; model.engagement.inactivity.len()],
            newest: None,
        }
    }

    pub fn from_activity(model: &Model, activity: &[Activity]) -> ScoreState {
        let mut s = ScoreState::new(model);
        for a in activity {
            s.apply(model, *a);
        }
        s
    }

    /// The newest event folded in: the state scores any instant at or after it.
    pub fn newest(&self) -> Option<Timestamp> {
        self.newest
    }

    /// Folds in one event. Events may arrive in any order.
    pub fn apply(&mut self, model: &Model, a: Activity) {
        self.newest = self.newest.max(Some(a.ts));
        let mut bits = a.matched.rules;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let rule = &model.engagement.rules[i];
            match (&mut self.rules[i], rule.cap) {
                (RuleState::EveryTime { matched, anchor, weight }, _) => {
                    if *matched == 0 {
                        *anchor = a.ts;
                        *weight = 1.0;
                    } else if a.ts > *anchor {
                        *weight = *weight * rule.decay.factor(a.ts.days_since(*anchor)) + 1.0;
                        *anchor = a.ts;
                    } else {
                        *weight += rule.decay.factor(anchor.days_since(a.ts));
                    }
                    *matched += 1;
                }
                (RuleState::MostRecent { matched, kept }, Cap::MostRecent(cap)) => {
                    *matched += 1;
                    keep_newest(kept, a.ts, cap);
                }
                (RuleState::PerPeriod { matched, kept }, Cap::PerPeriod(cap, period)) => {
                    *matched += 1;
                    keep_newest(kept.entry(period.index(a.ts)).or_default(), a.ts, cap);
                }
                _ => unreachable!("a state is always built for its model's caps"),
            }
        }
        let mut bits = a.matched.inactivity;
        while bits != 0 {
            let j = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            self.last_seen[j] = self.last_seen[j].max(Some(a.ts));
        }
    }

    /// Scores at `as_of`, or `None` when `as_of` is before the newest event (the state no longer
    /// knows which events to leave out; recompute from the events).
    pub fn score(&self, model: &Model, lead: LeadFacts<'_>, as_of: Timestamp) -> Option<ScoreCard> {
        if self.newest.is_some_and(|t| t > as_of) {
            return None;
        }
        let mut raw_engagement = 0.0;
        for (rule, state) in model.engagement.rules.iter().zip(&self.rules) {
            let decayed = |ts: &Timestamp| rule.points * rule.decay.factor(as_of.days_since(*ts));
            raw_engagement += match state {
                RuleState::EveryTime { matched: 0, .. } => 0.0,
                RuleState::EveryTime { anchor, weight, .. } => {
                    rule.points * weight * rule.decay.factor(as_of.days_since(*anchor))
                }
                RuleState::MostRecent { kept, .. } => kept.iter().map(decayed).fold(0.0, |a, b| a + b),
                RuleState::PerPeriod { kept, .. } => kept.values().flatten().map(decayed).fold(0.0, |a, b| a + b),
            };
        }
        for (j, r) in model.engagement.inactivity.iter().enumerate() {
            if inactivity_applies(r.days, lead.created_at, self.last_seen[j], as_of) {
                raw_engagement += r.points;
            }
        }
        Some(ScoreCard::from_raw(model, model.raw_fit(lead.profile), raw_engagement))
    }

    /// A compact binary form for storage. Pure: the store decides where the bytes go.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + 12 * self.rules.len());
        out.push(FORMAT);
        put_uvar(&mut out, self.rules.len() as u64);
        put_uvar(&mut out, self.last_seen.len() as u64);
        put_opt_ts(&mut out, self.newest);
        for t in &self.last_seen {
            put_opt_ts(&mut out, *t);
        }
        for r in &self.rules {
            match r {
                RuleState::EveryTime { matched, anchor, weight } => {
                    out.push(0);
                    put_uvar(&mut out, *matched);
                    put_ivar(&mut out, anchor.millis());
                    out.extend_from_slice(&weight.to_le_bytes());
                }
                RuleState::MostRecent { matched, kept } => {
                    out.push(1);
                    put_uvar(&mut out, *matched);
                    put_times(&mut out, kept);
                }
                RuleState::PerPeriod { matched, kept } => {
                    out.push(2);
                    put_uvar(&mut out, *matched);
                    put_uvar(&mut out, kept.len() as u64);
                    for (period, times) in kept {
                        put_ivar(&mut out, *period);
                        put_times(&mut out, times);
                    }
                }
            }
        }
        out
    }

    /// Reads what [`encode`](Self::encode) wrote, checking that it fits `model`.
    pub fn decode(bytes: &[u8], model: &Model) -> Result<ScoreState, StateDecodeError> {
        let mut r = Reader { bytes, at: 0 };
        if r.byte()? != FORMAT {
            return Err(StateDecodeError::Format);
        }
        let n_rules = r.uvar()? as usize;
        let n_inactive = r.uvar()? as usize;
        if n_rules != model.engagement.rules.len() || n_inactive != model.engagement.inactivity.len() {
            return Err(StateDecodeError::OtherModel);
        }
        let newest = r.opt_ts()?;
        let last_seen = (0..n_inactive).map(|_| r.opt_ts()).collect::<Result<_, _>>()?;
        let mut rules = Vec::with_capacity(n_rules);
        for rule in &model.engagement.rules {
            let state = match (r.byte()?, rule.cap) {
                (0, Cap::EveryTime) => RuleState::EveryTime {
                    matched: r.uvar()?,
                    anchor: Timestamp::from_millis(r.ivar()?),
                    weight: f64::from_le_bytes(r.take(8)?.try_into().expect("8 bytes")),
                },
                (1, Cap::MostRecent(_)) => RuleState::MostRecent { matched: r.uvar()?, kept: r.times()? },
                (2, Cap::PerPeriod(..)) => {
                    let matched = r.uvar()?;
                    let n = r.uvar()?;
                    let mut kept = BTreeMap::new();
                    for _ in 0..n {
                        let period = r.ivar()?;
                        kept.insert(period, r.times()?);
                    }
                    RuleState::PerPeriod { matched, kept }
                }
                _ => return Err(StateDecodeError::OtherModel),
            };
            rules.push(state);
        }
        if r.at != bytes.len() {
            return Err(StateDecodeError::Format);
        }
        Ok(ScoreState { rules, last_seen, newest })
    }
}

/// Keeps the `cap` newest of `kept` (newest first) after adding `ts`.
fn keep_newest(kept: &mut Vec<Timestamp>, ts: Timestamp, cap: u32) {
    let cap = cap as usize;
    let pos = kept.partition_point(|t| *t >= ts);
    if pos < cap {
        kept.insert(pos, ts);
        kept.truncate(cap);
    }
}

const FORMAT: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateDecodeError {
    #[error("stored scoring state is not in a format this version reads")]
    Format,
    #[error("stored scoring state was built for another model")]
    OtherModel,
}

fn put_uvar(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn put_ivar(out: &mut Vec<u8>, x: i64) {
    put_uvar(out, ((x << 1) ^ (x >> 63)) as u64);
}

fn put_opt_ts(out: &mut Vec<u8>, t: Option<Timestamp>) {
    match t {
        None => out.push(0),
        Some(t) => {
            out.push(1);
            put_ivar(out, t.millis());
        }
    }
}

/// Newest first, so successive differences are small and non-negative.
fn put_times(out: &mut Vec<u8>, times: &[Timestamp]) {
    put_uvar(out, times.len() as u64);
    let mut prev = None;
    for t in times {
        match prev {
            None => put_ivar(out, t.millis()),
            Some(p) => put_uvar(out, (p - t.millis()) as u64),
        }
        prev = Some(t.millis());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], StateDecodeError> {
        let s = self.bytes.get(self.at..self.at + n).ok_or(StateDecodeError::Format)?;
        self.at += n;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, StateDecodeError> {
        Ok(self.take(1)?[0])
    }

    fn uvar(&mut self) -> Result<u64, StateDecodeError> {
        let mut x = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            x |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(x);
            }
        }
        Err(StateDecodeError::Format)
    }

    fn ivar(&mut self) -> Result<i64, StateDecodeError> {
        let u = self.uvar()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    fn opt_ts(&mut self) -> Result<Option<Timestamp>, StateDecodeError> {
        match self.byte()? {
            0 => Ok(None),
            1 => Ok(Some(Timestamp::from_millis(self.ivar()?))),
            _ => Err(StateDecodeError::Format),
        }
    }

    fn times(&mut self) -> Result<Vec<Timestamp>, StateDecodeError> {
        let n = self.uvar()? as usize;
        let mut out = Vec::with_capacity(n.min(1024));
        let mut prev: Option<i64> = None;
        for _ in 0..n {
            let t = match prev {
                None => self.ivar()?,
                Some(p) => p - self.uvar()? as i64,
            };
            out.push(Timestamp::from_millis(t));
            prev = Some(t);
        }
        Ok(out)
    }
}
