//! Leads: profiles, their keys, and the one score row each has.

use super::*;

impl LeadReads for SqliteStore {
    fn lead(&self, lead: &LeadRef) -> Result<Option<LeadRecord>, StoreError> {
        lead_by_ref(&self.conn, lead)
    }

    fn list_leads(&self, q: &LeadQuery) -> Result<Vec<LeadRecord>, StoreError> {
        let mut conds: Vec<&str> = Vec::new();
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        if let Some(b) = &q.bucket {
            conds.push("s.bucket = ?");
            args.push(Box::new(b.clone()));
        }
        if let Some(g) = q.grade {
            conds.push("s.grade = ?");
            args.push(Box::new(g.letter()));
        }
        if let Some(st) = q.stage {
            conds.push("l.stage = ?");
            args.push(Box::new(st.name()));
        }
        if let Some(o) = &q.owner {
            conds.push("l.owner = ?");
            args.push(Box::new(o.clone()));
        }
        if let Some(m) = q.min_total {
            conds.push("s.total >= ?");
            args.push(Box::new(m));
        }
        if let Some(m) = q.max_total {
            conds.push("s.total <= ?");
            args.push(Box::new(m));
        }
        if q.mql_only {
            conds.push("l.mql_at IS NOT NULL");
        }
        for (bound, sql) in [
            (q.created_from, "l.created_at >= ?"),
            (q.created_until, "l.created_at < ?"),
            (q.updated_from, "l.updated_at >= ?"),
            (q.updated_until, "l.updated_at < ?"),
        ] {
            if let Some(t) = bound {
                conds.push(sql);
                args.push(Box::new(t.millis()));
            }
        }
        for word in q.text.iter().flat_map(|t| t.split_whitespace()) {
            // LIKE ignores ASCII case; the email is stored lower-cased. Any identity of the lead
            // counts (its other emails, its ids in other systems, its phones).
            conds.push(
                "(l.email LIKE ? ESCAPE '\\' OR l.external_id LIKE ? ESCAPE '\\' OR l.first_name LIKE ? ESCAPE '\\'
                  OR l.last_name LIKE ? ESCAPE '\\' OR l.company LIKE ? ESCAPE '\\'
                  OR l.id IN (SELECT lead_id FROM lead_identities WHERE value LIKE ? ESCAPE '\\'))",
            );
            let escaped = word.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let pattern = format!("%{escaped}%");
            for _ in 0..6 {
                args.push(Box::new(pattern.clone()));
            }
        }
        if let Some(cursor) = &q.after {
            use rusqlite::types::Value;
            // After the cursor: a lower (or higher) key, or the same key and a later id. Unscored
            // leads come last in both score orders, by id.
            let past = match (q.order, &cursor.key) {
                (LeadOrder::ScoreDesc | LeadOrder::ScoreAsc, SortKey::Total(None)) => None,
                (LeadOrder::ScoreDesc, SortKey::Total(Some(total))) => {
                    Some(("(s.total < ? OR (s.total = ? AND l.id > ?) OR s.total IS NULL)", Value::Real(*total)))
                }
                (LeadOrder::ScoreAsc, SortKey::Total(Some(total))) => {
                    Some(("(s.total > ? OR (s.total = ? AND l.id > ?) OR s.total IS NULL)", Value::Real(*total)))
                }
                (LeadOrder::Newest, SortKey::Time(t)) => {
                    Some(("(l.created_at < ? OR (l.created_at = ? AND l.id < ?))", Value::Integer(t.millis())))
                }
                (LeadOrder::RecentlyUpdated, SortKey::Time(t)) => {
                    Some(("(l.updated_at < ? OR (l.updated_at = ? AND l.id < ?))", Value::Integer(t.millis())))
                }
                (order, key) => {
                    return Err(StoreError::InvalidQuery(format!("a {key:?} cursor for the {order:?} order")));
                }
            };
            let id = Box::new(cursor.id.0);
            match past {
                None => {
                    conds.push("(s.total IS NULL AND l.id > ?)");
                    args.push(id);
                }
                Some((sql, key)) => {
                    conds.push(sql);
                    args.extend([Box::new(key.clone()) as Box<dyn rusqlite::ToSql>, Box::new(key), id]);
                }
            }
        }
        let where_sql = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
        let order = match q.order {
            LeadOrder::ScoreDesc => "s.total IS NULL, s.total DESC, l.id",
            LeadOrder::ScoreAsc => "s.total IS NULL, s.total ASC, l.id",
            LeadOrder::Newest => "l.created_at DESC, l.id DESC",
            LeadOrder::RecentlyUpdated => "l.updated_at DESC, l.id DESC",
        };
        let sql = format!(
            "SELECT {LEAD_COLUMNS} FROM scores s JOIN leads l ON l.id = s.lead_id {where_sql} ORDER BY {order} LIMIT ? OFFSET ?"
        );
        args.push(Box::new(q.limit as i64));
        args.push(Box::new(q.offset as i64));
        let mut stmt = self.conn.prepare(&sql).map_err(backend)?;
        let rows = stmt.query_map(params_from_iter(args.iter()), read_lead).map_err(backend)?;
        rows.map(|r| r.map_err(backend)?).collect()
    }

    fn custom_field_names(&self) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT j.key FROM leads, json_each(leads.custom) j WHERE leads.custom <> '{}'")
            .map_err(backend)?;
        let names = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(backend)?;
        names.collect::<Result<_, _>>().map_err(backend)
    }
}

