//! Reading a stage history: one row per change of a lead's stage, as CRMs export it. Salesforce's
//! lead history (`LeadId, CreatedDate, Field, OldValue, NewValue`), HubSpot's property history
//! (`Record ID, Property, Value, Timestamp`: the new value only) and plain files (`lead_id, at,
//! from_stage, to_stage, reason`) are read by their headers; a field history's rows of other
//! fields (and Salesforce's `created` rows) are passed over.
//!
//! Stage values become the pipeline's stage ids here, so that the engine only sees stages that
//! exist: by the mapping's `[pipeline_stages]`, then a stage whose id or name is the value
//! (ignoring case, spaces and punctuation: `Closed - Won` is `closed_won`), then by what the
//! value means: `Closed Won` a won stage, `Closed Lost` a lost one, a lifecycle stage's name
//! (`Marketing Qualified Lead`, `salesqualifiedlead`, Salesforce's lead statuses, see
//! [`DEFAULT_STAGES`](crate::DEFAULT_STAGES)) the pipeline's first stage with that lifecycle.

use std::cell::RefCell;
use std::io::{Read, Seek};

use leadflow_core::{ExternalId, Identity, LeadId, LeadRef, Pipeline, StageKind};
use leadflow_engine::{ChangeInput, HistoryRow};

use crate::mapping::{ChangeTarget, stage_key};
use crate::values::{self, DateOrder};
use crate::{ColumnMapping, Format, Import, ImportError, MappingError, ReadOptions, columns, email_of};

/// Reads a stage history of `pipeline`'s leads (CSV).
pub fn read_changes<R: Read + Seek + 'static>(
    input: R,
    format: Format,
    pipeline: &Pipeline,
    mapping: &ColumnMapping,
    options: &ReadOptions,
) -> Result<Import<HistoryRow>, ImportError> {
    if format != Format::Csv {
        return Err(ImportError::Header { line: 1, message: "a stage history is read from CSV".into() });
    }
    if let Some(missing) = mapping.pipeline_stage_targets().find(|id| pipeline.stage(id).is_none()) {
        return Err(MappingError::File(format!(
            "pipeline_stages: `{missing}` is not a stage of pipeline `{}` (its stages: {})",
            pipeline.name(),
            stage_list(pipeline)
        ))
        .into());
    }
    let (targets, file, csv) = columns::plan_changes(input, mapping, options)?;
    let stages = StageReading {
        pipeline: pipeline.clone(),
        mapping: mapping.clone(),
        date_order: file.date_order,
        stage_field: RefCell::new(None),
    };
    let rows = csv.rows(move |rec| stages.row(targets.iter().zip(rec.iter())));
    Ok(Import { file, rows: Box::new(rows) })
}

fn stage_list(pipeline: &Pipeline) -> String {
    pipeline.stages().iter().map(|s| format!("`{}`", s.id())).collect::<Vec<_>>().join(", ")
}

struct StageReading {
    pipeline: Pipeline,
    mapping: ColumnMapping,
    date_order: Option<DateOrder>,
    /// The stage field of a field history, once a row names one: as written, normalized, and
    /// whether a row of another stage field was warned of.
    stage_field: RefCell<Option<(String, String, bool)>>,
}

