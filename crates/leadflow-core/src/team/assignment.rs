//! Choosing who gets a lead: the first rule of an assignment file that matches the lead, and
//! that rule's strategy over its pool of candidates.
//!
//! # The pool
//!
//! A rule's candidates, in a stable order: the users of `users` as listed, then the members of
//! each team of `teams` in turn, by name. A team stands for its active reps (a manager is a
//! candidate only when named in `users`; someone who left is no longer a member). A user listed
//! twice, or named and in a team, is a candidate once, at their first place.
//!
//! A candidate is passed over, with the reason kept as data ([`SkipReason`]), when no stored user
//! has that name, or when they are inactive, away (`now` before their `away_until`) or full (as
//! many open leads as their capacity). Names cannot be checked when the file is read, as users
//! live in the store; [`AssignmentRules::unknown_names`] lists the ones no user has, for the
//! engine to warn about when it loads a file.
//!
//! # Strategies
//!
//! - `round_robin`: the next candidate after the one the rule last gave a lead to, in pool
//!   order and wrapping around, passing over the ones who cannot take it.
//! - `least_busy`: the candidate with the fewest open leads; on a tie, the first in pool order.
//! - `weighted`: the candidate with the largest share of their capacity still free,
//!   `(capacity - open) / capacity`, compared exactly; a candidate without a capacity always has
//!   all of it free. On a tie, the first in round-robin order, so that a team whose shares stay
//!   equal (no capacities, or leads closed as fast as they come) is served in turn rather than
//!   the first candidate getting every lead.
//! - `fixed`: the rule's one user.
//!
//! # The cursor
//!
//! Each rule has a [`Cursor`]: the user its strategy last gave a lead to, and their place in
//! the pool then. [`AssignContext::cursors`] gives the stored ones; the engine stores
//! [`Assignment::new_cursor`] for [`Assignment::rule`] in the same transaction as the lead's new
//! owner: with the store serializing those transactions, two servers assigning at once never
//! give the same turn twice. Every strategy moves it, so that a rule switched to `round_robin`
//! goes on from the last owner it gave.
//!
//! Round robin starts after the cursor's user, found by name, so it is robust to the pool
//! changing: a candidate added or removed elsewhere in the pool changes nothing of the order for
//! the others, and an added one gets their turn when the rotation reaches their place. When the
//! cursor's user has left the pool, the rotation goes on at the place they held, which is now
//! the candidate that came after them (or the first, when that place is past the end). A rule
//! without a cursor starts with the first candidate. So N leads over K candidates who can all
//! take them go to each candidate in pool order, every one getting N/K rounded down or up.
//!
//! # When nobody in the pool can take the lead
//!
//! The first matching rule decides: the lead does not fall through to later rules, which would
//! silently send, say, EMEA leads to the US team. It goes to the rule's `fallback_owner` when
//! there is one and they are active, whether away or full: they are the owner of last resort,
//! whose queue someone watches, so that no lead waits without an owner. Otherwise it stays
//! unassigned, and [`Assignment::Unassigned`] says why, candidate by candidate.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

use crate::lead::Profile;
use crate::pipeline::RoutingCondition;
use crate::time::Timestamp;

use super::user::{TeamName, User, UserName, UserRole};

/// A validated assignment file: built only by [`AssignmentRules::parse`].
#[derive(Clone, Debug, PartialEq)]
pub struct AssignmentRules {
    pub(super) name: String,
    pub(super) description: Option<String>,
    /// Never empty; ids unique.
    pub(super) rules: Vec<Rule>,
}

impl AssignmentRules {
    /// The file's name, an identifier.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The rules in file order: the order they are tried in.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule with this id (ids are case-sensitive).
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The first rule that matches the lead: the one that decides who gets it.
    pub fn rule_for(&self, lead: &LeadToAssign<'_>) -> Option<&Rule> {
        self.rules.iter().find(|r| r.matches(lead))
    }

    /// Who gets the lead, by the first rule that matches it (see the module doc). Pure: the
    /// engine stores the owner and [`Assignment::new_cursor`].
    pub fn pick(&self, ctx: &AssignContext<'_>) -> Assignment {
        match self.rule_for(&ctx.lead) {
            None => Assignment::NoRuleMatched,
            Some(rule) => rule.pick(ctx),
        }
    }

