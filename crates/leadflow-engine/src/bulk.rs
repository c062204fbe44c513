//! The use cases that write many rows at once: a batch of events over the API and the imports.
//! Each looks up what the batch names together and writes together, so that a backend whose
//! every statement is a round trip (PostgreSQL) sends a few statements a batch, not a few a row;
//! what each row becomes is what it would have become on its own, in the batch's order.

use leadflow_core::{Activity, EventKey, EventType, LeadId, LeadRef, Pipeline, Profile, Timestamp};
use leadflow_store::prelude::*;
use leadflow_store::{
    Cause, ChangeOrigin, Inserted, LeadRecord, NewEvent, NewLead, PipelineClock, Store, StoreError, Transaction,
};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::stage_moves::{Happened, follow_up_in};
use crate::{
    Active, BatchItem, BatchOutcome, BatchReport, Engine, EngineError, EventInput, LeadInput, Upserted, is_row_error,
    named_lead, not_ahead, rescored, upsert_in,
};

/// How many times a unit of work that lost a deadlock is tried in all.
const CONFLICT_ATTEMPTS: usize = 3;

impl<S: Store> Engine<S> {
    /// Records a batch of events in one transaction and updates each lead's score once,
    /// incrementally, with all its new events: scores reflect every accepted event when it returns.
    /// Rows that cannot be taken (an unknown lead id) are rejected without failing the batch.
    /// A batch a concurrent one deadlocked with (two servers creating the same new leads) is run
    /// again, three times in all: nothing of a failed attempt was kept.
    pub fn track_batch(&mut self, rows: Vec<EventInput>) -> Result<BatchOutcome, EngineError> {
        for _ in 1..CONFLICT_ATTEMPTS {
            match self.track_batch_once(&rows) {
                Err(EngineError::Store(StoreError::Conflict)) => continue,
                done => return done,
            }
        }
        self.track_batch_once(&rows)
    }

    fn track_batch_once(&mut self, rows: &[EventInput]) -> Result<BatchOutcome, EngineError> {
        let Active { version, model, properties: kept } = self.active()?.clone();
        let tracking = self.tracking()?;
        let now = self.now();
        let mut tx = self.store.begin()?;
        tx.keep_properties(&kept)?;
        let leads = BatchLeads::look_up(&mut tx, rows, now)?;
        // What each row became, in order; `None` for the events still to insert.
        let mut results: Vec<Option<BatchItem>> = Vec::with_capacity(rows.len());
        let mut events = Vec::with_capacity(rows.len());
        // The lead each key went to in this batch: a later row with it is a duplicate, or taken.
        let mut keys: FxHashMap<EventKey, LeadId> = FxHashMap::default();
        for row in rows {
            let key = row.key();
            if let Err(e) = not_ahead(row, now) {
                results.push(Some(BatchItem::Rejected { key, reason: e }));
                continue;
            }
            let lead = match leads.resolve(&row.lead) {
                Ok(lead) => lead,
                Err(reason) => {
                    results.push(Some(BatchItem::Rejected { key, reason }));
                    continue;
                }
            };
            match keys.get(&key) {
                Some(&first) if first == lead => results.push(Some(BatchItem::Duplicate { key, lead })),
                Some(_) => results
                    .push(Some(BatchItem::Rejected { key: key.clone(), reason: EngineError::KeyOfAnotherLead(key) })),
                None => {
                    keys.insert(key.clone(), lead);
                    results.push(None);
                    events.push(NewEvent { key, lead, ts: row.ts, shape: row.shape.clone() });
                }
            }
        }
        let inserted = tx.insert_events(&events, now)?;
        // Each changed lead's new events, and the key of its last: the cause of its new score.
        let mut changed: Vec<LeadId> = Vec::new();
        let mut new_events: FxHashMap<LeadId, (Vec<Activity>, EventKey)> = FxHashMap::default();
        // What each changed lead did, for its pipeline's triggers: only when some stage has any.
        let mut did: FxHashMap<LeadId, Vec<EventType>> = FxHashMap::default();
        let mut outcomes = events.into_iter().zip(inserted);
        for result in &mut results {
            if result.is_some() {
                continue;
            }
            let (event, inserted) = outcomes.next().expect("an outcome per event to insert");
            let (key, lead) = (event.key, event.lead);
            *result = Some(match inserted {
                Inserted::Duplicate => BatchItem::Duplicate { key, lead },
                Inserted::OtherLead(_) => {
                    BatchItem::Rejected { key: key.clone(), reason: EngineError::KeyOfAnotherLead(key) }
                }
                Inserted::New => {
                    let activity = Activity { ts: event.ts, matched: model.match_event(&event.shape) };
                    let entry = new_events.entry(lead).or_insert_with(|| {
                        changed.push(lead);
                        (Vec::new(), key.clone())
                    });
                    entry.0.push(activity);
                    entry.1 = key.clone();
                    if tracking.pipelines.has_triggers() {
                        did.entry(lead).or_default().push(event.shape.event_type.clone());
                    }
                    BatchItem::Accepted { key, lead, created_lead: leads.created.contains(&lead) }
                }
            });
        }
        let held = tx.hold_for_scoring(&changed, version)?;
        let mut writes = Vec::with_capacity(changed.len());
        let mut scores = FxHashMap::default();
        for (id, held) in changed.into_iter().zip(held) {
            let (activity, last_key) = new_events.remove(&id).expect("a changed lead has new events");
            let (lead, state) = held.ok_or(StoreError::NoSuchLead(id))?;
            let created = leads.created.contains(&id);
            let (write, scored) =
                rescored(&mut tx, &model, version, &lead, state, &activity, now, Cause::Event(last_key), created)?;
            writes.push(write);
            scores.insert(id, scored);
        }
        tx.write_score_batch(&writes)?;
        for (lead, scored) in &scores {
            let events: Vec<&EventType> = did.get(lead).map(|types| types.iter().collect()).unwrap_or_default();
            let created = leads.created.contains(lead);
            let happened = Happened { created, events: &events, ..Happened::scored(scored) };
            follow_up_in(&mut tx, &tracking, *lead, &happened, now)?;
        }
        tx.commit()?;
        Ok(BatchOutcome { items: results.into_iter().map(|r| r.expect("every row has its outcome")).collect(), scores })
    }

