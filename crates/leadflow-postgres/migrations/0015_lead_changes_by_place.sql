-- Reports read every lead's pipeline and stage changes in lead order, oldest first: this index
-- holds just those (a partial index: no other field's change pays for it), with what a report
-- reads of them included, so a report is an index-only scan in order.
CREATE INDEX lead_changes_by_place ON lead_changes (lead_id, at, id) INCLUDE (field, old, new, reason)
    WHERE field IN ('pipeline', 'pipeline_stage');
