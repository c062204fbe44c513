//! Where a sequence's emails go out: the engine decides what an email says and when it goes; a
//! [`Mailer`] (the SMTP adapter, `leadflow-mail`) hands it to a mail server.
//!
//! What the engine puts in every email, so that what comes back can be matched to its send: a
//! Message-ID naming the send (`<send-ID.leadflow@DOMAIN>`: a reply's `In-Reply-To` names it,
//! and a send retried after a crash has the same one, which receivers deduplicate by), a VERP
//! return path (`bounces+ID@DOMAIN`: a bounce comes back to an address naming its send), and
//! the unsubscribe link of RFC 8058 in the headers and the body, signed so that nobody can
//! unsubscribe someone else by guessing.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// A name and an address, as in a From or To header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

/// One email, ready to go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub from: Mailbox,
    /// Replies reach the sender (the lead's owner) and are matched by `In-Reply-To`.
    pub reply_to: Mailbox,
    pub to: Mailbox,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// With its angle brackets.
    pub message_id: String,
    /// Where bounces go (the envelope sender).
    pub return_path: String,
    /// `List-Unsubscribe` (with `List-Unsubscribe-Post: List-Unsubscribe=One-Click`).
    pub unsubscribe_url: String,
}

/// Why a mail server did not take an email.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Try again later: a 4xx answer, a connection that failed, a timeout.
    #[error("temporary mail failure: {0}")]
    Transient(String),
    /// Never: a 5xx answer (no such user, refused).
    #[error("the mail server refused the email: {0}")]
    Permanent(String),
}

/// Sends emails. Implementations pace themselves (a rate limit) and keep connections open.
pub trait Mailer: Send + Sync {
    fn send(&self, email: &OutgoingEmail) -> Result<(), MailError>;
}

/// How sends are named in what comes back, and the links in them.
#[derive(Clone)]
pub struct MailLinks {
    /// The server's public address, without a trailing slash: links point there.
    base_url: String,
    /// Message-IDs and the return path are on it.
    domain: String,
    secret: Vec<u8>,
}

impl std::fmt::Debug for MailLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailLinks").field("base_url", &self.base_url).field("domain", &self.domain).finish()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("a link secret is at least 32 characters")]
    WeakSecret,
    #[error("{0:?} is not an http(s) URL")]
    BadBaseUrl(String),
}

impl MailLinks {
    pub fn new(base_url: &str, domain: &str, secret: &str) -> Result<MailLinks, LinkError> {
        if secret.len() < 32 {
            return Err(LinkError::WeakSecret);
        }
        let base = base_url.trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) || base.contains(char::is_whitespace) {
            return Err(LinkError::BadBaseUrl(base_url.to_string()));
        }
        Ok(MailLinks { base_url: base.to_string(), domain: domain.to_string(), secret: secret.as_bytes().to_vec() })
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// What a link signs: the kind of link, its send, and for a click the address it leads to
    /// (so that a signed link cannot be pointed elsewhere: no open redirect).
    fn signature(&self, what: &str, send: i64, target: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes a key of any length");
        mac.update(format!("{what}.{send}.").as_bytes());
        mac.update(target.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..12])
    }

    fn token(&self, what: &str, send: i64, target: &str) -> String {
        format!("{send}.{}", self.signature(what, send, target))
    }

    /// The send a token names, if this secret signed it for `what` (and `target`).
    fn verify(&self, what: &str, token: &str, target: &str) -> Option<i64> {
        let (id, signature) = token.split_once('.')?;
        let id: i64 = id.parse().ok()?;
        let expected = self.signature(what, id, target);
        // Compared in constant time: the signature is the secret's to give.
        crate::constant_time_eq(expected.as_bytes(), signature.as_bytes()).then_some(id)
    }

    /// The token naming a send in its unsubscribe link: `ID.SIGNATURE`.
    pub fn unsubscribe_token(&self, send: i64) -> String {
        self.token("unsubscribe", send, "")
    }

    pub fn verify_unsubscribe(&self, token: &str) -> Option<i64> {
        self.verify("unsubscribe", token, "")
    }

    pub fn unsubscribe_url(&self, send: i64) -> String {
        format!("{}/u/{}", self.base_url, self.unsubscribe_token(send))
    }

    /// The open pixel's address: `/o/ID.SIGNATURE.gif`.
    pub fn open_url(&self, send: i64) -> String {
        format!("{}/o/{}.gif", self.base_url, self.token("open", send, ""))
    }

    /// The send an open pixel's token (without `.gif`) names.
    pub fn verify_open(&self, token: &str) -> Option<i64> {
        self.verify("open", token, "")
    }

    /// A link that counts a click and then leads to `target`: `/c/ID.SIGNATURE?u=TARGET`.
    pub fn click_url(&self, send: i64, target: &str) -> String {
        format!("{}/c/{}?u={}", self.base_url, self.token("click", send, target), percent_encode(target))
    }

    /// The send a click link names, if it was signed for this target.
    pub fn verify_click(&self, token: &str, target: &str) -> Option<i64> {
        self.verify("click", token, target)
    }

    pub fn message_id(&self, send: i64) -> String {
        format!("<send-{send}.leadflow@{}>", self.domain)
    }

    /// The send a Message-ID of ours names (in a reply's `In-Reply-To` or `References`).
    pub fn send_of_message_id(&self, message_id: &str) -> Option<i64> {
        let inner = message_id.trim().trim_start_matches('<').trim_end_matches('>');
        let (local, domain) = inner.rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(&self.domain) {
            return None;
        }
        local.strip_prefix("send-")?.strip_suffix(".leadflow")?.parse().ok()
    }

    pub fn return_path(&self, send: i64) -> String {
        format!("bounces+{send}@{}", self.domain)
    }
}

