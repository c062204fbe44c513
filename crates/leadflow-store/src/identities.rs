//! The identities leads are reached through (`core::identity`): every email, external id, id in
//! another system and phone number of each lead, its profile's primary email and external id
//! included, each naming one lead at most. Resolving a lead by an identity ([`LeadRef`]) looks
//! here, whichever kind it is; the profile's two keys are written here by the lead writes that
//! set them ([`LeadWrites`](crate::LeadWrites)), and kept when the profile moves to another
//! (the lead is still reached through its old address until someone removes it).
//!
//! [`LeadRef`]: leadflow_core::LeadRef

use leadflow_core::{Identity, LeadId, Profile, Timestamp, VisitorId};

use crate::StoreError;

/// One identity of a lead, since when the lead has it.
#[derive(Clone, Debug, PartialEq)]
pub struct IdentityRecord {
    pub identity: Identity,
    pub added_at: Timestamp,
}

pub trait IdentityReads {
    /// The lead's identities, by kind and value.
    fn identities_of(&self, lead: LeadId) -> Result<Vec<IdentityRecord>, StoreError>;
    /// The website visitors joined to the lead (by a form or a proof), with when, oldest first.
    fn visitors_of(&self, lead: LeadId) -> Result<Vec<(VisitorId, Timestamp)>, StoreError>;
}

pub trait IdentityWrites {
    /// Gives the lead one more identity: false when it had it already; refused with
    /// [`StoreError::IdentityTaken`] when another lead has it, and with
    /// [`StoreError::NoSuchLead`] when there is no such lead.
    fn add_identity(&mut self, lead: LeadId, identity: &Identity, now: Timestamp) -> Result<bool, StoreError>;
    /// Takes an identity from the lead: false when it did not have it, or when it is the
    /// profile's own email or external id as stored (the caller says why first, in words).
    fn remove_identity(&mut self, lead: LeadId, identity: &Identity) -> Result<bool, StoreError>;
}

/// The profile's email and external id as identities (kind, value), each with the error a lead
/// write gets when another lead has it: what every backend's lead writes keep.
pub fn profile_keys(p: &Profile) -> impl Iterator<Item = (&'static str, &str, StoreError)> {
    let email = p.email.as_ref().map(|e| ("email", e.as_str(), StoreError::DuplicateEmail(e.to_string())));
    let external =
        p.external_id.as_ref().map(|x| ("external", x.as_str(), StoreError::DuplicateExternalId(x.to_string())));
    email.into_iter().chain(external)
}
