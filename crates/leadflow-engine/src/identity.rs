//! Signed identity tokens: how a website proves to the public tracking endpoint who a visitor is.
//!
//! The endpoint takes no key, so an email in a form proves nothing: anyone can type anyone's.
//! A site that knows who its visitor is (a signed-in customer, a link in an email leadflow
//! sent) asks leadflow, with a key, for a token naming that person by email, and the snippet
//! hands it over. The token is `lf1.<email, hex>.<visitor id or ->.<expiry, seconds since the
//! epoch>.<HMAC-SHA256 of the part before it, hex>`, signed with a secret only the servers
//! hold, so it cannot be made for another person or kept past its expiry. Bound to a visitor
//! id (the `leadflow_visitor` cookie the site can read), it proves only that visitor, so a
//! token that leaks (a forwarded email link) attaches nobody else. Issuing one reads nothing:
//! it says nothing about whether the person is a lead yet.

use hmac::{Hmac, KeyInit, Mac};
use leadflow_core::{Email, Timestamp, VisitorId};
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
    #[error("the identity token was issued for another visitor")]
    OtherVisitor,
}

/// Who a verified token says the visitor is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub email: Email,
    /// The one visitor it proves, if it was issued for one.
    pub visitor: Option<VisitorId>,
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

    /// A token naming the person with `email` (and, if given, only this visitor) until `expires`.
    pub fn issue(&self, email: &Email, visitor: Option<&VisitorId>, expires: Timestamp) -> String {
        let payload = format!(
            "{PREFIX}.{}.{}.{}",
            hex::encode(email.as_str()),
            visitor.map_or("-", VisitorId::as_str),
            expires.millis().div_euclid(1000)
        );
        let signature = hex::encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// Who a token names, if this secret signed it, it has not expired at `now`, and it was
    /// issued for `visitor` or for any.
    pub fn verify(&self, token: &str, visitor: &VisitorId, now: Timestamp) -> Result<Identity, TokenError> {
        let (payload, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let mut parts = payload.split('.');
        let (Some(PREFIX), Some(email), Some(bound), Some(expires), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let signature = hex::decode(signature).map_err(|_| TokenError::Malformed)?;
        // Compared in constant time, so that timing tells an attacker nothing of the signature.
        self.mac(payload).verify_slice(&signature).map_err(|_| TokenError::BadSignature)?;
        let expires: i64 = expires.parse().map_err(|_| TokenError::Malformed)?;
        if now.millis().div_euclid(1000) >= expires {
            return Err(TokenError::Expired);
        }
        let email = String::from_utf8(hex::decode(email).map_err(|_| TokenError::Malformed)?)
            .ok()
            .and_then(|e| Email::parse(&e).ok())
            .ok_or(TokenError::Malformed)?;
        let bound = match bound {
            "-" => None,
            id => Some(VisitorId::parse(id).map_err(|_| TokenError::Malformed)?),
        };
        if bound.as_ref().is_some_and(|b| b != visitor) {
            return Err(TokenError::OtherVisitor);
        }
        Ok(Identity { email, visitor: bound })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_one_person_until_they_expire() {
        let secret = IdentitySecret::new("0123456789abcdef0123456789abcdef").unwrap();
        let now = Timestamp::parse("2026-12-01T10:00:00Z").unwrap();
        let ana = Email::parse("ana@acme.example").unwrap();
        let (mine, other) = (VisitorId::parse("visitor-mine").unwrap(), VisitorId::parse("visitor-other").unwrap());
        let token = secret.issue(&ana, None, now.plus_days(1));
        assert_eq!(secret.verify(&token, &mine, now).unwrap().email, ana);
        assert_eq!(secret.verify(&token, &mine, now.plus_days(1)), Err(TokenError::Expired));
        let another = IdentitySecret::new("another secret of at least 32 chars!").unwrap();
        assert_eq!(another.verify(&token, &mine, now), Err(TokenError::BadSignature));
        let ben = hex::encode("ben@acme.example");
        let forged = token.replacen(&hex::encode(ana.as_str()), &ben, 1);
        assert_eq!(secret.verify(&forged, &mine, now), Err(TokenError::BadSignature));
        // Bound to a visitor: only that one.
        let bound = secret.issue(&ana, Some(&mine), now.plus_days(1));
        assert_eq!(secret.verify(&bound, &mine, now).unwrap().visitor, Some(mine.clone()));
        assert_eq!(secret.verify(&bound, &other, now), Err(TokenError::OtherVisitor));
        for bad in ["", "lf1", "lf1.00.-.9999999999", "lf2.00.-.1.00", "lf1.zz.-.1.00", "lf1.1.2.3.4.zz"] {
            assert!(secret.verify(bad, &mine, now).is_err(), "{bad}");
        }
        assert_eq!(IdentitySecret::new("short").unwrap_err(), TokenError::WeakSecret);
    }
}