    /// The names the rules give that no user has: users, teams without members and fallback
    /// owners, in file order. The file was valid when read, but names live in the store.
    pub fn unknown_names(&self, users: &[User]) -> Vec<UnknownName> {
        let is_user = |name: &UserName| users.iter().any(|u| u.name() == name);
        let mut unknown = Vec::new();
        for rule in &self.rules {
            let mut add = |kind, name: String| unknown.push(UnknownName { rule: rule.id.clone(), kind, name });
            for name in rule.users.iter().filter(|n| !is_user(n)) {
                add(NameKind::User, name.to_string());
            }
            for team in rule.teams.iter().filter(|t| !users.iter().any(|u| u.team() == Some(*t))) {
                add(NameKind::Team, team.to_string());
            }
            if let Some(name) = rule.fallback_owner.as_ref().filter(|n| !is_user(n)) {
                add(NameKind::FallbackOwner, name.to_string());
            }
        }
        unknown
    }
}

/// A name an assignment file gives that no stored user answers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName {
    pub rule: String,
    pub kind: NameKind,
    pub name: String,
}

/// Where a rule gives a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// In `users`.
    User,
    /// In `teams`: no user is on that team.
    Team,
    FallbackOwner,
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (rule, name) = (&self.rule, &self.name);
        match self.kind {
            NameKind::User => write!(f, "rule `{rule}`: no user `{name}`"),
            NameKind::Team => write!(f, "rule `{rule}`: no user is on team `{name}`"),
            NameKind::FallbackOwner => write!(f, "rule `{rule}`: no user `{name}` (its fallback owner)"),
        }
    }
}

/// One rule of an assignment file.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub(super) id: String,
    pub(super) on: AssignOn,
    pub(super) when: Vec<RoutingCondition>,
    pub(super) pipeline: Option<String>,
    pub(super) score_at_least: Option<f64>,
    pub(super) strategy: Strategy,
    pub(super) users: Vec<UserName>,
    pub(super) teams: Vec<TeamName>,
    pub(super) fallback_owner: Option<UserName>,
}

