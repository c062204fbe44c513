//! Bulk scans over every lead, and finishing what bulk imports deferred.

use super::*;

impl Rescans for SqliteStore {
    /// Reads on a thread of its own, through a second (read-only) connection, one batch ahead:
    /// while `visit` scores and writes a batch, the next one is being read.
    fn scan_for_rescore(
        &mut self,
        request: ScanRequest,
        visit: &mut RescoreVisitor<'_, Self>,
    ) -> Result<(), StoreError> {
        self.finish_bulk()?;
        let reader = open_connection(&self.path, true)?;
        let (send, receive) = std::sync::mpsc::sync_channel::<Result<Vec<RescoreItem>, StoreError>>(1);
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut after = i64::MIN;
                loop {
                    let batch = read_batch(&reader, &request, after);
                    let last = match &batch {
                        Ok(items) => items.last().map(|i| i.id.0),
                        Err(_) => None,
                    };
                    let failed = batch.is_err();
                    // The receiver hangs up when the visitor fails: stop reading then too.
                    if send.send(batch).is_err() || failed {
                        return;
                    }
                    match last {
                        Some(id) => after = id,
                        None => return,
                    }
                }
            });
            let result = (|| {
                for batch in &receive {
                    let items = batch?;
                    if items.is_empty() {
                        break;
                    }
                    visit(self, items)?;
                }
                Ok(())
            })();
            drop(receive);
            result
        })
    }

    /// One range scan over the batch's leads, unpacking the activity of those without a state.
    fn load_activity(&self, items: &mut [RescoreItem]) -> Result<(), StoreError> {
        load_activity(&self.conn, items)
    }

    fn count_for_rescore(&self, scope: ScanScope) -> Result<u64, StoreError> {
        let n: i64 = match scope {
            ScanScope::All => self.conn.query_row("SELECT count(*) FROM leads", [], |r| r.get(0)),
            ScanScope::NeedingRescore(model) => self.conn.query_row(
                "SELECT count(*) FROM scores s WHERE s.stale = 1 OR s.total IS NULL OR s.model_version IS NOT ?1",
                [model.0],
                |r| r.get(0),
            ),
        }
        .map_err(backend)?;
        Ok(n as u64)
    }

    fn write_scores(&mut self, writes: &[ScanWrite]) -> Result<Vec<LeadId>, StoreError> {
        let tx = self.conn.transaction().map_err(backend)?;
        let mut left = Vec::new();
        for w in writes {
            if !write_score(&tx, &w.write, Some(w.read))? {
                left.push(w.write.lead);
            }
        }
        tx.commit().map_err(backend)?;
        Ok(left)
    }
}
