//! Behavioral events.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The client's idempotency key for an event: re-sending the same key changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event id is empty")]
    EmptyKey,
    #[error("event id is longer than 200 characters")]
    KeyTooLong,
    #[error("event type `{0}` is invalid (expected 1-64 characters of a-z, 0-9, `_`, `.`, `-`)")]
    BadType(String),
    #[error("property name `{0}` is invalid (expected 1-64 characters of A-Z, a-z, 0-9, `_`, `.`, `-`)")]
    BadPropertyName(String),
}

impl EventKey {
    pub fn parse(s: &str) -> Result<EventKey, EventError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(EventError::EmptyKey);
        }
        if s.len() > 200 {
            return Err(EventError::KeyTooLong);
        }
        Ok(EventKey(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key for an event sent without one, derived from everything it says, so that sending
    /// the same event again (re-importing a file) is still recognized as a duplicate.
    pub fn derive(lead: &str, ts: crate::Timestamp, shape: &EventShape) -> EventKey {
        Self::derive_from(lead, Some(ts), shape)
    }

    /// The key of an event sent with neither an id nor a time: derived from what it says alone,
    /// never from when it arrived, so that a client's retry is a duplicate.
    pub fn derive_untimed(lead: &str, shape: &EventShape) -> EventKey {
        Self::derive_from(lead, None, shape)
    }

    fn derive_from(lead: &str, ts: Option<crate::Timestamp>, shape: &EventShape) -> EventKey {
        let mut h = Fnv128::new();
        h.write(lead.as_bytes());
        match ts {
            Some(ts) => h.write(&ts.millis().to_le_bytes()),
            None => h.write(b"untimed"),
        }
        h.write(shape.event_type.as_str().as_bytes());
        for (k, v) in &shape.properties {
            h.write(&[0xff]);
            h.write(k.as_bytes());
            h.write(&[0xfe]);
            h.write(v.as_bytes());
        }
        EventKey(format!("auto-{:032x}", h.0))
    }
}

/// FNV-1a, 128-bit: stable across builds and platforms (std's hashers promise neither).
struct Fnv128(u128);

impl Fnv128 {
    fn new() -> Self {
        Fnv128(0x6c62272e07bb014262b821756295c58d)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u128::from(*b);
            self.0 = self.0.wrapping_mul(0x0000000001000000000000000000013B);
        }
        // Separates fields so that ("ab", "c") and ("a", "bc") differ.
        self.0 ^= 0x1f;
        self.0 = self.0.wrapping_mul(0x0000000001000000000000000000013B);
    }
}

impl fmt::Display for EventKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EventKey {
    type Error = EventError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        EventKey::parse(&s)
    }
}

impl From<EventKey> for String {
    fn from(k: EventKey) -> String {
        k.0
    }
}

/// An event type: one of the well-known ones or any custom type a client sends.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventType(String);

impl EventType {
    pub const KNOWN: [&'static str; 14] = [
        "page_view",
        "email_open",
        "email_click",
        "email_reply",
        "email_bounced",
        "email_unsubscribed",
        "form_submitted",
        "content_download",
        "webinar_registered",
        "webinar_attended",
        "event_attended",
        "demo_requested",
        "demo_cancelled",
        "email_sent",
    ];

    pub fn parse(s: &str) -> Result<EventType, EventError> {
        let s = s.trim();
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'));
        if ok { Ok(EventType(s.to_string())) } else { Err(EventError::BadType(s.to_string())) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_known(&self) -> bool {
        EventType::KNOWN.contains(&self.0.as_str())
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EventType {
    type Error = EventError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        EventType::parse(&s)
    }
}

impl From<EventType> for String {
    fn from(t: EventType) -> String {
        t.0
    }
}

/// What a rule can see of an event besides its time: its type and its properties.
///
/// Matching depends on nothing else, so stores intern shapes and a rescore matches each distinct
/// shape once instead of each event.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventShape {
    pub event_type: EventType,
    pub properties: BTreeMap<String, String>,
}

impl EventShape {
    pub fn new(event_type: EventType) -> EventShape {
        EventShape { event_type, properties: BTreeMap::new() }
    }

    /// Adds a property; empty values are dropped (absent and empty mean the same to rules).
    pub fn with_property(mut self, name: &str, value: &str) -> Result<EventShape, EventError> {
        self.set_property(name, value)?;
        Ok(self)
    }

    pub fn set_property(&mut self, name: &str, value: &str) -> Result<(), EventError> {
        let name = name.trim();
        if !crate::lead::is_identifier(name) {
            return Err(EventError::BadPropertyName(name.to_string()));
        }
        if value.is_empty() {
            self.properties.remove(name);
        } else {
            self.properties.insert(name.to_string(), value.to_string());
        }
        Ok(())
    }

    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).map(String::as_str)
    }

    /// The shape rules see, keeping the properties `kept` says rules may look at, and the rest,
    /// set aside: a session id or a request id would otherwise make every event a shape of its
    /// own, though no rule tells them apart.
    pub fn split(mut self, kept: impl Fn(&str) -> bool) -> (EventShape, BTreeMap<String, String>) {
        let (keep, aside) = std::mem::take(&mut self.properties).into_iter().partition(|(k, _)| kept(k));
        self.properties = keep;
        (self, aside)
    }

    /// The shape with `aside`'s properties back: the event as it was sent.
    pub fn joined(mut self, aside: BTreeMap<String, String>) -> EventShape {
        self.properties.extend(aside);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_and_types() {
        assert!(EventKey::parse(" ").is_err());
        assert_eq!(EventKey::parse(" k1 ").unwrap().as_str(), "k1");
        assert!(EventType::parse("page_view").unwrap().is_known());
        assert!(!EventType::parse("trial_started").unwrap().is_known());
        assert!(EventType::parse("Page View").is_err());
        let s = EventShape::new(EventType::parse("page_view").unwrap())
            .with_property("url", "/pricing")
            .unwrap()
            .with_property("campaign", "")
            .unwrap();
        assert_eq!(s.property("url"), Some("/pricing"));
        assert_eq!(s.property("campaign"), None);
        assert!(s.clone().with_property("bad name", "x").is_err());
        let ts = crate::Timestamp::from_secs(1);
        let k = EventKey::derive("a@b.co", ts, &s);
        assert_eq!(k, EventKey::derive("a@b.co", ts, &s.clone()));
        assert_ne!(k, EventKey::derive("a@b.co", crate::Timestamp::from_secs(2), &s));
        assert_ne!(k, EventKey::derive("a@b.c", ts, &s));
        assert_eq!(EventKey::derive_untimed("a@b.co", &s), EventKey::derive_untimed("a@b.co", &s));
        assert_ne!(EventKey::derive_untimed("a@b.co", &s), k);
        assert_eq!(k.as_str().len(), 5 + 32);
    }

    #[test]
    fn split_and_joined_give_back_the_event() {
        let sent = EventShape::new(EventType::parse("page_view").unwrap())
            .with_property("url", "/pricing")
            .unwrap()
            .with_property("session_id", "s-81f2")
            .unwrap();
        let (shape, aside) = sent.clone().split(|k| k == "url");
        assert_eq!((shape.property("url"), shape.property("session_id")), (Some("/pricing"), None));
        assert_eq!(aside.get("session_id").map(String::as_str), Some("s-81f2"));
        assert_eq!(shape.joined(aside), sent);
    }
}