    /// Upserts a batch of leads in one transaction. Their scores are marked stale, for a
    /// [`rescore`](Self::rescore) of what needs it after the import: one pass instead of one per row.
    ///
    /// Rows that name no lead that exists or that an earlier row named (an id and keys no one
    /// holds) go in together ([`LeadWrites::insert_leads`]); a row that may touch a lead goes in
    /// on its own, after every row before it, so that it sees what they did.
    ///
    /// What the rows change in leads that exist goes in the change log as `origin`'s.
    pub fn import_leads(&mut self, rows: &[LeadInput], origin: &ChangeOrigin) -> Result<BatchReport, EngineError> {
        self.import_leads_into(rows, origin, None)
    }

    /// [`import_leads`](Self::import_leads), putting the leads it creates in `pipeline`'s entry
    /// stage as of their creation: a CRM's leads arrive in its pipeline, with their history to
    /// follow (`import changes`).
    pub(crate) fn import_leads_into(
        &mut self,
        rows: &[LeadInput],
        origin: &ChangeOrigin,
        pipeline: Option<&Pipeline>,
    ) -> Result<BatchReport, EngineError> {
        let now = self.now();
        let mut report = BatchReport::default();
        let mut tx = self.store.begin()?;
        let keys: Vec<LeadRef> = rows.iter().flat_map(names_of).collect();
        let mut named: FxHashSet<LeadRef> =
            keys.iter().zip(tx.resolve_leads(&keys)?).filter(|(_, id)| id.is_some()).map(|(k, _)| k.clone()).collect();
        let mut fresh: Vec<usize> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let names = names_of(row);
            // A row bringing identities goes in on its own, which checks them first.
            let is_fresh = row.identities.is_empty()
                && names.iter().any(|n| !matches!(n, LeadRef::Id(_)))
                && names.iter().all(|n| !named.contains(n));
            named.extend(names);
            // A group is of chosen ids or of generated ones: a generated id could take a chosen
            // one that a later row of the group gives.
            let same_kind = fresh.first().is_none_or(|&f| rows[f].id.is_some() == row.id.is_some());
            if !is_fresh || !same_kind {
                insert_fresh(&mut tx, rows, &mut fresh, now, origin, pipeline, &mut report)?;
            }
            if is_fresh {
                fresh.push(i);
            } else {
                import_one(&mut tx, i, &rows[i], now, origin, pipeline, &mut report)?;
            }
        }
        insert_fresh(&mut tx, rows, &mut fresh, now, origin, pipeline, &mut report)?;
        tx.commit()?;
        Ok(report)
    }

    /// Stores a batch of events in one bulk transaction, creating leads for unknown emails. The
    /// events are durable and visible to reads when it returns; their leads await a rescore.
    pub fn import_events(&mut self, rows: Vec<EventInput>) -> Result<BatchReport, EngineError> {
        let now = self.now();
        let kept = self.active_properties()?;
        let mut report = BatchReport::default();
        let mut tx = self.store.begin_bulk()?;
        tx.keep_properties(&kept)?;
        let named = distinct(rows.iter().filter(|r| not_ahead(r, now).is_ok()).map(|r| (&r.lead, r.ts)));
        let refs: Vec<LeadRef> = named.iter().map(|(r, _)| r.clone()).collect();
        let mut leads: FxHashMap<LeadRef, LeadId> = FxHashMap::default();
        let mut unknown = Vec::new();
        for ((r, first_seen), id) in named.into_iter().zip(tx.resolve_leads(&refs)?) {
            match id {
                Some(id) => drop(leads.insert(r, id)),
                None => unknown.push((r, first_seen)),
            }
        }
        for (r, id, created) in create_unknown(&mut tx, unknown, now)? {
            report.created_leads += usize::from(created);
            leads.insert(r, id);
        }
        let mut keys: FxHashSet<EventKey> = FxHashSet::default();
        keys.reserve(rows.len());
        let mut events = Vec::with_capacity(rows.len());
        for (i, row) in rows.into_iter().enumerate() {
            if let Err(e) = not_ahead(&row, now) {
                report.rejected.push((i, e.to_string()));
                continue;
            }
            let lead = match (leads.get(&row.lead), &row.lead) {
                (Some(id), _) => *id,
                (None, LeadRef::Id(id)) => {
                    report.rejected.push((i, EngineError::UnknownLeadId(*id).to_string()));
                    continue;
                }
                (None, other @ (LeadRef::System(..) | LeadRef::Phone(_))) => {
                    report.rejected.push((i, EngineError::UnknownIdentity(other.clone()).to_string()));
                    continue;
                }
                (None, other) => return Err(EngineError::NoSuchLead(other.clone())),
            };
            let key = row.key();
            // The first of two rows with one key wins, as it would across batches.
            if !keys.insert(key.clone()) {
                report.duplicates += 1;
                continue;
            }
            events.push((i, NewEvent { key, lead, ts: row.ts, shape: row.shape }));
        }
        drop(keys);
        // Lead by lead, the per-lead index is written in order rather than all over.
        events.sort_unstable_by_key(|(_, e)| (e.lead, e.ts));
        let (places, events): (Vec<usize>, Vec<NewEvent>) = events.into_iter().unzip();
        let inserted = tx.insert_events(&events, now)?;
        for ((i, event), inserted) in places.iter().zip(&events).zip(inserted) {
            match inserted {
                Inserted::New => report.accepted += 1,
                Inserted::Duplicate => report.duplicates += 1,
                Inserted::OtherLead(_) => {
                    report.rejected.push((*i, EngineError::KeyOfAnotherLead(event.key.clone()).to_string()))
                }
            }
        }
        tx.commit()?;
        Ok(report)
    }
}

