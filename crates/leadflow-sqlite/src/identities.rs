//! Identities (migration 0021): every key a lead is reached through, the profile's own two
//! among them. SQLite has one writer, so a key checked free in a write transaction stays free
//! until it commits: the lead writes check before they write anything, so that a refused row of
//! a batch leaves nothing behind.

use super::*;
use leadflow_store::IdentityRecord;

/// The lead an identity names, if any.
pub(crate) fn lead_with(conn: &Connection, kind: &str, value: &str) -> Result<Option<LeadId>, StoreError> {
    conn.prepare_cached("SELECT lead_id FROM lead_identities WHERE kind = ?1 AND value = ?2")
        .map_err(backend)?
        .query_row([kind, value], |r| r.get(0))
        .optional()
        .map(|id| id.map(LeadId))
        .map_err(backend)
}

/// The profile's email and external id as identities, with the error a write gets when
/// another lead has one.
fn profile_keys(p: &Profile) -> impl Iterator<Item = (&'static str, &str, StoreError)> {
    let email = p.email.as_ref().map(|e| ("email", e.as_str(), StoreError::DuplicateEmail(e.to_string())));
    let external =
        p.external_id.as_ref().map(|x| ("external", x.as_str(), StoreError::DuplicateExternalId(x.to_string())));
    email.into_iter().chain(external)
}

/// Refuses a profile whose email or external id names another lead than `lead` (any lead, for
/// a lead not inserted yet).
pub(crate) fn check_profile_keys(conn: &Connection, p: &Profile, lead: Option<LeadId>) -> Result<(), StoreError> {
    for (kind, value, taken) in profile_keys(p) {
        if let Some(holder) = lead_with(conn, kind, value)?
            && Some(holder) != lead
        {
            return Err(taken);
        }
    }
    Ok(())
}

/// Gives the lead its profile's email and external id as identities (checked free before).
pub(crate) fn keep_profile_keys(
    conn: &Connection,
    lead: LeadId,
    p: &Profile,
    now: Timestamp,
) -> Result<(), StoreError> {
    for (kind, value, _) in profile_keys(p) {
        conn.prepare_cached(
            "INSERT INTO lead_identities (kind, value, lead_id, added_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (kind, value) DO NOTHING",
        )
        .map_err(backend)?
        .execute(params![kind, value, lead.0, now.millis()])
        .map_err(backend)?;
    }
    Ok(())
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
            let identity = Identity::of_kind(&kind, &value)
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
        self.tx
            .prepare_cached("INSERT INTO lead_identities (kind, value, lead_id, added_at) VALUES (?1, ?2, ?3, ?4)")
            .map_err(backend)?
            .execute(params![identity.kind(), identity.value(), lead.0, now.millis()])
            .map_err(backend)?;
        Ok(true)
    }

    fn remove_identity(&mut self, lead: LeadId, identity: &Identity) -> Result<bool, StoreError> {
        let n = self
            .tx
            .prepare_cached("DELETE FROM lead_identities WHERE kind = ?1 AND value = ?2 AND lead_id = ?3")
            .map_err(backend)?
            .execute(params![identity.kind(), identity.value(), lead.0])
            .map_err(backend)?;
        Ok(n > 0)
    }
}
