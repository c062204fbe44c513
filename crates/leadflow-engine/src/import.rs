//! Imports as one use case, whoever starts them (the CLI, later an upload): rows read from a
//! file go in batches, each its own transaction, so that a crash loses at most the batch in
//! flight and running the import again skips what is in; events go in bulk transactions; the
//! leads touched are rescored at the end.

use leadflow_store::{ChangeOrigin, Store};

use crate::{BatchReport, Engine, EngineError, EventInput, LeadInput, Progress, RescoreOptions, RescoreReport};

/// One record of a file, as a reader gives it.
#[derive(Debug)]
pub struct ImportRow<T> {
    /// 1-based line where the record starts.
    pub line: u64,
    /// Bytes of the file read so far (for progress).
    pub offset: u64,
    pub parsed: Result<T, String>,
    /// Fields left out of a record that was otherwise good, each with its reason.
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOptions {
    /// Rows per transaction.
    pub batch: usize,
    /// Rescore what the import touched when it is done (else the scores stay stale until a
    /// rescore).
    pub rescore: bool,
    /// Leads only: the active pipeline the leads it creates are in from their creation, at its
    /// entry stage.
    pub pipeline: Option<String>,
}

impl ImportOptions {
    pub const LEADS: ImportOptions = ImportOptions { batch: 50_000, rescore: true, pipeline: None };
    pub const EVENTS: ImportOptions = ImportOptions { batch: 200_000, rescore: true, pipeline: None };
}

/// What an import did, by line of the file.
#[derive(Debug, Default)]
pub struct ImportSummary {
    /// Totals over every batch (its `rejected` is empty: see `rejected`).
    pub totals: BatchReport,
    /// (line, reason) of the rows that did not go in, in file order.
    pub rejected: Vec<(u64, String)>,
    /// (line, what) of rows that went in with a field left out, or that the file named before.
    pub warnings: Vec<(u64, String)>,
    /// The rescore at the end, if one ran.
    pub rescore: Option<RescoreReport>,
}

impl ImportSummary {
    /// Whether every row went in whole.
    pub fn all_in(&self) -> bool {
        self.rejected.is_empty() && self.warnings.is_empty()
    }
}

impl<S: Store> Engine<S> {
    /// Imports leads (what they change in leads that exist is logged as `origin`'s); `reading`
    /// advances by the bytes read, `rescoring` follows the rescore.
    pub fn import_lead_rows(
        &mut self,
        rows: impl Iterator<Item = ImportRow<LeadInput>>,
        options: ImportOptions,
        origin: &ChangeOrigin,
        reading: &dyn Progress,
        rescoring: &dyn Progress,
    ) -> Result<ImportSummary, EngineError> {
        let pipeline = match &options.pipeline {
            Some(name) => {
                let pipelines = self.active_pipelines()?;
                let found = pipelines.named(name).cloned().ok_or_else(|| EngineError::NoSuchPipeline {
                    name: name.clone(),
                    active: pipelines.all().iter().map(|p| p.name().to_string()).collect(),
                })?;
                Some(found)
            }
            None => None,
        };
        let mut summary =
            in_batches(rows, options.batch, reading, |batch| self.import_leads_into(batch, origin, pipeline.as_ref()))?;
        self.rescore_after(&options, rescoring, &mut summary)?;
        Ok(summary)
    }

    /// Imports events, in bulk transactions (the store indexes them per lead when it suits it).
    pub fn import_event_rows(
        &mut self,
        rows: impl Iterator<Item = ImportRow<EventInput>>,
        options: ImportOptions,
        reading: &dyn Progress,
        rescoring: &dyn Progress,
    ) -> Result<ImportSummary, EngineError> {
        let mut summary = in_batches(rows, options.batch, reading, |batch| self.import_events(std::mem::take(batch)))?;
        self.rescore_after(&options, rescoring, &mut summary)?;
        Ok(summary)
    }

    fn rescore_after(
        &mut self,
        options: &ImportOptions,
        rescoring: &dyn Progress,
        summary: &mut ImportSummary,
    ) -> Result<(), EngineError> {
        if options.rescore {
            let now = self.now();
            summary.rescore = Some(self.rescore(RescoreOptions::needed_now(now), rescoring)?);
        }
        Ok(())
    }
}

/// Feeds the rows to `import` in batches of `batch_size`, and gathers what became of each line.
fn in_batches<T>(
    rows: impl Iterator<Item = ImportRow<T>>,
    batch_size: usize,
    reading: &dyn Progress,
    mut import: impl FnMut(&mut Vec<T>) -> Result<BatchReport, EngineError>,
) -> Result<ImportSummary, EngineError> {
    let mut summary = ImportSummary::default();
    let batch_size = batch_size.max(1);
    let mut batch = Vec::with_capacity(batch_size);
    let mut lines = Vec::with_capacity(batch_size);
    let mut flush = |batch: &mut Vec<T>, lines: &mut Vec<u64>, summary: &mut ImportSummary| {
        let r = import(batch)?;
        let t = &mut summary.totals;
        t.accepted += r.accepted;
        t.duplicates += r.duplicates;
        t.created_leads += r.created_leads;
        t.updated_leads += r.updated_leads;
        summary.rejected.extend(r.rejected.into_iter().map(|(i, reason)| (lines[i], reason)));
        batch.clear();
        lines.clear();
        Ok::<(), EngineError>(())
    };
    let mut read = 0;
    for row in rows {
        reading.advance(row.offset.saturating_sub(read));
        read = read.max(row.offset);
        summary.warnings.extend(row.warnings.into_iter().map(|w| (row.line, w)));
        match row.parsed {
            Ok(item) => {
                batch.push(item);
                lines.push(row.line);
            }
            Err(reason) => summary.rejected.push((row.line, reason)),
        }
        if batch.len() >= batch_size {
            flush(&mut batch, &mut lines, &mut summary)?;
        }
    }
    if !batch.is_empty() {
        flush(&mut batch, &mut lines, &mut summary)?;
    }
    summary.rejected.sort_by_key(|(line, _)| *line);
    Ok(summary)
}