/// The leads a batch of events names, looked up together, and those it names by an unknown email
/// or external id created together, each first seen at the time of the first event naming it.
struct BatchLeads {
    by_ref: FxHashMap<LeadRef, LeadId>,
    records: FxHashMap<LeadId, LeadRecord>,
    created: FxHashSet<LeadId>,
}

impl BatchLeads {
    fn look_up<T: Transaction>(tx: &mut T, rows: &[EventInput], now: Timestamp) -> Result<BatchLeads, EngineError> {
        // Rows refused for their time create no lead.
        let named = distinct(rows.iter().filter(|r| not_ahead(r, now).is_ok()).map(|r| (&r.lead, r.ts)));
        let refs: Vec<LeadRef> = named.iter().map(|(r, _)| r.clone()).collect();
        let found = tx.leads_named(&refs)?;
        let mut leads =
            BatchLeads { by_ref: FxHashMap::default(), records: FxHashMap::default(), created: FxHashSet::default() };
        let mut unknown = Vec::new();
        for ((r, first_seen), lead) in named.into_iter().zip(found) {
            match lead {
                Some(lead) => {
                    leads.by_ref.insert(r, lead.id);
                    leads.records.insert(lead.id, lead);
                }
                None => unknown.push((r, first_seen)),
            }
        }
        let created = create_unknown(tx, unknown, now)?;
        let refs: Vec<LeadRef> = created.iter().map(|(r, _, _)| r.clone()).collect();
        for ((r, id, new), record) in created.into_iter().zip(tx.leads_named(&refs)?) {
            let record = record.ok_or(StoreError::NoSuchLead(id))?;
            if new {
                leads.created.insert(id);
            }
            leads.by_ref.insert(r, id);
            leads.records.insert(id, record);
        }
        Ok(leads)
    }