impl StageReading {
    fn row<'a>(
        &self,
        cells: impl Iterator<Item = (&'a ChangeTarget, &'a str)>,
    ) -> (Result<HistoryRow, String>, Vec<String>) {
        let mut warnings = Vec::new();
        let parsed = self.parse(cells, &mut warnings);
        (parsed, warnings)
    }

    fn parse<'a>(
        &self,
        cells: impl Iterator<Item = (&'a ChangeTarget, &'a str)>,
        warnings: &mut Vec<String>,
    ) -> Result<HistoryRow, String> {
        let (mut lead_id, mut external_id, mut email, mut identity) = (None, None, None, None);
        let (mut at, mut from, mut to, mut reason, mut field) = (None, None, None, None, None);
        for (target, value) in cells {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match target {
                ChangeTarget::LeadId => {
                    lead_id =
                        Some(LeadId(value.parse().map_err(|_| format!("lead_id: `{value}` is not a whole number"))?))
                }
                ChangeTarget::ExternalId => {
                    external_id = Some(ExternalId::parse(value).map_err(|e| format!("external_id: {e}"))?)
                }
                ChangeTarget::Email => email = Some(email_of(value).map_err(|e| format!("email: {e}"))?),
                ChangeTarget::Identity => {
                    identity = Some(Identity::parse(value).map_err(|e| format!("identity: {e}"))?)
                }
                ChangeTarget::At => {
                    at = Some(values::parse_date(value, self.date_order).map_err(|e| format!("at: {e}"))?)
                }
                ChangeTarget::From => from = Some(value),
                ChangeTarget::To => to = Some(value),
                ChangeTarget::Reason => reason = Some(value.to_string()),
                ChangeTarget::Field => field = Some(value),
                ChangeTarget::Ignore => {}
            }
        }
        if let Some(field) = field {
            if !self.mapping.is_stage_field(field) {
                return Ok(HistoryRow::OtherField(field.to_string()));
            }
            // A file's stage is one field: HubSpot's `lifecyclestage` and `hs_lead_status`
            // interleaved would look like a lead going back and forth between them.
            let key = stage_key(field);
            let mut chosen = self.stage_field.borrow_mut();
            let first = chosen.get_or_insert_with(|| (field.to_string(), key.clone(), false));
            if first.1 != key {
                if !first.2 {
                    warnings.push(format!(
                        "field `{field}`: the file's stage is `{}`, the first stage field its rows name; rows of `{field}` are passed over (say which with the mapping's stage_fields)",
                        first.0
                    ));
                    first.2 = true;
                }
                return Ok(HistoryRow::OtherField(field.to_string()));
            }
        }
        let lead = match (lead_id, identity, external_id, email) {
            (Some(id), ..) => LeadRef::Id(id),
            (None, Some(i), ..) => LeadRef::from(i),
            (None, None, Some(x), _) => LeadRef::External(x),
            (None, None, None, Some(e)) => LeadRef::Email(e),
            (None, None, None, None) => return Err("no lead: give lead_id, external_id, email or identity".into()),
        };
        let at = at.ok_or("at: no time of the change")?;
        let to = to.ok_or("to: no stage the lead moved to")?;
        let to = self.stage_id(to).ok_or_else(|| self.unknown(to))?;
        let from = from.and_then(|f| {
            let id = self.stage_id(f);
            if id.is_none() {
                warnings.push(format!("from: `{f}` is not a stage of pipeline `{}`: left out", self.pipeline.name()));
            }
            id
        });
        Ok(HistoryRow::Change(ChangeInput { lead, at, from, to, reason }))
    }

    fn unknown(&self, value: &str) -> String {
        format!(
            "to: `{value}` is not a stage of pipeline `{}` (its stages: {}; map the value in a mapping file's [pipeline_stages])",
            self.pipeline.name(),
            stage_list(&self.pipeline)
        )
    }

    /// The pipeline's stage a CRM's value stands for.
    fn stage_id(&self, value: &str) -> Option<String> {
        if let Some(id) = self.mapping.pipeline_stage(value) {
            return Some(id.to_string());
        }
        let stages = self.pipeline.stages();
        let key = stage_key(value);
        if let Some(stage) = stages.iter().find(|s| stage_key(s.id()) == key || stage_key(s.name()) == key) {
            return Some(stage.id().to_string());
        }
        let kind = match key.as_str() {
            "closedwon" | "won" => Some(StageKind::Won),
            "closedlost" | "lost" => Some(StageKind::Lost),
            _ => None,
        };
        let stage = match (kind, self.mapping.stage(value)) {
            (Some(kind), _) => stages.iter().find(|s| s.kind() == kind),
            (None, Some(lifecycle)) => stages.iter().find(|s| s.lifecycle() == Some(lifecycle)),
            (None, None) => None,
        };
        stage.map(|s| s.id().to_string())
    }
}

