//! Rule files: versions of pipelines, assignment rules and SLA policies, and the active one of
//! each kind and name.

use leadflow_store::{RuleFileKind, RuleFileReads, RuleFileRecord, RuleFileVersion, RuleFileWrites};

use super::*;

const RULE_FILE_COLUMNS: &str =
    "f.version, f.kind, f.name, f.source, f.created_at, f.activated_at, a.version IS NOT NULL";

fn read_rule_file(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<RuleFileRecord, StoreError>> {
    let kind: String = r.get(1)?;
    let Some(kind) = RuleFileKind::parse(&kind) else {
        return Ok(Err(StoreError::Corrupt(format!("rule file kind `{kind}`"))));
    };
    Ok(Ok(RuleFileRecord {
        version: RuleFileVersion(r.get(0)?),
        kind,
        name: r.get(2)?,
        source: r.get(3)?,
        created_at: Timestamp::from_millis(r.get(4)?),
        activated_at: r.get::<_, Option<i64>>(5)?.map(Timestamp::from_millis),
        active: r.get(6)?,
    }))
}

fn rule_files(
    conn: &Connection,
    join: &str,
    order: &str,
    kind: RuleFileKind,
) -> Result<Vec<RuleFileRecord>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {RULE_FILE_COLUMNS} FROM rule_files f {join} active_rule_files a ON a.version = f.version
             WHERE f.kind = ?1 ORDER BY {order}"
        ))
        .map_err(backend)?;
    let rows = stmt.query_map([kind.as_str()], read_rule_file).map_err(backend)?;
    rows.map(|r| r.map_err(backend)?).collect()
}

impl RuleFileReads for SqliteStore {
    fn rule_files(&self, kind: RuleFileKind) -> Result<Vec<RuleFileRecord>, StoreError> {
        rule_files(&self.conn, "LEFT JOIN", "f.version", kind)
    }

    fn active_rule_files(&self, kind: RuleFileKind) -> Result<Vec<RuleFileRecord>, StoreError> {
        rule_files(&self.conn, "JOIN", "f.name", kind)
    }

    fn active_rule_versions(&self) -> Result<Vec<(RuleFileKind, RuleFileVersion)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT kind, version FROM active_rule_files ORDER BY kind, name")
            .map_err(backend)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(backend)?;
        rows.map(|row| {
            let (kind, version) = row.map_err(backend)?;
            let kind =
                RuleFileKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("rule file kind `{kind}`")))?;
            Ok((kind, RuleFileVersion(version)))
        })
        .collect()
    }
}

impl RuleFileWrites for SqliteTx<'_> {
    fn rule_file_now(&mut self, version: RuleFileVersion) -> Result<Option<RuleFileRecord>, StoreError> {
        self.tx
            .query_row(
                &format!(
                    "SELECT {RULE_FILE_COLUMNS} FROM rule_files f LEFT JOIN active_rule_files a ON a.version = f.version
                     WHERE f.version = ?1"
                ),
                [version.0],
                read_rule_file,
            )
            .optional()
            .map_err(backend)?
            .transpose()
    }

    fn save_rule_file(
        &mut self,
        kind: RuleFileKind,
        name: &str,
        source: &str,
        now: Timestamp,
    ) -> Result<RuleFileVersion, StoreError> {
        let existing: Option<i64> = self
            .tx
            .query_row("SELECT version FROM rule_files WHERE kind = ?1 AND source = ?2", [kind.as_str(), source], |r| {
                r.get(0)
            })
            .optional()
            .map_err(backend)?;
        if let Some(v) = existing {
            return Ok(RuleFileVersion(v));
        }
        self.tx
            .execute(
                "INSERT INTO rule_files (kind, name, source, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![kind.as_str(), name, source, now.millis()],
            )
            .map_err(backend)?;
        Ok(RuleFileVersion(self.tx.last_insert_rowid()))
    }

    fn activate_rule_file(&mut self, version: RuleFileVersion, now: Timestamp) -> Result<(), StoreError> {
        let named: Option<(String, String)> = self
            .tx
            .query_row(
                "UPDATE rule_files SET activated_at = ?2 WHERE version = ?1 RETURNING kind, name",
                params![version.0, now.millis()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(backend)?;
        let Some((kind, name)) = named else {
            return Err(StoreError::NoSuchRuleFile(version.0));
        };
        self.tx
            .execute(
                "INSERT INTO active_rule_files (kind, name, version) VALUES (?1, ?2, ?3)
                 ON CONFLICT (kind, name) DO UPDATE SET version = excluded.version",
                params![kind, name, version.0],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn activate_only_rule_file(&mut self, version: RuleFileVersion, now: Timestamp) -> Result<(), StoreError> {
        // SQLite's writers take turns: the transaction's other writes see no one else's.
        self.tx
            .execute(
                "DELETE FROM active_rule_files
                 WHERE kind = (SELECT kind FROM rule_files WHERE version = ?1)
                   AND name <> (SELECT name FROM rule_files WHERE version = ?1)",
                [version.0],
            )
            .map_err(backend)?;
        self.activate_rule_file(version, now)
    }

    fn deactivate_rule_file(&mut self, kind: RuleFileKind, name: &str) -> Result<bool, StoreError> {
        let n = self
            .tx
            .execute("DELETE FROM active_rule_files WHERE kind = ?1 AND name = ?2", [kind.as_str(), name])
            .map_err(backend)?;
        Ok(n > 0)
    }
}
