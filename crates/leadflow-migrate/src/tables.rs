//! Which tables a copy fills, and which it leaves, each with its reason. Every table of either
//! schema is in one of these lists (a test holds the lists to both schemas), so a table added to
//! a backend is a decision here, not data quietly left behind.

/// A table both backends have, copied row for row.
pub struct Table {
    pub name: &'static str,
    /// Aggregates both dialects compute alike (`sum`, `count`, `length`, `CASE WHEN`), compared
    /// between source and target beside the row count: cheap checksums of the ids, the keys and
    /// the converted columns (booleans, blobs). Never a sum of timestamps, which can overflow.
    pub checks: &'static [&'static str],
}

/// Copied in this order: a row comes after what it references (PostgreSQL enforces
/// `webhook_deliveries.webhook_id`).
pub const COPIED: &[Table] = &[
    Table {
        name: "leads",
        checks: &[
            "sum(id)",
            "count(email)",
            "count(external_id)",
            "count(mql_at)",
            "count(pipeline_stage)",
            "sum(recycles)",
        ],
    },
    Table {
        name: "lead_identities",
        checks: &["sum(lead_id)", "sum(length(kind) + length(value))", "count(DISTINCT kind)"],
    },
    Table { name: "event_shapes", checks: &["sum(id)", "sum(length(properties))"] },
    Table { name: "shape_keys", checks: &["sum(length(name))"] },
    Table { name: "event_properties", checks: &["sum(length(type) + length(name))"] },
    Table { name: "events", checks: &["sum(seq)", "count(DISTINCT key)", "sum(lead_id)", "count(extra)"] },
    Table {
        name: "scores",
        checks: &[
            "sum(lead_id)",
            "count(total)",
            "count(CASE WHEN stale THEN 1 END)",
            "count(state)",
            "sum(length(state))",
        ],
    },
    Table { name: "score_history", checks: &["sum(id)", "sum(lead_id)", "count(CASE WHEN became_mql THEN 1 END)"] },
    Table { name: "models", checks: &["sum(version)", "sum(length(source))", "count(activated_at)"] },
    Table { name: "rule_files", checks: &["sum(version)", "sum(length(source))", "count(activated_at)"] },
    Table { name: "active_rule_files", checks: &["sum(version)", "sum(length(kind) + length(name))"] },
    Table {
        name: "users",
        checks: &["sum(length(name))", "count(away_until)", "count(capacity)", "count(team)", "count(signature)"],
    },
    Table { name: "assignment_cursors", checks: &["sum(length(rule) + length(last_user))", "sum(position)"] },
    Table {
        name: "tasks",
        checks: &["sum(id)", "sum(lead_id)", "count(owner)", "count(outcome)", "sum(length(title))"],
    },
    Table {
        name: "sla_clocks",
        checks: &["sum(id)", "sum(lead_id)", "count(owner)", "count(met_at)", "sum(length(rule_id))", "count(due_at)"],
    },
    Table {
        name: "enrollments",
        checks: &["sum(id)", "sum(lead_id)", "count(step)", "count(exited_at)", "sum(length(sequence))", "sum(runs)"],
    },
    Table {
        name: "email_sends",
        checks: &["sum(id)", "sum(enrollment_id)", "sum(run)", "count(message_id)", "sum(length(status))"],
    },
    Table { name: "do_not_contact", checks: &["sum(id)", "sum(length(address) + length(reason))", "count(note)"] },
    Table { name: "settings", checks: &["sum(length(key) + length(value))"] },
    Table { name: "api_keys", checks: &["sum(id)", "count(DISTINCT hash)", "count(revoked_at)"] },
    Table { name: "webhooks", checks: &["sum(id)", "count(deleted_at)"] },
    Table { name: "webhook_deliveries", checks: &["sum(id)", "sum(webhook_id)", "count(last_status)"] },
    Table { name: "visitors", checks: &["count(DISTINCT visitor_id)", "sum(lead_id)"] },
    Table { name: "visitor_events", checks: &["count(DISTINCT key)", "sum(shape_id)"] },
    Table { name: "outcomes", checks: &["sum(lead_id)"] },
    Table {
        name: "lead_changes",
        checks: &["sum(id)", "sum(lead_id)", "count(old)", "count(new)", "sum(length(field))", "count(reason)"],
    },
    Table {
        name: "trained_models",
        checks: &["sum(version)", "sum(length(artifact))", "count(CASE WHEN active THEN 1 END)"],
    },
    Table { name: "predictions", checks: &["sum(lead_id)", "sum(version)"] },
    Table { name: "public_quota", checks: &["sum(lead_id)", "sum(used)"] },
    // The job queue: scheduled rescores and sweeps, pending and recently finished.
    Table { name: "jobs", checks: &["sum(id)", "count(DISTINCT kind || ' ' || key)"] },
];

/// The embedded store's own tables, which PostgreSQL has no use for. (SQLite's internal
/// `sqlite_*` tables are not leadflow's; `sqlite_sequence` is read for the lead ids, see
/// `lib.rs`.)
pub const ONLY_IN_SOURCE: &[(&str, &str)] = &[
    ("activity", "SQLite's per-lead blob of (ts, shape, seq): PostgreSQL reads events from an index instead"),
    (
        "activity_tail",
        "events a running import has not yet folded into the blobs: a copy refuses to start while there are any",
    ),
];

/// PostgreSQL's own bookkeeping, which its migrations keep.
pub const ONLY_IN_TARGET: &[(&str, &str)] =
    &[("schema_migrations", "the target's schema version, written by its own migrations before the copy")];

pub fn copied(name: &str) -> Option<&'static Table> {
    COPIED.iter().find(|t| t.name == name)
}

pub fn only_in(list: &[(&str, &str)], name: &str) -> bool {
    list.iter().any(|(t, _)| *t == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of either schema that no list names fails here, with what to do about it.
    #[test]
    fn every_table_of_both_schemas_is_copied_or_left_with_a_reason() {
        let schema = leadflow_postgres::testing::Schema::create();
        let mut pg = leadflow_postgres::raw::connect_migrated(&schema.url()).unwrap();
        let target: Vec<String> = pg
            .query(
                "SELECT table_name FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'
                 ORDER BY 1",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(target.iter().any(|t| t == "leads"), "the test reads the migrated schema: {target:?}");
        let forgotten: Vec<&String> =
            target.iter().filter(|t| copied(t).is_none() && !only_in(ONLY_IN_TARGET, t)).collect();
        assert!(
            forgotten.is_empty(),
            "PostgreSQL tables neither copied nor left with a reason: {forgotten:?}; add each to COPIED \
             (with checks) or to ONLY_IN_TARGET (with why) in crates/leadflow-migrate/src/tables.rs"
        );

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("source.db");
        drop(leadflow_sqlite::SqliteStore::open(&file).unwrap());
        let sqlite = rusqlite::Connection::open(&file).unwrap();
        let mut stmt = sqlite
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
            .unwrap();
        let source: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
        assert!(source.iter().any(|t| t == "leads"), "the test reads the migrated schema: {source:?}");
        let forgotten: Vec<&String> =
            source.iter().filter(|t| copied(t).is_none() && !only_in(ONLY_IN_SOURCE, t)).collect();
        assert!(
            forgotten.is_empty(),
            "SQLite tables neither copied nor left with a reason: {forgotten:?}; add each to COPIED \
             (with checks) or to ONLY_IN_SOURCE (with why) in crates/leadflow-migrate/src/tables.rs"
        );
    }
}