impl Rule {
    /// Unique in its file: what cursors are stored under.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn on(&self) -> AssignOn {
        self.on
    }

    /// The profile conditions a lead must all meet; empty when the rule has none.
    pub fn conditions(&self) -> &[RoutingCondition] {
        &self.when
    }

    /// The pipeline a lead must be in.
    pub fn pipeline(&self) -> Option<&str> {
        self.pipeline.as_deref()
    }

    /// The score a lead must have reached.
    pub fn score_at_least(&self) -> Option<f64> {
        self.score_at_least
    }

    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The users named as candidates, in file order.
    pub fn users(&self) -> &[UserName] {
        &self.users
    }

    /// The teams whose reps are candidates, in file order.
    pub fn teams(&self) -> &[TeamName] {
        &self.teams
    }

    pub fn fallback_owner(&self) -> Option<&UserName> {
        self.fallback_owner.as_ref()
    }

    /// Whether the rule applies to this lead: on this trigger, in its pipeline, at its score,
    /// meeting every condition.
    pub fn matches(&self, lead: &LeadToAssign<'_>) -> bool {
        self.on.covers(lead.trigger)
            && self.pipeline.as_ref().is_none_or(|p| lead.pipeline == Some(p.as_str()))
            && self.score_at_least.is_none_or(|min| lead.score.is_some_and(|s| s >= min))
            && self.when.iter().all(|c| c.matches(lead.profile))
    }

    /// The candidates in pool order (see the module doc), each once: what the engine counts
    /// open leads of. A name no user has is a candidate too, to be reported as skipped.
    pub fn candidates<'a>(&'a self, users: &'a [User]) -> Vec<&'a UserName> {
        let mut pool: Vec<&UserName> = Vec::new();
        for name in &self.users {
            if !pool.contains(&name) {
                pool.push(name);
            }
        }
        for team in &self.teams {
            let mut members: Vec<&UserName> = users
                .iter()
                .filter(|u| u.team() == Some(team) && u.role() == UserRole::Rep && u.is_active())
                .map(User::name)
                .collect();
            members.sort();
            for name in members {
                if !pool.contains(&name) {
                    pool.push(name);
                }
            }
        }
        pool
    }

    fn pick(&self, ctx: &AssignContext<'_>) -> Assignment {
        let by_name: HashMap<&UserName, &User> = ctx.users.iter().map(|u| (u.name(), u)).collect();
        let pool: Vec<Candidate<'_>> = self
            .candidates(ctx.users)
            .into_iter()
            .map(|name| {
                let open = ctx.open_leads.get(name).copied().unwrap_or(0);
                let user = by_name.get(name).copied();
                Candidate { name, user, open, skip: skip_reason(user, open, ctx.now) }
            })
            .collect();
        let size = pool.len();
        // The candidates' indices in the order the strategy considers them.
        let order: Vec<usize> = match self.strategy {
            Strategy::RoundRobin | Strategy::Weighted => {
                let start = rotation_start(&pool, ctx.cursors.get(&self.id));
                (0..size).map(|i| (start + i) % size).collect()
            }
            Strategy::LeastBusy | Strategy::Fixed => (0..size).collect(),
        };
        let mut eligible = order.iter().copied().filter(|&i| pool[i].skip.is_none());
        let chosen = match self.strategy {
            Strategy::RoundRobin | Strategy::Fixed => eligible.next(),
            // `min_by_key` keeps the first of equals.
            Strategy::LeastBusy => eligible.min_by_key(|&i| pool[i].open),
            // Only a strictly larger share displaces the best so far, so the first of equals stays.
            Strategy::Weighted => eligible.reduce(|best, i| {
                if free_share(&pool[i]).cmp_exact(free_share(&pool[best])) == Ordering::Greater { i } else { best }
            }),
        };
        // Round robin and fixed pass over the candidates before their choice; the others weigh all.
        let considered = match (self.strategy, chosen) {
            (Strategy::RoundRobin | Strategy::Fixed, Some(c)) => order.iter().take_while(|&&i| i != c).count(),
            _ => size,
        };
        let skipped: Vec<Skipped> = order[..considered]
            .iter()
            .filter_map(|&i| pool[i].skip.map(|reason| Skipped { user: pool[i].name.clone(), reason }))
            .collect();
        let Some(i) = chosen else { return self.fall_back(&by_name, size, skipped) };
        let c = &pool[i];
        Assignment::Assigned(Assigned {
            rule: self.id.clone(),
            owner: c.name.clone(),
            by: AssignedBy::Strategy {
                strategy: self.strategy,
                position: i + 1,
                pool_size: size,
                open_leads: c.open,
                capacity: c.user.and_then(User::capacity),
                cursor: Cursor { last: c.name.clone(), index: u32::try_from(i).unwrap_or(u32::MAX) },
            },
            skipped,
        })
    }

    /// Nobody of the pool could take the lead: the fallback owner does, when active.
    fn fall_back(&self, by_name: &HashMap<&UserName, &User>, pool_size: usize, skipped: Vec<Skipped>) -> Assignment {
        let fallback = match &self.fallback_owner {
            None => None,
            Some(owner) => {
                let reason = match by_name.get(owner) {
                    None => SkipReason::NoSuchUser,
                    Some(user) if !user.is_active() => SkipReason::Inactive,
                    Some(_) => {
                        let by = AssignedBy::Fallback { pool_size };
                        return Assignment::Assigned(Assigned {
                            rule: self.id.clone(),
                            owner: owner.clone(),
                            by,
                            skipped,
                        });
                    }
                };
                Some(Skipped { user: owner.clone(), reason })
            }
        };
        Assignment::Unassigned(Unassigned { rule: self.id.clone(), pool_size, skipped, fallback })
    }
}

/// A candidate as a pick sees them.
struct Candidate<'a> {
    name: &'a UserName,
    /// `None`: no stored user has the name.
    user: Option<&'a User>,
    open: u32,
    /// `None`: they can take the lead.
    skip: Option<SkipReason>,
}

fn skip_reason(user: Option<&User>, open: u32, now: Timestamp) -> Option<SkipReason> {
    let Some(user) = user else { return Some(SkipReason::NoSuchUser) };
    if !user.is_active() {
        return Some(SkipReason::Inactive);
    }
    if let Some(until) = user.away_until()
        && user.is_away(now)
    {
        return Some(SkipReason::Away { until });
    }
    if let Some(capacity) = user.capacity()
        && !user.has_room(open)
    {
        return Some(SkipReason::AtCapacity { open, capacity });
    }
    None
}

