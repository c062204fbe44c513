//! A lead's identities (`core::identity`): listed, added and removed by the people who may
//! change the lead. The profile's email and external id are identities the profile's writes
//! keep; the others are added here (or by an import's identity columns), and the website
//! visitors a lead was joined to are listed beside them.

use leadflow_core::{Actor, Identity, LeadId, LeadRef, Timestamp, VisitorId};
use leadflow_store::prelude::*;
use leadflow_store::{IdentityRecord, LeadRecord, StoreError};

use crate::{Engine, EngineError};

/// Everything a lead is reached through.
#[derive(Clone, Debug, PartialEq)]
pub struct LeadIdentities {
    pub lead: LeadId,
    /// By kind and value, each with whether it is the profile's own email or external id.
    pub identities: Vec<(IdentityRecord, bool)>,
    /// The website visitors joined to the lead, oldest first.
    pub visitors: Vec<(VisitorId, Timestamp)>,
}

impl<S: Store> Engine<S> {
    pub fn identities(&self, lead: &LeadRef) -> Result<LeadIdentities, EngineError> {
        let record = self.store.lead(lead)?.ok_or_else(|| EngineError::NoSuchLead(lead.clone()))?;
        let primary = [
            record.profile.email.clone().map(Identity::Email),
            record.profile.external_id.clone().map(Identity::External),
        ];
        let identities = self
            .store
            .identities_of(record.id)?
            .into_iter()
            .map(|i| {
                let is_primary = primary.contains(&Some(i.identity.clone()));
                (i, is_primary)
            })
            .collect();
        Ok(LeadIdentities { lead: record.id, identities, visitors: self.store.visitors_of(record.id)? })
    }

    /// Gives the lead one more identity, if the actor may change the lead: false when it had it.
    pub fn add_identity_as(
        &mut self,
        actor: &Actor<'_>,
        lead: &LeadRef,
        identity: &Identity,
    ) -> Result<bool, EngineError> {
        let now = self.now();
        let mut tx = self.store.begin()?;
        let record = changeable(&mut tx, actor, lead)?;
        let added = match tx.add_identity(record.id, identity, now) {
            Err(StoreError::IdentityTaken { lead: holder, .. }) => {
                return Err(EngineError::KeyTaken { key: identity.clone().into(), owner: holder, id: record.id });
            }
            other => other?,
        };
        tx.commit()?;
        Ok(added)
    }

    /// Takes an identity from the lead, if the actor may change the lead: false when it did not
    /// have it. The profile's own email and external id are changed through the profile instead.
    pub fn remove_identity_as(
        &mut self,
        actor: &Actor<'_>,
        lead: &LeadRef,
        identity: &Identity,
    ) -> Result<bool, EngineError> {
        let mut tx = self.store.begin()?;
        let record = changeable(&mut tx, actor, lead)?;
        let own = match identity {
            Identity::Email(e) => record.profile.email.as_ref() == Some(e),
            Identity::External(x) => record.profile.external_id.as_ref() == Some(x),
            Identity::System(..) | Identity::Phone(_) => false,
        };
        if own {
            return Err(EngineError::OwnIdentity(identity.clone()));
        }
        let removed = tx.remove_identity(record.id, identity)?;
        tx.commit()?;
        Ok(removed)
    }
}

/// The lead, if the actor may change it (its identities are the lead's, as its fields are).
fn changeable<T: Transaction>(tx: &mut T, actor: &Actor<'_>, lead: &LeadRef) -> Result<LeadRecord, EngineError> {
    let record = LeadWrites::lead(tx, lead)?.ok_or_else(|| EngineError::NoSuchLead(lead.clone()))?;
    let owner = record.profile.owner.as_deref();
    actor.may_write_lead(Some(owner), owner)?;
    Ok(record)
}
