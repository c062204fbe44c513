//! The do-not-contact list.

use leadflow_core::Timestamp;
use leadflow_core::contact::Channel;
use leadflow_store::{
    DO_NOT_CONTACT_COLUMNS, DoNotContactQuery, DoNotContactReads, DoNotContactRecord, DoNotContactRow,
    DoNotContactWrites, NewDoNotContact, StoreError,
};
use postgres::Row;
use postgres::types::ToSql;

use crate::sql::Sql;
use crate::{PgStore, PgTx, backend};

fn read_entry(r: &Row) -> Result<DoNotContactRecord, StoreError> {
    DoNotContactRow {
        id: r.get(0),
        address: r.get(1),
        channel: r.get(2),
        reason: r.get(3),
        note: r.get(4),
        created_by: r.get(5),
        created_at: r.get(6),
    }
    .try_into()
}

impl DoNotContactReads for PgStore {
    fn do_not_contact(&self, q: &DoNotContactQuery) -> Result<Vec<DoNotContactRecord>, StoreError> {
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let rows = self
            .conn()
            .query(
                &format!(
                    "SELECT {DO_NOT_CONTACT_COLUMNS} FROM do_not_contact
                     WHERE ($1::TEXT IS NULL OR address = $1) AND id > $2 ORDER BY id LIMIT $3"
                ),
                &[&q.address as &(dyn ToSql + Sync), &q.after.unwrap_or(i64::MIN), &limit],
            )
            .map_err(backend)?;
        rows.iter().map(read_entry).collect()
    }
}

impl DoNotContactWrites for PgTx<'_> {
    fn add_do_not_contact(&mut self, new: &NewDoNotContact<'_>, now: Timestamp) -> Result<bool, StoreError> {
        let n = self
            .tx
            .execute(
                "INSERT INTO do_not_contact (address, channel, reason, note, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (address, channel) DO NOTHING",
                &[
                    &new.address as &(dyn ToSql + Sync),
                    &new.channel.as_str(),
                    &new.reason.as_str(),
                    &new.note,
                    &new.created_by,
                    &now.millis(),
                ],
            )
            .map_err(backend)?;
        Ok(n > 0)
    }

    fn remove_do_not_contact(&mut self, address: &str, channel: Channel) -> Result<bool, StoreError> {
        let n = self
            .tx
            .execute("DELETE FROM do_not_contact WHERE address = $1 AND channel = $2", &[&address, &channel.as_str()])
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
            .query_opt(
                &format!("SELECT {DO_NOT_CONTACT_COLUMNS} FROM do_not_contact WHERE address = $1 AND channel = $2"),
                &[&address, &channel.as_str()],
            )
            .map_err(backend)?;
        row.as_ref().map(read_entry).transpose()
    }
}
