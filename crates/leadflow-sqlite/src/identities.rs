//! Identities (migration 0021): every key a lead is reached through, the profile's own two
//! among them. SQLite has one writer, so a key checked free in a write transaction stays free
//! until it commits. A refused lead write leaves nothing behind (a batch goes on after a refused
//! row): a profile's new keys are checked before it is written, and a new lead whose key is taken
//! is taken out again.

use super::*;
use leadflow_store::{IdentityRecord, profile_keys};

/// The lead an identity names, if any.
pub(crate) fn lead_with(conn: &Connection, kind: &str, value: &str) -> Result<Option<LeadId>, StoreError> {
    conn.prepare_cached("SELECT lead_id FROM lead_identities WHERE kind = ?1 AND value = ?2")
        .map_err(backend)?
        .query_row([kind, value], |r| r.get(0))
        .optional()
        .map(|id| id.map(LeadId))
        .map_err(backend)
}

/// Gives a lead just inserted its profile's email and external id, the primary key refusing
/// one another lead has: then the lead is taken out again, with what it took, and the error
/// says which key. (Cheaper than asking first: the insert looks the key up anyway.)
pub(crate) fn take_new_leads_keys(
    conn: &Connection,
    lead: LeadId,
    p: &Profile,
    now: Timestamp,
) -> Result<(), StoreError> {
    for (kind, value, taken) in profile_keys(p) {
        let inserted = insert(conn, kind, value, lead, now)?;
        if !inserted {
            for sql in ["DELETE FROM lead_identities WHERE lead_id = ?1", "DELETE FROM leads WHERE id = ?1"] {
                conn.prepare_cached(sql).map_err(backend)?.execute([lead.0]).map_err(backend)?;
            }
            return Err(taken);
        }
    }
    Ok(())
}

/// The profile's keys that differ from the lead's stored ones (`stored`: its email and external
/// id), refused if another lead has one: checked before the profile is written.
pub(crate) fn changed_profile_keys<'p>(
    conn: &Connection,
    lead: LeadId,
    p: &'p Profile,
    stored: &(Option<String>, Option<String>),
) -> Result<Vec<(&'static str, &'p str)>, StoreError> {
    let mut changed = Vec::new();
    for (kind, value, taken) in profile_keys(p) {
        let before = if kind == "email" { &stored.0 } else { &stored.1 };
        if before.as_deref() == Some(value) {
            continue;
        }
        match lead_with(conn, kind, value)? {
            Some(holder) if holder != lead => return Err(taken),
            Some(_) => {}
            None => changed.push((kind, value)),
        }
    }
    Ok(changed)
}

/// Adds an identity no lead has (checked, or refused by the key): false if one had it.
pub(crate) fn insert(
    conn: &Connection,
    kind: &str,
    value: &str,
    lead: LeadId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO lead_identities (kind, value, lead_id, added_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (kind, value) DO NOTHING",
        )
        .map_err(backend)?
        .execute(params![kind, value, lead.0, now.millis()])
        .map_err(backend)?;
    Ok(n > 0)
}

impl IdentityReads for SqliteStore {
    fn identities_of(&self, lead: LeadId) -> Result<Vec<IdentityRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT kind, value, added_at FROM lead_identities WHERE lead_id = ?1 ORDER BY kind, value")
            .map_err(backend)?;
        let rows = stmt
            .query_map([lead.0], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))
            .map_err(backend)?;
        rows.map(|row| {
            let (kind, value, added_at) = row.map_err(backend)?;
            let identity = Identity::stored(&kind, &value)
                .map_err(|e| StoreError::Corrupt(format!("identity {kind}:{value} of lead {lead}: {e}")))?;
            Ok(IdentityRecord { identity, added_at: Timestamp::from_millis(added_at) })
        })
        .collect()
    }

    fn visitors_of(&self, lead: LeadId) -> Result<Vec<(VisitorId, Timestamp)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT visitor_id, identified_at FROM visitors WHERE lead_id = ?1 ORDER BY identified_at, visitor_id",
            )
            .map_err(backend)?;
        let rows = stmt.query_map([lead.0], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(backend)?;
        rows.map(|row| {
            let (visitor, at) = row.map_err(backend)?;
            let visitor = VisitorId::parse(&visitor)
                .map_err(|e| StoreError::Corrupt(format!("visitor {visitor} of lead {lead}: {e}")))?;
            Ok((visitor, Timestamp::from_millis(at)))
        })
        .collect()
    }
}

impl IdentityWrites for SqliteTx<'_> {
    fn add_identity(&mut self, lead: LeadId, identity: &Identity, now: Timestamp) -> Result<bool, StoreError> {
        match lead_with(&self.tx, identity.kind(), identity.value())? {
            Some(holder) if holder == lead => return Ok(false),
            Some(holder) => return Err(StoreError::IdentityTaken { identity: identity.to_string(), lead: holder }),
            None => {}
        }
        let exists = self
            .tx
            .prepare_cached("SELECT 1 FROM leads WHERE id = ?1")
            .map_err(backend)?
            .exists([lead.0])
            .map_err(backend)?;
        if !exists {
            return Err(StoreError::NoSuchLead(lead));
        }
        insert(&self.tx, identity.kind(), identity.value(), lead, now)
    }

    fn remove_identity(&mut self, lead: LeadId, identity: &Identity) -> Result<bool, StoreError> {
        let n = self
            .tx
            .prepare_cached(
                "DELETE FROM lead_identities WHERE kind = ?1 AND value = ?2 AND lead_id = ?3
                   AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = ?3
                                   AND ((kind = 'email' AND l.email = ?2) OR (kind = 'external' AND l.external_id = ?2)))",
            )
            .map_err(backend)?
            .execute(params![identity.kind(), identity.value(), lead.0])
            .map_err(backend)?;
        Ok(n > 0)
    }
}