#[cfg(test)]
mod tests {
    use leadflow_core::Timestamp;

    use super::*;

    const INBOUND: &str = include_str!("../../../examples/pipeline-inbound-b2b.toml");

    fn rows(csv: &str, mapping: &str) -> Vec<(u64, Result<HistoryRow, String>, Vec<String>)> {
        let pipeline = Pipeline::parse(INBOUND).unwrap();
        let mapping = ColumnMapping::parse(mapping).unwrap();
        let import = read_changes(
            std::io::Cursor::new(csv.to_string()),
            Format::Csv,
            &pipeline,
            &mapping,
            &ReadOptions::default(),
        )
        .unwrap();
        import.rows.map(|r| (r.line, r.parsed, r.warnings)).collect()
    }

    fn change(lead: LeadRef, at: &str, from: Option<&str>, to: &str) -> Result<HistoryRow, String> {
        Ok(HistoryRow::Change(ChangeInput {
            lead,
            at: Timestamp::parse(at).unwrap(),
            from: from.map(String::from),
            to: to.into(),
            reason: None,
        }))
    }

    #[test]
    fn salesforce_lead_history_reads_its_status_rows_and_passes_over_the_rest() {
        let csv = "Id,LeadId,CreatedDate,Field,OldValue,NewValue,CreatedById\n\
                   0175g01,00Q5g00000AbCdEAAV,2025-07-17T07:49:16.000+0000,created,,,0055g\n\
                   0175g02,00Q5g00000AbCdEAAV,2025-07-18T09:00:00.000+0000,Status,Open - Not Contacted,Working - Contacted,0055g\n\
                   0175g03,00Q5g00000AbCdEAAV,2025-07-18T09:00:00.000+0000,Company,Acme,Acme Corp,0055g\n\
                   0175g04,00Q5g00000AbCdEAAV,2025-07-20T10:00:00.000+0200,Status,Working - Contacted,Closed - Converted,0055g\n\
                   0175g05,00Q5g00000AbCdEAAV,2025-07-21T10:00:00.000+0000,Status,Closed - Converted,Gone Fishing,0055g\n";
        let mapping = "[pipeline_stages]\n\"Open - Not Contacted\" = \"new\"\n\"Working - Contacted\" = \"working\"\n";
        let got = rows(csv, mapping);
        let lead = || LeadRef::External(ExternalId::parse("00Q5g00000AbCdEAAV").unwrap());
        assert_eq!(got[0], (2, Ok(HistoryRow::OtherField("created".into())), vec![]));
        assert_eq!(got[1], (3, change(lead(), "2025-07-18T09:00:00Z", Some("new"), "working"), vec![]));
        assert_eq!(got[2].1, Ok(HistoryRow::OtherField("Company".into())));
        // Converted: the stage whose lifecycle is an opportunity's.
        assert_eq!(got[3].1, change(lead(), "2025-07-20T08:00:00Z", Some("working"), "meeting"));
        let (line, refused, _) = &got[4];
        assert_eq!(*line, 6);
        let refused = refused.as_ref().unwrap_err();
        assert!(refused.contains("`Gone Fishing` is not a stage of pipeline `inbound-b2b`"), "{refused}");
        assert!(refused.contains("[pipeline_stages]"), "{refused}");
    }

