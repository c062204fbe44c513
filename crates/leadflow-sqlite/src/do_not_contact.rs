//! The do-not-contact list.

use leadflow_core::contact::Channel;
use leadflow_store::{
    DO_NOT_CONTACT_COLUMNS, DoNotContactQuery, DoNotContactReads, DoNotContactRecord, DoNotContactRow,
    DoNotContactWrites, NewDoNotContact,
};

use super::*;

fn read_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<DoNotContactRow> {
    Ok(DoNotContactRow {
        id: r.get(0)?,
        address: r.get(1)?,
        channel: r.get(2)?,
        reason: r.get(3)?,
        note: r.get(4)?,
        created_by: r.get(5)?,
        created_at: r.get(6)?,
    })
}

impl DoNotContactReads for SqliteStore {
    fn do_not_contact(&self, q: &DoNotContactQuery) -> Result<Vec<DoNotContactRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {DO_NOT_CONTACT_COLUMNS} FROM do_not_contact
                 WHERE (?1 IS NULL OR address = ?1) AND id > ?2 ORDER BY id LIMIT ?3"
            ))
            .map_err(backend)?;
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let rows =
            stmt.query_map(params![q.address, q.after.unwrap_or(i64::MIN), limit], read_entry).map_err(backend)?;
        rows.map(|r| r.map_err(backend)?.try_into()).collect()
    }
}

impl DoNotContactWrites for SqliteTx<'_> {
    fn add_do_not_contact(&mut self, new: &NewDoNotContact<'_>, now: Timestamp) -> Result<bool, StoreError> {
        let n = self
            .tx
            .prepare_cached(
                "INSERT INTO do_not_contact (address, channel, reason, note, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (address, channel) DO NOTHING",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    new.address,
                    new.channel.as_str(),
                    new.reason.as_str(),
                    new.note,
                    new.created_by,
                    now.millis()
                ])
            })
            .map_err(backend)?;
        Ok(n > 0)
    }

    fn remove_do_not_contact(&mut self, address: &str, channel: Channel) -> Result<bool, StoreError> {
        let n = self
            .tx
            .prepare_cached("DELETE FROM do_not_contact WHERE address = ?1 AND channel = ?2")
            .and_then(|mut stmt| stmt.execute(params![address, channel.as_str()]))
            .map_err(backend)?;
        Ok(n > 0)
    }

    fn do_not_contact_now(
        &mut self,
        address: &str,
        channel: Channel,
    ) -> Result<Option<DoNotContactRecord>, StoreError> {
        let row = self
            .tx
            .prepare_cached(&format!(
                "SELECT {DO_NOT_CONTACT_COLUMNS} FROM do_not_contact WHERE address = ?1 AND channel = ?2"
            ))
            .and_then(|mut stmt| stmt.query_row(params![address, channel.as_str()], read_entry).optional())
            .map_err(backend)?;
        row.map(DoNotContactRecord::try_from).transpose()
    }
}