/// A query value: everything but unreserved characters percent-encoded (RFC 3986).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> MailLinks {
        MailLinks::new("https://lf.yourco.example/", "yourco.example", "a secret of at least thirty-two characters")
            .unwrap()
    }

    #[test]
    fn a_send_is_named_in_what_comes_back() {
        let links = links();
        assert_eq!(links.message_id(42), "<send-42.leadflow@yourco.example>");
        assert_eq!(links.send_of_message_id(" <send-42.leadflow@YOURCO.example>"), Some(42));
        assert_eq!(links.send_of_message_id("<send-42.leadflow@other.example>"), None, "not ours");
        assert_eq!(links.send_of_message_id("<CAF=xyz@mail.gmail.com>"), None);
        assert_eq!(links.return_path(42), "bounces+42@yourco.example");
        let url = links.unsubscribe_url(42);
        assert!(url.starts_with("https://lf.yourco.example/u/42."), "{url}");
    }

    #[test]
    fn unsubscribe_tokens_cannot_be_made_for_another_send() {
        let links = links();
        let token = links.unsubscribe_token(42);
        assert_eq!(links.verify_unsubscribe(&token), Some(42));
        let (_, signature) = token.split_once('.').unwrap();
        assert_eq!(links.verify_unsubscribe(&format!("43.{signature}")), None, "another send");
        assert_eq!(links.verify_unsubscribe("42"), None);
        assert_eq!(links.verify_unsubscribe("42.00"), None);
        let other = MailLinks::new("https://lf.yourco.example", "yourco.example", &"x".repeat(32)).unwrap();
        assert_eq!(other.verify_unsubscribe(&token), None, "another secret");
        assert_eq!(MailLinks::new("https://a.example", "a.example", "short").unwrap_err(), LinkError::WeakSecret);
        assert!(matches!(MailLinks::new("ftp://a", "a.example", &"x".repeat(32)), Err(LinkError::BadBaseUrl(_))));
        let open = links.open_url(42);
        let open_token = open.rsplit('/').next().unwrap().strip_suffix(".gif").unwrap();
        assert_eq!(links.verify_open(open_token), Some(42));
        assert_eq!(links.verify_unsubscribe(open_token), None, "an open pixel's token unsubscribes nobody");
    }

    #[test]
    fn a_click_link_leads_only_where_it_was_signed_to() {
        let links = links();
        let target = "https://yourco.example/pricing?plan=pro&utm_source=nurture";
        let url = links.click_url(7, target);
        assert!(
            url.ends_with("?u=https%3A%2F%2Fyourco.example%2Fpricing%3Fplan%3Dpro%26utm_source%3Dnurture"),
            "{url}"
        );
        let token = url.split("/c/").nth(1).unwrap().split('?').next().unwrap();
        assert_eq!(links.verify_click(token, target), Some(7));
        assert_eq!(links.verify_click(token, "https://evil.example/"), None, "no open redirect");
    }
}
