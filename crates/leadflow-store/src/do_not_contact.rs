//! The do-not-contact list as stored: one entry per address and channel, the first reason
//! kept (an address that unsubscribed and later bounced stays "unsubscribed").

use leadflow_core::Timestamp;
use leadflow_core::contact::{Channel, SuppressionReason};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoNotContactRecord {
    pub id: i64,
    /// Lower-cased for email, as leads' addresses are.
    pub address: String,
    pub channel: Channel,
    pub reason: SuppressionReason,
    pub note: Option<String>,
    /// Who listed it: a send it answered (`send 12`), `cli`, an API key's name.
    pub created_by: String,
    pub created_at: Timestamp,
}

#[derive(Clone, Copy, Debug)]
pub struct NewDoNotContact<'a> {
    pub address: &'a str,
    pub channel: Channel,
    pub reason: SuppressionReason,
    pub note: Option<&'a str>,
    pub created_by: &'a str,
}

/// Which entries to list: of an address (every channel), or all; by id, after `after`.
#[derive(Clone, Debug, Default)]
pub struct DoNotContactQuery {
    pub address: Option<String>,
    pub after: Option<i64>,
    pub limit: usize,
}

pub trait DoNotContactReads {
    fn do_not_contact(&self, query: &DoNotContactQuery) -> Result<Vec<DoNotContactRecord>, StoreError>;
}

pub trait DoNotContactWrites {
    /// Lists an address on a channel; false, and the entry there kept as it is, when it is
    /// listed already.
    fn add_do_not_contact(&mut self, new: &NewDoNotContact<'_>, now: Timestamp) -> Result<bool, StoreError>;
    /// Takes an address off a channel's list; whether it was on it.
    fn remove_do_not_contact(&mut self, address: &str, channel: Channel) -> Result<bool, StoreError>;
    /// The entry for this address and channel, as this unit of work sees it.
    fn do_not_contact_now(&mut self, address: &str, channel: Channel)
    -> Result<Option<DoNotContactRecord>, StoreError>;
}

/// An entry's row, as both backends read it back.
pub struct DoNotContactRow {
    pub id: i64,
    pub address: String,
    pub channel: String,
    pub reason: String,
    pub note: Option<String>,
    pub created_by: String,
    pub created_at: i64,
}

/// The columns [`DoNotContactRow`] reads, in its order.
pub const DO_NOT_CONTACT_COLUMNS: &str = "id, address, channel, reason, note, created_by, created_at";

impl TryFrom<DoNotContactRow> for DoNotContactRecord {
    type Error = StoreError;

    fn try_from(r: DoNotContactRow) -> Result<DoNotContactRecord, StoreError> {
        let corrupt =
            |what: &str, value: &str| StoreError::Corrupt(format!("do-not-contact {}: {what} {value:?}", r.id));
        let channel = Channel::parse(&r.channel).ok_or_else(|| corrupt("channel", &r.channel))?;
        let reason = SuppressionReason::parse(&r.reason).ok_or_else(|| corrupt("reason", &r.reason))?;
        Ok(DoNotContactRecord {
            id: r.id,
            address: r.address,
            channel,
            reason,
            note: r.note,
            created_by: r.created_by,
            created_at: Timestamp::from_millis(r.created_at),
        })
    }
}