    /// The lead a row names: found or created by [`look_up`](Self::look_up), or an id that
    /// names no one.
    fn resolve(&self, lead: &LeadRef) -> Result<LeadId, EngineError> {
        if let Some(id) = self.by_ref.get(lead) {
            return Ok(*id);
        }
        match lead {
            // An id may name a lead the batch created.
            LeadRef::Id(id) if self.records.contains_key(id) => Ok(*id),
            LeadRef::Id(id) => Err(EngineError::UnknownLeadId(*id)),
            other @ (LeadRef::System(..) | LeadRef::Phone(_)) => Err(EngineError::UnknownIdentity(other.clone())),
            other => Err(EngineError::NoSuchLead(other.clone())),
        }
    }
}

/// Creates the leads the references name (emails and external ids; an id names no one and is
/// left out), in order, first seen at the time given (now, if that is later). A lead a
/// concurrent writer created meanwhile is found instead: its flag says `false`.
fn create_unknown<T: Transaction>(
    tx: &mut T,
    unknown: Vec<(LeadRef, Timestamp)>,
    now: Timestamp,
) -> Result<Vec<(LeadRef, LeadId, bool)>, EngineError> {
    let unknown: Vec<(LeadRef, Timestamp, Profile)> = unknown
        .into_iter()
        .filter_map(|(r, first_seen)| {
            let profile = match &r {
                LeadRef::Id(_) | LeadRef::System(..) | LeadRef::Phone(_) => return None,
                LeadRef::Email(email) => Profile::new(email.clone()),
                LeadRef::External(x) => Profile::with_external_id(x.clone()),
            };
            Some((r, first_seen.min(now), profile))
        })
        .collect();
    let new: Vec<NewLead<'_>> =
        unknown.iter().map(|(_, created_at, profile)| NewLead { id: None, profile, created_at: *created_at }).collect();
    let ids = tx.insert_leads(&new, now)?;
    let mut out = Vec::with_capacity(unknown.len());
    for ((r, _, _), id) in unknown.into_iter().zip(ids) {
        match id {
            Some(id) => out.push((r, id, true)),
            None => {
                let id = tx.resolve_lead(&r)?.ok_or_else(|| EngineError::NoSuchLead(r.clone()))?;
                out.push((r, id, false));
            }
        }
    }
    Ok(out)
}

/// Each reference once, in the order first given, with the time that came with it first.
fn distinct<'a>(refs: impl Iterator<Item = (&'a LeadRef, Timestamp)>) -> Vec<(LeadRef, Timestamp)> {
    let mut seen = FxHashSet::default();
    refs.filter(|(r, _)| seen.insert(*r)).map(|(r, ts)| (r.clone(), ts)).collect()
}

/// What a lead row names its lead by: its id, external id and email.
fn names_of(row: &LeadInput) -> Vec<LeadRef> {
    let p = &row.profile;
    let keys = p.external_id.iter().map(|x| LeadRef::External(x.clone()));
    let keys = keys.chain(p.email.iter().map(|e| LeadRef::Email(e.clone())));
    row.id.map(LeadRef::Id).into_iter().chain(keys).collect()
}