/// Where the rotation starts: after the cursor's user, or at their old place when they left
/// the pool (see the module doc).
fn rotation_start(pool: &[Candidate<'_>], cursor: Option<&Cursor>) -> usize {
    let Some(cursor) = cursor.filter(|_| !pool.is_empty()) else { return 0 };
    match pool.iter().position(|c| *c.name == cursor.last) {
        Some(last) => (last + 1) % pool.len(),
        None => cursor.index as usize % pool.len(),
    }
}

/// The free part of a candidate's capacity, as a fraction kept exact.
#[derive(Clone, Copy)]
struct Share {
    free: u64,
    of: u64,
}

impl Share {
    fn cmp_exact(self, other: Share) -> Ordering {
        // free/of against other.free/other.of, without rounding: both denominators are positive.
        (self.free * other.of).cmp(&(other.free * self.of))
    }
}

fn free_share(c: &Candidate<'_>) -> Share {
    match c.user.and_then(User::capacity) {
        None => Share { free: 1, of: 1 },
        Some(capacity) => Share { free: u64::from(capacity.saturating_sub(c.open)), of: u64::from(capacity) },
    }
}

/// When a rule applies (`on`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssignOn {
    /// `created`: a new lead.
    Created,
    /// `mql`: a lead that became marketing-qualified.
    Mql,
    /// `any`: both.
    Any,
}

impl AssignOn {
    pub const ALL: [AssignOn; 3] = [AssignOn::Created, AssignOn::Mql, AssignOn::Any];

    pub fn as_str(self) -> &'static str {
        match self {
            AssignOn::Created => "created",
            AssignOn::Mql => "mql",
            AssignOn::Any => "any",
        }
    }

    pub fn parse(s: &str) -> Option<AssignOn> {
        AssignOn::ALL.into_iter().find(|o| o.as_str() == s.trim())
    }

    pub fn covers(self, trigger: AssignTrigger) -> bool {
        matches!(
            (self, trigger),
            (AssignOn::Any, _)
                | (AssignOn::Created, AssignTrigger::Created)
                | (AssignOn::Mql, AssignTrigger::BecameMql)
        )
    }

    /// Whether every trigger `other` covers, this covers too.
    pub(super) fn includes(self, other: AssignOn) -> bool {
        self == AssignOn::Any || self == other
    }
}

/// What happened to the lead that asks for an owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssignTrigger {
    /// It was created.
    Created,
    /// It became marketing-qualified.
    BecameMql,
}

/// How a rule chooses among its candidates (`strategy`; see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    #[default]
    RoundRobin,
    LeastBusy,
    Weighted,
    Fixed,
}

impl Strategy {
    pub const ALL: [Strategy; 4] = [Strategy::RoundRobin, Strategy::LeastBusy, Strategy::Weighted, Strategy::Fixed];

    /// As the file writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round_robin",
            Strategy::LeastBusy => "least_busy",
            Strategy::Weighted => "weighted",
            Strategy::Fixed => "fixed",
        }
    }

    pub fn parse(s: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|st| st.as_str() == s.trim())
    }

    /// As a reason says it.
    fn words(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round robin",
            Strategy::LeastBusy => "least busy",
            Strategy::Weighted => "weighted",
            Strategy::Fixed => "fixed",
        }
    }
}

/// The lead that needs an owner, as rules see it.
#[derive(Clone, Copy, Debug)]
pub struct LeadToAssign<'a> {
    pub profile: &'a Profile,
    pub trigger: AssignTrigger,
    /// The pipeline it is in, if any.
    pub pipeline: Option<&'a str>,
    /// Its score's total, if it has one.
    pub score: Option<f64>,
}

/// Everything a pick depends on: the lead, the users, and the store's counts and cursors.
#[derive(Clone, Copy, Debug)]
pub struct AssignContext<'a> {
    pub lead: LeadToAssign<'a>,
    pub users: &'a [User],
    /// Each user's open leads; a user not in the map has none.
    pub open_leads: &'a HashMap<UserName, u32>,
    /// Each rule's stored cursor, by rule id; a rule not in the map has not given a lead yet.
    pub cursors: &'a HashMap<String, Cursor>,
    pub now: Timestamp,
}

/// Where a rule's rotation stands: the user it last gave a lead to, and their place in its pool
/// then (0-based), which is where the rotation goes on once that user has left the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub last: UserName,
    pub index: u32,
}

/// Who gets a lead, and why. `Display` gives the reason in words, for a lead's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assignment {
    /// No rule applies to the lead on this trigger.
    NoRuleMatched,
    Assigned(Assigned),
    /// A rule matched, and neither its pool nor its fallback owner could take the lead.
    Unassigned(Unassigned),
}

impl Assignment {
    /// The id of the rule that matched.
    pub fn rule(&self) -> Option<&str> {
        match self {
            Assignment::NoRuleMatched => None,
            Assignment::Assigned(a) => Some(&a.rule),
            Assignment::Unassigned(u) => Some(&u.rule),
        }
    }

