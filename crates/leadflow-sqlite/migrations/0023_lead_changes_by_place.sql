-- Reports read every lead's pipeline and stage changes in lead order, oldest first: this index
-- holds just those (a partial index: no other field's change pays for it) with everything a
-- report reads of them, so a report scans it alone, in order, never the table.
CREATE INDEX lead_changes_by_place ON lead_changes (lead_id, at, id, field, old, new, reason)
    WHERE field IN ('pipeline', 'pipeline_stage');
