//! The demo's sales team: its reps and managers as users, the hand-off SLA they work under, and
//! what they do besides moving leads: answering marketing's MQLs (most within a few hours, a
//! fifth a day or more late, so that the SLA reports show breaches) and doing the tasks a lead's
//! stage gave them (the first call, the meeting summary) as they move it on.
//!
//! A rep's answers are drawn from a generator of their own per lead, so that adding them leaves
//! the leads, their events and their outcomes as they were.

use anyhow::Result;
use leadflow_core::team::{User, UserName, UserSpec};
use leadflow_core::{Actor, LeadRef, Role, Timestamp};
use leadflow_engine::{Decision, Engine, TaskChange, TaskList};
use leadflow_sqlite::SqliteStore;
use leadflow_store::{ChangeCause, ChangeOrigin};

use super::{Rng, after};

const SLA_POLICY: &str = include_str!("../../../../examples/sla-handoff.toml");

/// The reps (who own the demo's leads) and their managers: (name, team, role, zone).
const TEAM: [(&str, &str, &str, &str); 6] = [
    ("sam@yourco.example", "emea", "rep", "Europe/Berlin"),
    ("alex@yourco.example", "americas", "rep", "America/New_York"),
    ("kim@yourco.example", "emea", "rep", "Europe/London"),
    ("jo@yourco.example", "americas", "rep", "America/Chicago"),
    ("marta@yourco.example", "emea", "manager", "Europe/Berlin"),
    ("lee@yourco.example", "americas", "manager", "America/New_York"),
];

/// The reps who own the demo's leads.
pub(super) const OWNERS: [&str; 4] = [TEAM[0].0, TEAM[1].0, TEAM[2].0, TEAM[3].0];

/// The users and the SLA policy, in place before the first lead comes.
pub(super) fn set_up(engine: &mut Engine<SqliteStore>) -> Result<()> {
    for (name, team, role, zone) in TEAM {
        let spec = UserSpec { team: Some(team), role: Some(role), capacity: Some(400), ..UserSpec::new(name, zone) };
        engine.put_user(&User::build(spec)?)?;
    }
    engine.save_sla_policy(SLA_POLICY, true)?;
    Ok(())
}

/// When the owner answers an MQL routing entered at `routed_at`: mostly within a few hours,
/// one in five a day or more later.
pub(super) fn answer_at(lead_index: usize, routed_at: Timestamp) -> Timestamp {
    let mut rng = Rng(0x5a1e_u64 ^ (lead_index as u64).wrapping_mul(0x9e37_79b9));
    let days = if rng.chance(0.8) { rng.days(0.01, 0.15) } else { rng.days(0.8, 4.0) };
    after(routed_at, days)
}

/// The owner accepts the lead at the clock's time.
pub(super) fn accept(engine: &mut Engine<SqliteStore>, lead: &LeadRef, owner: &str) -> Result<()> {
    let rep = Actor { role: Role::Sales, name: owner };
    engine.decide_lead(&rep, &ChangeOrigin::new(ChangeCause::Api, owner), lead, &Decision::Accept)?;
    Ok(())
}

/// The owner does the lead's pending tasks (a call, an email: touches, for the SLA) at the
/// clock's time, before they move it on.
pub(super) fn do_tasks(engine: &mut Engine<SqliteStore>, lead: &LeadRef, owner: &str) -> Result<()> {
    let rep = Actor { role: Role::Sales, name: owner };
    let list = TaskList { lead: Some(lead.clone()), limit: 20, ..Default::default() };
    for task in engine.tasks(&list)? {
        let note = format!("done by {}", task.owner.as_ref().map_or(owner, UserName::as_str));
        engine.change_task(&rep, task.id, &TaskChange::Done { note: Some(note) })?;
    }
    Ok(())
}