    /// Who gets the lead.
    pub fn owner(&self) -> Option<&UserName> {
        match self {
            Assignment::Assigned(a) => Some(&a.owner),
            _ => None,
        }
    }

    /// The cursor to store for [`Self::rule`], when the rule's strategy gave the lead; `None`
    /// when the stored one stays as it is.
    pub fn new_cursor(&self) -> Option<&Cursor> {
        match self {
            Assignment::Assigned(Assigned { by: AssignedBy::Strategy { cursor, .. }, .. }) => Some(cursor),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assigned {
    pub rule: String,
    pub owner: UserName,
    pub by: AssignedBy,
    /// The candidates passed over, in the order the strategy looked at them: for round robin the
    /// ones before its choice, for the others every one who could not take the lead.
    pub skipped: Vec<Skipped>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssignedBy {
    /// The rule's strategy chose the owner, the `position`th (from 1) of `pool_size` candidates,
    /// who had `open_leads` open leads of their `capacity`.
    Strategy {
        strategy: Strategy,
        position: usize,
        pool_size: usize,
        open_leads: u32,
        capacity: Option<u32>,
        cursor: Cursor,
    },
    /// Nobody of the `pool_size` candidates could take it: the rule's fallback owner does.
    Fallback { pool_size: usize },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unassigned {
    pub rule: String,
    pub pool_size: usize,
    /// Every candidate, each with why they could not take the lead.
    pub skipped: Vec<Skipped>,
    /// The fallback owner, when the rule has one, and why they could not take it either.
    pub fallback: Option<Skipped>,
}

/// A candidate who did not get the lead, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub user: UserName,
    pub reason: SkipReason,
}

/// Why a candidate could not take a lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// No stored user has the name the rule gives.
    NoSuchUser,
    Inactive,
    Away {
        until: Timestamp,
    },
    /// As many open leads as their capacity, or more (a capacity lowered since).
    AtCapacity {
        open: u32,
        capacity: u32,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NoSuchUser => f.write_str("no such user"),
            SkipReason::Inactive => f.write_str("inactive"),
            SkipReason::Away { until } => write!(f, "away until {until}"),
            SkipReason::AtCapacity { open, capacity } => write!(f, "at capacity {open}/{capacity}"),
        }
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.user, self.reason)
    }
}

fn skipped_list(skipped: &[Skipped]) -> String {
    skipped.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl fmt::Display for Assignment {
    /// `round robin in rule `emea` (3 of 4), skipped bob: away until 2026-12-08T00:00:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Assignment::NoRuleMatched => f.write_str("no assignment rule matched the lead"),
            Assignment::Assigned(a) => {
                let rule = &a.rule;
                match &a.by {
                    AssignedBy::Strategy { strategy, position, pool_size, open_leads, capacity, .. } => {
                        write!(f, "{} in rule `{rule}` ({position} of {pool_size}", strategy.words())?;
                        match (strategy, capacity) {
                            (Strategy::LeastBusy, _) | (Strategy::Weighted, None) => write!(f, ", {open_leads} open")?,
                            (Strategy::Weighted, Some(capacity)) => write!(f, ", {open_leads}/{capacity} open")?,
                            _ => {}
                        }
                        f.write_str(")")?;
                        if !a.skipped.is_empty() {
                            write!(f, ", skipped {}", skipped_list(&a.skipped))?;
                        }
                        Ok(())
                    }
                    AssignedBy::Fallback { pool_size: 0 } => {
                        write!(f, "fallback owner of rule `{rule}`: its pool is empty")
                    }
                    AssignedBy::Fallback { pool_size } => write!(
                        f,
                        "fallback owner of rule `{rule}`: none of its {pool_size} candidates could take the lead ({})",
                        skipped_list(&a.skipped)
                    ),
                }
            }
            Assignment::Unassigned(u) => {
                let rule = &u.rule;
                if u.pool_size == 0 {
                    write!(f, "unassigned: the pool of rule `{rule}` is empty")?;
                } else {
                    write!(
                        f,
                        "unassigned: none of the {} candidates of rule `{rule}` could take the lead ({})",
                        u.pool_size,
                        skipped_list(&u.skipped)
                    )?;
                }
                match &u.fallback {
                    None => f.write_str(", and it has no fallback owner"),
                    Some(fallback) => write!(f, ", nor its fallback owner {fallback}"),
                }
            }
        }
    }
}
