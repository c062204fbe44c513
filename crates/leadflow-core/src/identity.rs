//! The identities a lead is reached through: its emails, the ids other systems gave it, its
//! phone numbers.
//!
//! A lead has one of each kind in its profile (`email`, `external_id`: its primary ones, shown
//! and scored like any field) and may have more: a second work address, the id a second CRM gave
//! it, a mobile number. Every identity names one lead at most, whatever its kind's place (a
//! primary email of one lead is nobody else's secondary one). Each is written `kind:value`
//! (`email:ana@acme.example`, `salesforce:00Q5g000004XyZ1`, `phone:+14155550100`), and a bare
//! email is an email.

use std::fmt;

use crate::email::{Email, EmailError};
use crate::external_id::{ExternalId, ExternalIdError};

/// The names leadflow gives its own kinds of identity, which no system may take.
const RESERVED: [&str; 6] = ["email", "phone", "external", "visitor", "id", "lead"];

/// Another system a lead has an id in (`salesforce`, `hubspot`, `zendesk`): lower-case ASCII
/// letters, digits, `-` and `_`, starting with a letter, at most 32 characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct System(String);

impl System {
    pub fn parse(input: &str) -> Result<System, IdentityError> {
        let name = input.trim();
        let well_formed = name.len() <= 32
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !well_formed {
            return Err(IdentityError::BadSystem(crate::text::printable(name).into_owned()));
        }
        if RESERVED.contains(&name) {
            return Err(IdentityError::ReservedSystem(name.to_string()));
        }
        Ok(System(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The country a phone number written without its country code is read in (`GB`, `US`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhoneRegion(phonenumber::country::Id);

impl PhoneRegion {
    pub fn parse(input: &str) -> Result<PhoneRegion, IdentityError> {
        let code = input.trim().to_ascii_uppercase();
        code.parse()
            .map(PhoneRegion)
            .map_err(|_| IdentityError::BadRegion(crate::text::printable(input.trim()).into_owned()))
    }
}

/// A phone number in E.164 form (`+14155550100`), valid for its country's numbering plan: how
/// it was written (spaces, dashes, a national `0`) is not part of who it names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Phone(String);

impl Phone {
    /// Reads a number with its country code (`+44 20 7946 0958`), or without one in `region`.
    pub fn parse(input: &str, region: Option<PhoneRegion>) -> Result<Phone, IdentityError> {
        let text = input.trim();
        let not_a_phone =
            |why: &'static str| IdentityError::NotAPhone { number: crate::text::printable(text).into_owned(), why };
        if text.is_empty() {
            return Err(not_a_phone("it is empty"));
        }
        if !text.starts_with('+') && region.is_none() {
            return Err(not_a_phone("write it with its country code, such as +44 20 7946 0958"));
        }
        let number = phonenumber::parse(region.map(|r| r.0), text)
            .map_err(|_| not_a_phone("it does not read as a phone number"))?;
        if !phonenumber::is_valid(&number) {
            return Err(not_a_phone("no number of its country has that form"));
        }
        Ok(Phone(number.format().mode(phonenumber::Mode::E164).to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Email(#[from] EmailError),
    #[error(transparent)]
    External(#[from] ExternalIdError),
    #[error("`{number}` is not a phone number: {why}")]
    NotAPhone { number: String, why: &'static str },
    #[error("`{0}` is not a country code (expected two letters, such as GB or US)")]
    BadRegion(String),
    #[error(
        "`{0}` is not a system name (expected lower-case letters, digits, `-` and `_`, starting with a letter, at most 32)"
    )]
    BadSystem(String),
    #[error("`{0}` is a kind of identity of leadflow's own, not a system's name")]
    ReservedSystem(String),
    #[error("`{0}` is not an identity (expected kind:value, such as email:ana@acme.example or salesforce:00Q5g)")]
    Malformed(String),
}

/// One way to reach a lead.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Identity {
    Email(Email),
    /// An id in the system the profile's `external_id` is from (the CRM leads are imported
    /// from), written `external:ID`.
    External(ExternalId),
    /// An id in another, named system.
    System(System, ExternalId),
    Phone(Phone),
}

impl Identity {
    /// Reads `kind:value`, or a bare email. A phone must carry its country code here.
    pub fn parse(input: &str) -> Result<Identity, IdentityError> {
        Identity::parse_in(input, None)
    }

    /// [`parse`](Identity::parse), reading a phone number without its country code in `region`.
    pub fn parse_in(input: &str, region: Option<PhoneRegion>) -> Result<Identity, IdentityError> {
        let text = input.trim();
        match text.split_once(':') {
            Some((kind, value)) => Identity::of_kind_in(kind, value, region),
            None if text.contains('@') => Ok(Identity::Email(Email::parse(text)?)),
            None => Err(IdentityError::Malformed(crate::text::printable(text).into_owned())),
        }
    }

    /// The identity of a kind ([`kind`](Identity::kind)) and a value, as a caller gives them.
    pub fn of_kind(kind: &str, value: &str) -> Result<Identity, IdentityError> {
        Identity::of_kind_in(kind, value, None)
    }

    /// An identity as it was stored: a phone number in E.164 form is taken as it is, not checked
    /// again against numbering plans that may have changed since (a lead keeps the number it was
    /// given).
    pub fn stored(kind: &str, value: &str) -> Result<Identity, IdentityError> {
        let e164 = value
            .strip_prefix('+')
            .is_some_and(|d| (1..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()));
        match kind {
            "phone" if e164 => Ok(Identity::Phone(Phone(value.to_string()))),
            _ => Identity::of_kind(kind, value),
        }
    }

    fn of_kind_in(kind: &str, value: &str, region: Option<PhoneRegion>) -> Result<Identity, IdentityError> {
        Ok(match kind.trim() {
            "email" => Identity::Email(Email::parse(value)?),
            "external" => Identity::External(ExternalId::parse(value)?),
            "phone" => Identity::Phone(Phone::parse(value, region)?),
            system => Identity::System(System::parse(system)?, ExternalId::parse(value)?),
        })
    }

    /// `email`, `external`, `phone`, or the system's name.
    pub fn kind(&self) -> &str {
        match self {
            Identity::Email(_) => "email",
            Identity::External(_) => "external",
            Identity::System(system, _) => system.as_str(),
            Identity::Phone(_) => "phone",
        }
    }

    pub fn value(&self) -> &str {
        match self {
            Identity::Email(e) => e.as_str(),
            Identity::External(x) | Identity::System(_, x) => x.as_str(),
            Identity::Phone(p) => p.as_str(),
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_read_back_from_their_text() {
        for text in [
            "email:ana@acme.example",
            "external:00Q5g000004XyZ1",
            "salesforce:00Q5g000004XyZ1",
            "hubspot:007",
            "phone:+442079460958",
            "zendesk-eu:a:b",
        ] {
            let identity = Identity::parse(text).unwrap();
            assert_eq!(identity.to_string(), text);
            assert_eq!(Identity::of_kind(identity.kind(), identity.value()).unwrap(), identity);
            assert_eq!(Identity::stored(identity.kind(), identity.value()).unwrap(), identity);
        }
        assert_eq!(Identity::parse(" Ana@Acme.example ").unwrap().to_string(), "email:ana@acme.example");
    }

    #[test]
    fn an_id_keeps_its_case_and_a_system_is_its_own() {
        let upper = Identity::parse("salesforce:00Q5g000004XyZ1").unwrap();
        let lower = Identity::parse("salesforce:00q5g000004xyz1").unwrap();
        assert_ne!(upper, lower);
        assert_ne!(upper, Identity::parse("hubspot:00Q5g000004XyZ1").unwrap());
        assert_ne!(upper, Identity::parse("external:00Q5g000004XyZ1").unwrap());
    }

    #[test]
    fn a_phone_is_one_number_however_it_is_written() {
        let gb = PhoneRegion::parse("gb").unwrap();
        for written in ["+44 20 7946 0958", "+44 (0)20 7946-0958", "+442079460958"] {
            assert_eq!(Phone::parse(written, None).unwrap().as_str(), "+442079460958", "{written}");
        }
        assert_eq!(Phone::parse("020 7946 0958", Some(gb)).unwrap().as_str(), "+442079460958");
        assert_eq!(Identity::parse_in("phone:020 7946 0958", Some(gb)).unwrap().to_string(), "phone:+442079460958");
        assert_eq!(Identity::parse_in("phone:+1 415 555 2671", Some(gb)).unwrap().to_string(), "phone:+14155552671");
        assert_eq!(
            Phone::parse("(415) 555-2671", Some(PhoneRegion::parse("US").unwrap())).unwrap().as_str(),
            "+14155552671"
        );
    }

    #[test]
    fn what_names_nobody_is_refused_with_why() {
        let refused = |text: &str| Phone::parse(text, None).unwrap_err().to_string();
        assert!(refused("020 7946 0958").contains("country code"), "{}", refused("020 7946 0958"));
        assert!(refused("+1 555 0100").contains("no number of its country"), "{}", refused("+1 555 0100"));
        assert!(refused("call me").contains("not a phone number"));
        assert!(PhoneRegion::parse("XX").is_err());
        for bad in ["Salesforce", "1crm", "sales force", "", &"x".repeat(33)] {
            assert!(matches!(System::parse(bad), Err(IdentityError::BadSystem(_))), "{bad:?}");
        }
        for reserved in RESERVED {
            assert_eq!(System::parse(reserved), Err(IdentityError::ReservedSystem(reserved.into())));
        }
        assert!(matches!(Identity::parse("00Q5g"), Err(IdentityError::Malformed(_))));
        // What a numbering plan no longer knows still reads back as it was stored.
        assert_eq!(Identity::stored("phone", "+15550100").unwrap().to_string(), "phone:+15550100");
        assert!(Identity::stored("phone", "5550100").is_err());
        assert!(matches!(Identity::parse("salesforce:"), Err(IdentityError::External(_))));
        assert!(matches!(Identity::parse("salesforce:a\u{202e}b"), Err(IdentityError::External(_))));
    }
}
