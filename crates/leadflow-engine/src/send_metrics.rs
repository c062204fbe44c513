//! What nurture emails did, counted: per step, variant and template of each sequence, per
//! sequence, and per template across sequences (each lead that qualified or was won after
//! counted once per figure).

use leadflow_store::prelude::*;
use leadflow_store::{SendCounts, SendGrouping};

use crate::{Engine, EngineError};

/// One sequence's figures: in all, and per step (each variant and template apart).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SequenceFigures {
    pub total: SendCounts,
    pub steps: Vec<SendCounts>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendMetrics {
    pub sequences: Vec<SequenceFigures>,
    /// Each template over every sequence that sends it.
    pub templates: Vec<SendCounts>,
}

impl<S: Store> Engine<S> {
    /// The figures of one sequence, or of all.
    pub fn send_metrics(&self, sequence: Option<&str>) -> Result<SendMetrics, EngineError> {
        let mut steps = self.store.send_counts(sequence, SendGrouping::Step)?;
        let sequences = self
            .store
            .send_counts(sequence, SendGrouping::Sequence)?
            .into_iter()
            .map(|total| {
                let mine = steps.iter().take_while(|s| s.sequence == total.sequence).count();
                SequenceFigures { steps: steps.drain(..mine).collect(), total }
            })
            .collect();
        let templates = self.store.send_counts(sequence, SendGrouping::Template)?;
        Ok(SendMetrics { sequences, templates })
    }
}
