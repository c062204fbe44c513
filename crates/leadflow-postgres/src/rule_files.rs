//! Rule files: versions of pipelines, assignment rules and SLA policies, and the active one of
//! each kind and name.

use leadflow_core::Timestamp;
use leadflow_store::{RuleFileKind, RuleFileReads, RuleFileRecord, RuleFileVersion, RuleFileWrites, StoreError};
use postgres::Row;

use crate::sql::Sql;
use crate::{PgStore, PgTx, backend, corrupt};

const RULE_FILE_COLUMNS: &str =
    "f.version, f.kind, f.name, f.source, f.created_at, f.activated_at, a.version IS NOT NULL";

fn read_rule_file(r: &Row) -> Result<RuleFileRecord, StoreError> {
    let kind: String = r.get(1);
    Ok(RuleFileRecord {
        version: RuleFileVersion(r.get(0)),
        kind: RuleFileKind::parse(&kind).ok_or_else(|| corrupt(format!("rule file kind `{kind}`")))?,
        name: r.get(2),
        source: r.get(3),
        created_at: Timestamp::from_millis(r.get(4)),
        activated_at: r.get::<_, Option<i64>>(5).map(Timestamp::from_millis),
        active: r.get(6),
    })
}

impl PgStore {
    fn rule_files_joined(
        &self,
        join: &str,
        order: &str,
        kind: RuleFileKind,
    ) -> Result<Vec<RuleFileRecord>, StoreError> {
        let rows = self
            .conn()
            .query(
                &format!(
                    "SELECT {RULE_FILE_COLUMNS} FROM rule_files f {join} active_rule_files a ON a.version = f.version
                     WHERE f.kind = $1 ORDER BY {order}"
                ),
                &[&kind.as_str()],
            )
            .map_err(backend)?;
        rows.iter().map(read_rule_file).collect()
    }
}

impl RuleFileReads for PgStore {
    fn rule_files(&self, kind: RuleFileKind) -> Result<Vec<RuleFileRecord>, StoreError> {
        self.rule_files_joined("LEFT JOIN", "f.version", kind)
    }

    fn active_rule_files(&self, kind: RuleFileKind) -> Result<Vec<RuleFileRecord>, StoreError> {
        self.rule_files_joined("JOIN", "f.name", kind)
    }

    fn active_rule_versions(&self) -> Result<Vec<(RuleFileKind, RuleFileVersion)>, StoreError> {
        let rows = self
            .conn()
            .query("SELECT kind, version FROM active_rule_files ORDER BY kind COLLATE \"C\", name COLLATE \"C\"", &[])
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let kind: String = r.get(0);
                let kind = RuleFileKind::parse(&kind).ok_or_else(|| corrupt(format!("rule file kind `{kind}`")))?;
                Ok((kind, RuleFileVersion(r.get(1))))
            })
            .collect()
    }
}

impl RuleFileWrites for PgTx<'_> {
    fn rule_file_now(&mut self, version: RuleFileVersion) -> Result<Option<RuleFileRecord>, StoreError> {
        let row = self
            .tx
            .query_opt(
                &format!(
                    "SELECT {RULE_FILE_COLUMNS} FROM rule_files f LEFT JOIN active_rule_files a ON a.version = f.version
                     WHERE f.version = $1"
                ),
                &[&version.0],
            )
            .map_err(backend)?;
        row.as_ref().map(read_rule_file).transpose()
    }

    fn save_rule_file(
        &mut self,
        kind: RuleFileKind,
        name: &str,
        source: &str,
        now: Timestamp,
    ) -> Result<RuleFileVersion, StoreError> {
        // Two servers saving the same file at once: the digest's unique index keeps one.
        let inserted = self
            .tx
            .query_opt(
                "INSERT INTO rule_files (kind, name, source, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (kind, md5(source)) DO NOTHING RETURNING version",
                &[&kind.as_str(), &name, &source, &now.millis()],
            )
            .map_err(backend)?;
        let row = match inserted {
            Some(row) => row,
            None => self
                .tx
                .query_one(
                    "SELECT version FROM rule_files WHERE kind = $1 AND md5(source) = md5($2) AND source = $2",
                    &[&kind.as_str(), &source],
                )
                .map_err(backend)?,
        };
        Ok(RuleFileVersion(row.get(0)))
    }

    fn activate_rule_file(&mut self, version: RuleFileVersion, now: Timestamp) -> Result<(), StoreError> {
        let row = self
            .tx
            .query_opt(
                "UPDATE rule_files SET activated_at = $2 WHERE version = $1 RETURNING kind, name",
                &[&version.0, &now.millis()],
            )
            .map_err(backend)?;
        let Some(row) = row else {
            return Err(StoreError::NoSuchRuleFile(version.0));
        };
        let (kind, name): (String, String) = (row.get(0), row.get(1));
        self.tx
            .execute(
                "INSERT INTO active_rule_files (kind, name, version) VALUES ($1, $2, $3)
                 ON CONFLICT (kind, name) DO UPDATE SET version = excluded.version",
                &[&kind, &name, &version.0],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn activate_only_rule_file(&mut self, version: RuleFileVersion, now: Timestamp) -> Result<(), StoreError> {
        let row = self
            .tx
            .query_opt("SELECT kind, name FROM rule_files WHERE version = $1", &[&version.0])
            .map_err(backend)?;
        let Some(row) = row else {
            return Err(StoreError::NoSuchRuleFile(version.0));
        };
        let (kind, name): (String, String) = (row.get(0), row.get(1));
        // Activations of one kind take turns, so that the second sees (and deactivates) the
        // first's: two at once leave one active.
        self.tx
            .execute("SELECT pg_advisory_xact_lock(hashtext('leadflow rule files ' || $1))", &[&kind])
            .map_err(backend)?;
        self.tx
            .execute("DELETE FROM active_rule_files WHERE kind = $1 AND name <> $2", &[&kind, &name])
            .map_err(backend)?;
        self.activate_rule_file(version, now)
    }

    fn deactivate_rule_file(&mut self, kind: RuleFileKind, name: &str) -> Result<bool, StoreError> {
        let n = self
            .tx
            .execute("DELETE FROM active_rule_files WHERE kind = $1 AND name = $2", &[&kind.as_str(), &name])
            .map_err(backend)?;
        Ok(n > 0)
    }
}
