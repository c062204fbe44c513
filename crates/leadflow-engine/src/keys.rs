//! API keys: a random secret shown once, and only its SHA-256 kept.

use leadflow_core::Role;
use leadflow_store::prelude::*;
use leadflow_store::{ApiKeyRecord, Store, Transaction};
use sha2::{Digest, Sha256};

use crate::{Engine, EngineError};

/// Secrets start with this, so that a leaked one is recognizable (secret scanners, logs).
const PREFIX: &str = "lf_";

/// The hash a key is stored and looked up by.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether two secrets are equal, in time that does not depend on where they differ (they are
/// hashed first, so not on their lengths either).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl<S: Store> Engine<S> {
    /// Creates a key; returns it with its secret, which is not stored and cannot be shown again.
    /// A sales key belongs to a user, whose name it has: it sees and changes that user's leads.
    pub fn create_api_key(&mut self, name: &str, role: Role) -> Result<(ApiKeyRecord, String), EngineError> {
        if role == Role::Sales {
            let user = leadflow_core::team::UserName::parse(name)?;
            if !self.store.users()?.iter().any(|u| *u.name() == user) {
                return Err(EngineError::NoSuchUser(user));
            }
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| EngineError::Randomness(e.to_string()))?;
        let secret = format!("{PREFIX}{}", hex::encode(bytes));
        let prefix = &secret[..PREFIX.len() + 8];
        let now = self.now();
        let mut tx = self.store.begin()?;
        let id = tx.create_api_key(name, role, &hash_secret(&secret), prefix, now)?;
        tx.commit()?;
        let record = self.store.api_keys()?.into_iter().find(|k| k.id == id).expect("created above");
        Ok((record, secret))
    }

    /// The live key this secret belongs to.
    pub fn authenticate(&self, secret: &str) -> Result<Option<ApiKeyRecord>, EngineError> {
        if !secret.starts_with(PREFIX) {
            return Ok(None);
        }
        Ok(self.store.api_key_by_hash(&hash_secret(secret))?)
    }

    pub fn revoke_api_key(&mut self, id: i64) -> Result<bool, EngineError> {
        let now = self.now();
        let mut tx = self.store.begin()?;
        let revoked = tx.revoke_api_key(id, now)?;
        tx.commit()?;
        Ok(revoked)
    }

    pub fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, EngineError> {
        Ok(self.store.api_keys()?)
    }
}
