//! Signed identity tokens: how a website proves to the public tracking endpoint who a visitor is.
//!
//! The endpoint takes no key, so an email in a form proves nothing: anyone can type anyone's.
//! A site that knows who its visitor is (a signed-in customer, a link in an email leadflow
//! sent) asks leadflow, with a key, for a token naming that lead, and the snippet hands it
//! over. The token is `lf1.<lead id>.<expiry, seconds since the epoch>.<HMAC-SHA256 of the part
//! before it, hex>`, signed with a secret only the servers hold, so it cannot be made for
//! another lead or kept past its expiry.

use hmac::{Hmac, KeyInit, Mac};
use leadflow_core::{LeadId, Timestamp};
use sha2::Sha256;

/// The secret identity tokens are signed with: at least 32 bytes.
#[derive(Clone)]
pub struct IdentitySecret(Vec<u8>);

impl std::fmt::Debug for IdentitySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentitySecret(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("an identity secret is at least 32 characters (tracking.identity_secret)")]
    WeakSecret,
    #[error("not an identity token")]
    Malformed,
    #[error("the identity token's signature does not match")]
    BadSignature,
    #[error("the identity token has expired")]
    Expired,
}

const PREFIX: &str = "lf1";

impl IdentitySecret {
    pub fn new(secret: &str) -> Result<IdentitySecret, TokenError> {
        if secret.len() < 32 {
            return Err(TokenError::WeakSecret);
        }
        Ok(IdentitySecret(secret.as_bytes().to_vec()))
    }

    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(payload.as_bytes());
        mac
    }

    /// A token naming `lead` until `expires`.
    pub fn issue(&self, lead: LeadId, expires: Timestamp) -> String {
        let payload = format!("{PREFIX}.{}.{}", lead.0, expires.millis().div_euclid(1000));
        let signature = hex::encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// The lead a token names, if this secret signed it and it has not expired at `now`.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<LeadId, TokenError> {
        let (payload, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let mut parts = payload.split('.');
        let (Some(PREFIX), Some(lead), Some(expires), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let lead: i64 = lead.parse().map_err(|_| TokenError::Malformed)?;
        let expires: i64 = expires.parse().map_err(|_| TokenError::Malformed)?;
        let signature = hex::decode(signature).map_err(|_| TokenError::Malformed)?;
        // Compared in constant time, so that timing tells an attacker nothing of the signature.
        self.mac(payload).verify_slice(&signature).map_err(|_| TokenError::BadSignature)?;
        if now.millis().div_euclid(1000) >= expires {
            return Err(TokenError::Expired);
        }
        Ok(LeadId(lead))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_one_lead_until_they_expire() {
        let secret = IdentitySecret::new("0123456789abcdef0123456789abcdef").unwrap();
        let now = Timestamp::parse("2026-12-01T10:00:00Z").unwrap();
        let token = secret.issue(LeadId(42), now.plus_days(1));
        assert_eq!(secret.verify(&token, now), Ok(LeadId(42)));
        assert_eq!(secret.verify(&token, now.plus_days(1)), Err(TokenError::Expired));
        let other = IdentitySecret::new("another secret of at least 32 chars!").unwrap();
        assert_eq!(other.verify(&token, now), Err(TokenError::BadSignature));
        let forged = token.replacen(".42.", ".43.", 1);
        assert_eq!(secret.verify(&forged, now), Err(TokenError::BadSignature));
        for bad in ["", "lf1", "lf1.42.9999999999", "lf2.42.9999999999.00", "lf1.x.1.00", "lf1.1.2.3.zz"] {
            assert!(secret.verify(bad, now).is_err(), "{bad}");
        }
        assert_eq!(IdentitySecret::new("short").unwrap_err(), TokenError::WeakSecret);
    }
}