/// Inserts the rows `fresh` lists (indexes into `rows`) together, and empties it. A row a
/// concurrent writer took a key of meanwhile goes in on its own.
fn insert_fresh<T: Transaction>(
    tx: &mut T,
    rows: &[LeadInput],
    fresh: &mut Vec<usize>,
    now: Timestamp,
    origin: &ChangeOrigin,
    pipeline: Option<&Pipeline>,
    report: &mut BatchReport,
) -> Result<(), EngineError> {
    if fresh.is_empty() {
        return Ok(());
    }
    // Placed in the pipeline as they are created: their first profile has the place.
    let placed: Vec<Profile> =
        pipeline.map(|p| fresh.iter().map(|&i| placed_in(&rows[i].profile, p)).collect()).unwrap_or_default();
    let new: Vec<NewLead<'_>> = fresh
        .iter()
        .enumerate()
        .map(|(k, &i)| NewLead {
            id: rows[i].id,
            profile: placed.get(k).unwrap_or(&rows[i].profile),
            created_at: rows[i].created_at.unwrap_or(now),
        })
        .collect();
    let ids = tx.insert_leads(&new, now)?;
    for (&i, id) in fresh.iter().zip(ids) {
        let row = &rows[i];
        match id {
            Some(id) => {
                if let Some((kind, at)) = row.outcome {
                    tx.set_outcome(id, Some(leadflow_core::Outcome { kind, at: at.unwrap_or(now) }), now)?;
                }
                if pipeline.is_some() {
                    tx.set_pipeline_clock(id, &since_creation(row.created_at.unwrap_or(now)))?;
                }
                report.accepted += 1;
                report.created_leads += 1;
            }
            None => import_one(tx, i, row, now, origin, pipeline, report)?,
        }
    }
    fresh.clear();
    Ok(())
}

/// One row of a lead import on its own: matched to its lead, created or updated.
fn import_one<T: Transaction>(
    tx: &mut T,
    i: usize,
    row: &LeadInput,
    now: Timestamp,
    origin: &ChangeOrigin,
    pipeline: Option<&Pipeline>,
    report: &mut BatchReport,
) -> Result<(), EngineError> {
    let upserted = match named_lead(tx, row) {
        Ok(existing) => upsert_in(tx, row, existing, now, origin),
        Err(e) => Err(e),
    };
    match upserted {
        // A new lead's score starts out stale.
        Ok(Upserted::Created(id)) => {
            if let Some(pipeline) = pipeline {
                place_at_creation(tx, id, pipeline, now)?;
            }
            report.accepted += 1;
            report.created_leads += 1;
        }
        Ok(Upserted::Updated(lead)) => {
            tx.mark_stale(lead.id)?;
            report.accepted += 1;
            report.updated_leads += 1;
        }
        Err(EngineError::Store(e)) if !is_row_error(&e) => return Err(e.into()),
        Err(e) => report.rejected.push((i, e.to_string())),
    }
    Ok(())
}

/// Puts a lead just created in `pipeline`'s entry stage as of its creation, with no logged
/// change: it was created there (its creation profile has the place).
fn place_at_creation<T: Transaction>(
    tx: &mut T,
    id: LeadId,
    pipeline: &Pipeline,
    now: Timestamp,
) -> Result<(), EngineError> {
    let record = tx.lead(&LeadRef::Id(id))?.ok_or(EngineError::NoSuchLead(LeadRef::Id(id)))?;
    tx.update_profile(id, &placed_in(&record.profile, pipeline), now)?;
    tx.set_pipeline_clock(id, &since_creation(record.created_at))?;
    Ok(())
}

/// The profile at `pipeline`'s entry stage, with the lifecycle stage it names.
fn placed_in(profile: &Profile, pipeline: &Pipeline) -> Profile {
    let entry = pipeline.entry_stage();
    let mut placed = profile.clone();
    placed.pipeline = Some(pipeline.name().to_string());
    placed.pipeline_stage = Some(entry.id().to_string());
    if let Some(lifecycle) = entry.lifecycle() {
        placed.stage = lifecycle;
    }
    placed
}

/// In its stage and its pipeline since it was created.
fn since_creation(created_at: Timestamp) -> PipelineClock {
    PipelineClock { entered_at: Some(created_at), stage_entered_at: Some(created_at), recycles: 0 }
}