    #[test]
    fn hubspot_property_history_gives_new_values_only() {
        let csv = "Record ID,Property,Value,Timestamp,Source\n\
                   901,lifecyclestage,marketingqualifiedlead,2026-01-05T10:00:00Z,FORM\n\
                   901,lifecyclestage,opportunity,2026-01-07T10:00:00Z,CRM_UI\n\
                   901,hs_lead_status,OPEN_DEAL,2026-01-07T10:00:00Z,CRM_UI\n\
                   901,lifecyclestage,customer,2026-02-01T10:00:00Z,CRM_UI\n\
                   901,firstname,Ana,2026-02-01T10:00:00Z,CRM_UI\n\
                   901,hs_lead_status,CONNECTED,2026-02-01T10:00:00Z,CRM_UI\n";
        let got = rows(csv, "");
        let lead = || LeadRef::External(ExternalId::parse("901").unwrap());
        let stages: Vec<&Result<HistoryRow, String>> = got.iter().map(|(_, parsed, _)| parsed).collect();
        assert_eq!(
            stages,
            [
                &change(lead(), "2026-01-05T10:00:00Z", None, "new"),
                &change(lead(), "2026-01-07T10:00:00Z", None, "meeting"),
                &Ok(HistoryRow::OtherField("hs_lead_status".into())),
                &change(lead(), "2026-02-01T10:00:00Z", None, "won"),
                &Ok(HistoryRow::OtherField("firstname".into())),
                &Ok(HistoryRow::OtherField("hs_lead_status".into())),
            ]
        );
        // The file's stage is the first stage field its rows name; the other is passed over,
        // said once.
        assert!(got[2].2[0].contains("the file's stage is `lifecyclestage`"), "{:?}", got[2].2);
        assert!(got[5].2.is_empty());
        // Or the one the mapping names.
        let got = rows(csv, "stage_fields = [\"hs_lead_status\"]\n");
        assert_eq!(got[2].1, change(lead(), "2026-01-07T10:00:00Z", None, "meeting"));
        assert_eq!(got[0].1, Ok(HistoryRow::OtherField("lifecyclestage".into())));
    }

    #[test]
    fn a_plain_history_names_stages_by_id_or_name_and_warns_of_an_unknown_from() {
        let csv = "lead_id,at,from_stage,to_stage,reason\n\
                   7,2026-01-05,new,Meeting booked,\n\
                   7,2026-01-09,somewhere,lost,no budget\n\
                   x,2026-01-09,new,lost,\n\
                   8,,new,lost,\n";
        let got = rows(csv, "");
        assert_eq!(got[0].1, change(LeadRef::Id(LeadId(7)), "2026-01-05", Some("new"), "meeting"));
        let lost = ChangeInput {
            lead: LeadRef::Id(LeadId(7)),
            at: Timestamp::parse("2026-01-09").unwrap(),
            from: None,
            to: "lost".into(),
            reason: Some("no budget".into()),
        };
        assert_eq!(got[1].1, Ok(HistoryRow::Change(lost)));
        assert!(got[1].2[0].contains("`somewhere` is not a stage"), "{:?}", got[1].2);
        assert!(got[2].1.as_ref().unwrap_err().contains("lead_id: `x`"), "{:?}", got[2]);
        assert!(got[3].1.as_ref().unwrap_err().contains("no time"), "{:?}", got[3]);
    }

    #[test]
    fn a_file_without_its_columns_or_a_mapping_onto_no_stage_is_refused_whole() {
        let pipeline = Pipeline::parse(INBOUND).unwrap();
        let read = |csv: &str, mapping: &str| {
            let mapping = ColumnMapping::parse(mapping).unwrap();
            let input = std::io::Cursor::new(csv.to_string());
            read_changes(input, Format::Csv, &pipeline, &mapping, &ReadOptions::default()).err().unwrap().to_string()
        };
        assert!(read("lead_id,at,from_stage\n", "").contains("the stage the lead moved to"));
        assert!(read("at,to_stage\n", "").contains("no column naming the lead"));
        let error = read("lead_id,at,to_stage\n", "[pipeline_stages]\nWarm = \"warm\"\n");
        assert!(error.contains("`warm` is not a stage of pipeline `inbound-b2b`"), "{error}");
    }
}
