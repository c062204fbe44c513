//! Identities (migration 0013): every key a lead is reached through, the profile's own two among
//! them. Writers do not exclude each other here, so every write of an identity is an insert
//! that the primary key settles: two units of work giving one identity to two leads wait on it,
//! and the second finds it taken (`ON CONFLICT DO NOTHING`: PostgreSQL aborts a transaction at
//! its first error, and the ports' callers go on after a taken key). A write that takes some of
//! a lead's keys and then finds one taken gives back those it took.

use leadflow_core::{Identity, LeadId, Profile, Timestamp, VisitorId};
use leadflow_store::{IdentityReads, IdentityRecord, IdentityWrites, StoreError, profile_keys};

use crate::sql::Sql;
use crate::{PgStore, PgTx, backend, corrupt};

/// The lead an identity names, if any.
pub(crate) fn lead_with(conn: &mut impl Sql, kind: &str, value: &str) -> Result<Option<LeadId>, StoreError> {
    let row = conn
        .query_opt("SELECT lead_id FROM lead_identities WHERE kind = $1 AND value = $2", &[&kind, &value])
        .map_err(backend)?;
    Ok(row.map(|r| LeadId(r.get(0))))
}

/// Adds an identity to `lead` unless some lead has it (then false): the primary key settles it,
/// waiting for a writer that is adding it meanwhile.
fn insert(conn: &mut impl Sql, kind: &str, value: &str, lead: LeadId, now: Timestamp) -> Result<bool, StoreError> {
    let inserted = conn
        .query_opt(
            "INSERT INTO lead_identities (kind, value, lead_id, added_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (kind, value) DO NOTHING RETURNING lead_id",
            &[&kind, &value, &lead.0, &now.millis()],
        )
        .map_err(backend)?;
    Ok(inserted.is_some())
}

/// Gives `lead` (which this unit of work holds) its profile's email and external id but those
/// equal to `unchanged` (its stored email and external id, the lead's already), unless one is another lead's: then it
/// takes none of them, and the error says which.
pub(crate) fn take_profile_keys(
    conn: &mut impl Sql,
    lead: LeadId,
    p: &Profile,
    unchanged: &[Option<String>; 2],
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut taken_here: Vec<(&str, &str)> = Vec::new();
    for (kind, value, refusal) in profile_keys(p) {
        let own = if kind == "email" { &unchanged[0] } else { &unchanged[1] };
        if own.as_deref() == Some(value) {
            continue;
        }
        if insert(conn, kind, value, lead, now)? {
            taken_here.push((kind, value));
            continue;
        }
        // Here already: whose (a statement of its own, so that it sees a writer that got it first).
        if lead_with(conn, kind, value)? != Some(lead) {
            for (kind, value) in taken_here {
                conn.execute(
                    "DELETE FROM lead_identities WHERE kind = $1 AND value = $2 AND lead_id = $3",
                    &[&kind, &value, &lead.0],
                )
                .map_err(backend)?;
            }
            return Err(refusal);
        }
    }
    Ok(())
}

impl IdentityReads for PgStore {
    fn identities_of(&self, lead: LeadId) -> Result<Vec<IdentityRecord>, StoreError> {
        let rows = self
            .conn()
            .query(
                "SELECT kind, value, added_at FROM lead_identities WHERE lead_id = $1 ORDER BY kind, value",
                &[&lead.0],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let (kind, value): (String, String) = (r.get(0), r.get(1));
                let identity = Identity::stored(&kind, &value)
                    .map_err(|e| corrupt(format!("identity {kind}:{value} of lead {lead}: {e}")))?;
                Ok(IdentityRecord { identity, added_at: Timestamp::from_millis(r.get(2)) })
            })
            .collect()
    }

    fn visitors_of(&self, lead: LeadId) -> Result<Vec<(VisitorId, Timestamp)>, StoreError> {
        let rows = self
            .conn()
            .query(
                "SELECT visitor_id, identified_at FROM visitors WHERE lead_id = $1 ORDER BY identified_at, visitor_id",
                &[&lead.0],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let visitor: String = r.get(0);
                let id = VisitorId::parse(&visitor)
                    .map_err(|e| corrupt(format!("visitor {visitor} of lead {lead}: {e}")))?;
                Ok((id, Timestamp::from_millis(r.get(1))))
            })
            .collect()
    }
}

impl IdentityWrites for PgTx<'_> {
    fn add_identity(&mut self, lead: LeadId, identity: &Identity, now: Timestamp) -> Result<bool, StoreError> {
        let (kind, value) = (identity.kind(), identity.value());
        // Held, so that a unit of work deleting the lead waits, and then frees this key too.
        let held = self.tx.query_opt("SELECT 1 FROM leads WHERE id = $1 FOR UPDATE", &[&lead.0]).map_err(backend)?;
        if held.is_none() {
            return Err(StoreError::NoSuchLead(lead));
        }
        if insert(&mut self.tx, kind, value, lead, now)? {
            return Ok(true);
        }
        match lead_with(&mut self.tx, kind, value)? {
            Some(holder) if holder == lead => Ok(false),
            Some(holder) => Err(StoreError::IdentityTaken { identity: identity.to_string(), lead: holder }),
            None => Err(StoreError::Conflict),
        }
    }

    fn remove_identity(&mut self, lead: LeadId, identity: &Identity) -> Result<bool, StoreError> {
        let n = self
            .tx
            .execute(
                "DELETE FROM lead_identities WHERE kind = $1 AND value = $2 AND lead_id = $3
                   AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = $3
                                   AND ((kind = 'email' AND l.email = $2) OR (kind = 'external' AND l.external_id = $2)))",
                &[&identity.kind(), &identity.value(), &lead.0],
            )
            .map_err(backend)?;
        Ok(n > 0)
    }
}