impl LeadWrites for SqliteTx<'_> {
    fn lead(&mut self, lead: &LeadRef) -> Result<Option<LeadRecord>, StoreError> {
        lead_by_ref(&self.tx, lead)
    }

    fn resolve_lead(&mut self, lead: &LeadRef) -> Result<Option<LeadId>, StoreError> {
        match lead.identity() {
            Some(identity) => identities::lead_with(&self.tx, identity.kind(), identity.value()),
            None => self
                .tx
                .prepare_cached("SELECT id FROM leads WHERE id = ?1")
                .and_then(|mut s| s.query_row([lead_id_of(lead)], |r| r.get(0)).optional())
                .map(|id| id.map(LeadId))
                .map_err(backend),
        }
    }

    fn insert_lead(
        &mut self,
        id: Option<LeadId>,
        p: &Profile,
        created_at: Timestamp,
        now: Timestamp,
    ) -> Result<LeadId, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            let placeholders: Vec<String> = (2..PROFILE_COLUMNS.len() + 2).map(|i| format!("?{i}")).collect();
            format!(
                "INSERT INTO leads (id, {}, created_at, updated_at) VALUES (?1, {}, ?{}, ?{})",
                PROFILE_COLUMNS.join(", "),
                placeholders.join(", "),
                PROFILE_COLUMNS.len() + 2,
                PROFILE_COLUMNS.len() + 3
            )
        });
        let custom = encode_custom(p);
        let (lead_id, created, updated) = (id.map(|i| i.0), created_at.millis(), now.millis());
        let profile = profile_values(p, &custom);
        let mut values: Vec<&dyn rusqlite::ToSql> = vec![&lead_id];
        values.extend(profile.iter().map(|v| v as &dyn rusqlite::ToSql));
        values.extend([&created as &dyn rusqlite::ToSql, &updated]);
        let result = self.tx.prepare_cached(&SQL).map_err(backend)?.execute(params_from_iter(values));
        if let Err(e) = result {
            return Err(match constraint_column(&e) {
                Some("leads.id") => StoreError::DuplicateId(id.unwrap_or(LeadId(0))),
                _ => backend(e),
            });
        }
        let id = LeadId(self.tx.last_insert_rowid());
        identities::take_new_leads_keys(&self.tx, id, p, now)?;
        self.tx
            .prepare_cached("INSERT INTO scores (lead_id) VALUES (?1)")
            .map_err(backend)?
            .execute([id.0])
            .map_err(backend)?;
        Ok(id)
    }

    fn update_profile(&mut self, id: LeadId, p: &Profile, now: Timestamp) -> Result<(), StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            let sets: Vec<String> =
                PROFILE_COLUMNS.iter().enumerate().map(|(i, c)| format!("{c} = ?{}", i + 2)).collect();
            format!("UPDATE leads SET {}, updated_at = ?{} WHERE id = ?1", sets.join(", "), PROFILE_COLUMNS.len() + 2)
        });
        let stored: Option<(Option<String>, Option<String>)> = self
            .tx
            .prepare_cached("SELECT email, external_id FROM leads WHERE id = ?1")
            .and_then(|mut s| s.query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?))).optional())
            .map_err(backend)?;
        let stored = stored.ok_or(StoreError::NoSuchLead(id))?;
        let new_keys = identities::changed_profile_keys(&self.tx, id, p, &stored)?;
        let custom = encode_custom(p);
        let updated = now.millis();
        let profile = profile_values(p, &custom);
        let mut values: Vec<&dyn rusqlite::ToSql> = vec![&id.0];
        values.extend(profile.iter().map(|v| v as &dyn rusqlite::ToSql));
        values.push(&updated);
        match self.tx.prepare_cached(&SQL).map_err(backend)?.execute(params_from_iter(values)) {
            Ok(0) => Err(StoreError::NoSuchLead(id)),
            // The old email and external id stay the lead's: it is still reached through them.
            Ok(_) => {
                for (kind, value) in new_keys {
                    identities::insert(&self.tx, kind, value, id, now)?;
                }
                Ok(())
            }
            Err(e) => Err(backend(e)),
        }
    }

    fn set_created_at(&mut self, id: LeadId, created_at: Timestamp) -> Result<(), StoreError> {
        let n = self
            .tx
            .prepare_cached("UPDATE leads SET created_at = ?2 WHERE id = ?1")
            .map_err(backend)?
            .execute(params![id.0, created_at.millis()])
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::NoSuchLead(id));
        }
        // The lead changed: its kept score state no longer applies.
        self.tx
            .prepare_cached("UPDATE scores SET stale = 1, revision = revision + 1 WHERE lead_id = ?1")
            .map_err(backend)?
            .execute([id.0])
            .map_err(backend)?;
        Ok(())
    }

    fn delete_lead(&mut self, id: LeadId) -> Result<bool, StoreError> {
        self.flush_activity()?;
        for it in packed_activity(&self.tx, id.0)? {
            self.tx
                .prepare_cached("DELETE FROM events WHERE seq = ?1")
                .map_err(backend)?
                .execute([it.seq])
                .map_err(backend)?;
        }
        outbox::erase_lead(&self.tx, id)?;
        for sql in [
            "DELETE FROM outcomes WHERE lead_id = ?1",
            "DELETE FROM lead_identities WHERE lead_id = ?1",
            "DELETE FROM lead_changes WHERE lead_id = ?1",
            "DELETE FROM tasks WHERE lead_id = ?1",
            "DELETE FROM enrollments WHERE lead_id = ?1",
            "DELETE FROM email_sends WHERE lead_id = ?1",
            "DELETE FROM sla_clocks WHERE lead_id = ?1",
            "DELETE FROM predictions WHERE lead_id = ?1",
            "DELETE FROM activity WHERE lead_id = ?1",
            "DELETE FROM score_history WHERE lead_id = ?1",
            "DELETE FROM scores WHERE lead_id = ?1",
        ] {
            self.tx.prepare_cached(sql).map_err(backend)?.execute([id.0]).map_err(backend)?;
        }
        let n = self
            .tx
            .prepare_cached("DELETE FROM leads WHERE id = ?1")
            .map_err(backend)?
            .execute([id.0])
            .map_err(backend)?;
        Ok(n > 0)
    }

    fn set_stage(&mut self, lead: LeadId, stage: LifecycleStage, now: Timestamp) -> Result<(), StoreError> {
        let n = self
            .tx
            .prepare_cached("UPDATE leads SET stage = ?2, updated_at = ?3 WHERE id = ?1")
            .map_err(backend)?
            .execute(params![lead.0, stage.name(), now.millis()])
            .map_err(backend)?;
        if n == 0 { Err(StoreError::NoSuchLead(lead)) } else { Ok(()) }
    }
}
