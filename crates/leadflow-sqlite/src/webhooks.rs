//! Webhooks and their deliveries, through the ports (the SQL is in `outbox.rs`).

use super::*;

impl OutboxReads for SqliteStore {
    fn webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError> {
        outbox::webhooks(&self.conn)
    }

    fn deliveries(&self, webhook: i64, limit: usize) -> Result<Vec<DeliveryRecord>, StoreError> {
        outbox::deliveries(&self.conn, webhook, limit)
    }

    fn claim_deliveries(&mut self, claim: &DeliveryClaim) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
        let claimed = outbox::claim(&tx, claim)?;
        tx.commit().map_err(backend)?;
        Ok(claimed)
    }

    fn count_pending_deliveries(&self) -> Result<u64, StoreError> {
        outbox::count_pending(&self.conn)
    }

    fn record_attempt(
        &mut self,
        ticket: JobTicket,
        delivery: i64,
        outcome: &AttemptOutcome,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
        if !crate::jobs::finish(&tx, ticket, &outcome.job_outcome(), now)? {
            return Ok(false);
        }
        outbox::record_answer(&tx, delivery, outcome.http_status())?;
        tx.commit().map_err(backend)?;
        Ok(true)
    }
}

impl OutboxWrites for SqliteTx<'_> {
    fn create_webhook(&mut self, url: &str, secret: &str, topics: &[Topic], now: Timestamp) -> Result<i64, StoreError> {
        outbox::create_webhook(&self.tx, url, secret, topics, now)
    }

    fn delete_webhook(&mut self, id: i64, now: Timestamp) -> Result<bool, StoreError> {
        outbox::delete_webhook(&self.tx, id, now)
    }

    fn notify(&mut self, notification: &Notification) -> Result<(), StoreError> {
        outbox::notify(&self.tx, notification)
    }
}
