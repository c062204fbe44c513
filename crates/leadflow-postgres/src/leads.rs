//! Leads: profiles, their keys, and the one score row each has.

use std::collections::BTreeSet;

use crate::sql::Sql;
use leadflow_core::{LeadId, LeadRef, LifecycleStage, Profile, Timestamp};
use leadflow_store::{LeadOrder, LeadQuery, LeadReads, LeadRecord, LeadWrites, NewLead, SortKey, StoreError};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};

use crate::{LEAD_COLUMNS, Param, PgStore, PgTx, backend, encode_custom, identities, lead_by_ref, read_lead};

/// The profile's columns, in the order [`profile_values`] gives their values.
const PROFILE_COLUMNS: [&str; 19] = [
    "email",
    "external_id",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "department",
    "industry",
    "employees",
    "annual_revenue",
    "country",
    "city",
    "company_type",
    "source",
    "owner",
    "stage",
    "custom",
    "pipeline",
    "pipeline_stage",
];

/// The profile's values, as [`PROFILE_COLUMNS`] lists them.
struct ProfileValues<'a> {
    email: Option<&'a str>,
    external_id: Option<&'a str>,
    texts: [&'a Option<String>; 6],
    employees: Option<f64>,
    annual_revenue: Option<f64>,
    more_texts: [&'a Option<String>; 5],
    stage: &'static str,
    custom: String,
    pipeline: [&'a Option<String>; 2],
}

impl<'a> ProfileValues<'a> {
    fn of(p: &'a Profile) -> ProfileValues<'a> {
        ProfileValues {
            email: p.email.as_ref().map(|e| e.as_str()),
            external_id: p.external_id.as_ref().map(|x| x.as_str()),
            texts: [&p.first_name, &p.last_name, &p.company, &p.job_title, &p.department, &p.industry],
            employees: p.employees,
            annual_revenue: p.annual_revenue,
            more_texts: [&p.country, &p.city, &p.company_type, &p.source, &p.owner],
            stage: p.stage.name(),
            custom: encode_custom(p),
            pipeline: [&p.pipeline, &p.pipeline_stage],
        }
    }

    fn params(&self) -> Vec<Param<'_>> {
        let mut out: Vec<Param<'_>> = vec![&self.email, &self.external_id];
        out.extend(self.texts.iter().map(|t| *t as Param<'_>));
        out.push(&self.employees);
        out.push(&self.annual_revenue);
        out.extend(self.more_texts.iter().map(|t| *t as Param<'_>));
        out.push(&self.stage);
        out.push(&self.custom);
        out.extend(self.pipeline.iter().map(|t| *t as Param<'_>));
        out
    }
}

impl LeadReads for PgStore {
    fn lead(&self, lead: &LeadRef) -> Result<Option<LeadRecord>, StoreError> {
        lead_by_ref(&mut self.conn(), lead)
    }

    fn list_leads(&self, q: &LeadQuery) -> Result<Vec<LeadRecord>, StoreError> {
        let mut conds: Vec<String> = Vec::new();
        let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        // `$n` of the argument pushed next.
        fn arg(args: &mut Vec<Box<dyn ToSql + Sync>>, value: impl ToSql + Sync + 'static) -> String {
            args.push(Box::new(value));
            format!("${}", args.len())
        }
        if let Some(b) = &q.bucket {
            conds.push(format!("s.bucket = {}", arg(&mut args, b.clone())));
        }
        if let Some(g) = q.grade {
            conds.push(format!("s.grade = {}", arg(&mut args, g.letter())));
        }
        if let Some(st) = q.stage {
            conds.push(format!("l.stage = {}", arg(&mut args, st.name())));
        }
        if let Some(o) = &q.owner {
            conds.push(format!("l.owner = {}", arg(&mut args, o.clone())));
        }
        if let Some(m) = q.min_total {
            conds.push(format!("s.total >= {}", arg(&mut args, m)));
        }
        if let Some(m) = q.max_total {
            conds.push(format!("s.total <= {}", arg(&mut args, m)));
        }
        if q.mql_only {
            conds.push("l.mql_at IS NOT NULL".into());
        }
        for (bound, column, op) in [
            (q.created_from, "l.created_at", ">="),
            (q.created_until, "l.created_at", "<"),
            (q.updated_from, "l.updated_at", ">="),
            (q.updated_until, "l.updated_at", "<"),
        ] {
            if let Some(t) = bound {
                conds.push(format!("{column} {op} {}", arg(&mut args, t.millis())));
            }
        }
        for word in q.text.iter().flat_map(|t| t.split_whitespace()) {
            let escaped = word.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let p = arg(&mut args, format!("%{escaped}%"));
            conds.push(format!(
                "(l.email ILIKE {p} OR l.external_id ILIKE {p} OR l.first_name ILIKE {p} OR l.last_name ILIKE {p}
                  OR l.company ILIKE {p} OR l.id IN (SELECT lead_id FROM lead_identities WHERE value ILIKE {p}))"
            ));
        }
        if let Some(cursor) = &q.after {
            // After the cursor: a lower (or higher) key, or the same key and a later id. Unscored
            // leads come last in both score orders, by id.
            let id = cursor.id.0;
            let cond = match (q.order, &cursor.key) {
                (LeadOrder::ScoreDesc | LeadOrder::ScoreAsc, SortKey::Total(None)) => {
                    format!("(s.total IS NULL AND l.id > {})", arg(&mut args, id))
                }
                (LeadOrder::ScoreDesc, SortKey::Total(Some(total))) => {
                    let (k, i) = (arg(&mut args, *total), arg(&mut args, id));
                    format!("(s.total < {k} OR (s.total = {k} AND l.id > {i}) OR s.total IS NULL)")
                }
                (LeadOrder::ScoreAsc, SortKey::Total(Some(total))) => {
                    let (k, i) = (arg(&mut args, *total), arg(&mut args, id));
                    format!("(s.total > {k} OR (s.total = {k} AND l.id > {i}) OR s.total IS NULL)")
                }
                (LeadOrder::Newest, SortKey::Time(t)) => {
                    let (k, i) = (arg(&mut args, t.millis()), arg(&mut args, id));
                    format!("(l.created_at < {k} OR (l.created_at = {k} AND l.id < {i}))")
                }
                (LeadOrder::RecentlyUpdated, SortKey::Time(t)) => {
                    let (k, i) = (arg(&mut args, t.millis()), arg(&mut args, id));
                    format!("(l.updated_at < {k} OR (l.updated_at = {k} AND l.id < {i}))")
                }
                (order, key) => {
                    return Err(StoreError::InvalidQuery(format!("a {key:?} cursor for the {order:?} order")));
                }
            };
            conds.push(cond);
        }
        let where_sql = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
        let order = match q.order {
            LeadOrder::ScoreDesc => "s.total IS NULL, s.total DESC, l.id",
            LeadOrder::ScoreAsc => "s.total IS NULL, s.total ASC, l.id",
            LeadOrder::Newest => "l.created_at DESC, l.id DESC",
            LeadOrder::RecentlyUpdated => "l.updated_at DESC, l.id DESC",
        };
        let limit = arg(&mut args, i64::try_from(q.limit).unwrap_or(i64::MAX));
        let offset = arg(&mut args, i64::try_from(q.offset).unwrap_or(i64::MAX));
        let sql = format!(
            "SELECT {LEAD_COLUMNS} FROM scores s JOIN leads l ON l.id = s.lead_id {where_sql}
             ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        );
        let params: Vec<Param<'_>> = args.iter().map(|a| a.as_ref() as Param<'_>).collect();
        let rows = self.conn().query(&sql, &params).map_err(backend)?;
        rows.iter().map(read_lead).collect()
    }

    fn custom_field_names(&self) -> Result<BTreeSet<String>, StoreError> {
        let rows = self
            .conn()
            .query("SELECT DISTINCT jsonb_object_keys(custom::jsonb) FROM leads WHERE custom <> '{}'", &[])
            .map_err(backend)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

/// A generated id must never meet a chosen one: the sequence moves past `id` (never back).
fn move_sequence_past(conn: &mut impl Sql, id: i64) -> Result<(), StoreError> {
    conn.execute(
        "SELECT setval(pg_get_serial_sequence('leads', 'id'), $1) WHERE $1 > (SELECT last_value FROM leads_id_seq)",
        &[&id],
    )
    .map_err(backend)?;
    Ok(())
}

/// A batch of references as arrays for `unnest`: ids, and identities as (kind, value), each
/// with its place in the batch.
struct RefKeys<'a> {
    ids: Vec<i64>,
    id_places: Vec<i64>,
    kinds: Vec<&'a str>,
    values: Vec<&'a str>,
    identity_places: Vec<i64>,
}

impl<'a> RefKeys<'a> {
    fn of(leads: &'a [LeadRef]) -> RefKeys<'a> {
        let mut keys = RefKeys {
            ids: Vec::new(),
            id_places: Vec::new(),
            kinds: Vec::new(),
            values: Vec::new(),
            identity_places: Vec::new(),
        };
        for (place, lead) in leads.iter().enumerate() {
            let (kind, value) = match lead {
                LeadRef::Id(id) => {
                    keys.ids.push(id.0);
                    keys.id_places.push(place as i64);
                    continue;
                }
                LeadRef::Email(e) => ("email", e.as_str()),
                LeadRef::External(x) => ("external", x.as_str()),
                LeadRef::System(system, x) => (system.as_str(), x.as_str()),
                LeadRef::Phone(p) => ("phone", p.as_str()),
            };
            keys.kinds.push(kind);
            keys.values.push(value);
            keys.identity_places.push(place as i64);
        }
        keys
    }

    fn params(&self) -> [Param<'_>; 5] {
        [&self.ids, &self.id_places, &self.kinds, &self.values, &self.identity_places]
    }
}

/// What selects the leads of a [`RefKeys`] by place: `{columns}` of each lead found and its
/// `place` in the batch. Each kind's keys are joined to their table, not `= ANY(...)`, which a
/// young table's statistics (or a generic plan) answer with a scan of every lead comparing each
/// with every key: 200 ms for a batch of a thousand events at 11,000 leads.
fn by_place(columns: &str) -> String {
    format!(
        "SELECT {columns}, k.place FROM unnest($1::BIGINT[], $2::BIGINT[]) k (id, place)
             JOIN leads l ON l.id = k.id JOIN scores s ON s.lead_id = l.id
         UNION ALL
         SELECT {columns}, k.place FROM unnest($3::TEXT[], $4::TEXT[], $5::BIGINT[]) k (kind, value, place)
             JOIN lead_identities i ON i.kind = k.kind AND i.value = k.value
             JOIN leads l ON l.id = i.lead_id JOIN scores s ON s.lead_id = l.id"
    )
}

impl LeadWrites for PgTx<'_> {
    fn lead(&mut self, lead: &LeadRef) -> Result<Option<LeadRecord>, StoreError> {
        lead_by_ref(&mut self.tx, lead)
    }

    /// One statement for every reference, by id or identity ([`by_place`]).
    fn leads_named(&mut self, leads: &[LeadRef]) -> Result<Vec<Option<LeadRecord>>, StoreError> {
        let keys = RefKeys::of(leads);
        let rows = self.tx.query(&by_place(LEAD_COLUMNS), &keys.params()).map_err(backend)?;
        let mut found = vec![None; leads.len()];
        for row in &rows {
            found[row.get::<_, i64>("place") as usize] = Some(read_lead(row)?);
        }
        Ok(found)
    }

    fn resolve_leads(&mut self, leads: &[LeadRef]) -> Result<Vec<Option<LeadId>>, StoreError> {
        let keys = RefKeys::of(leads);
        let rows = self.tx.query(&by_place("l.id"), &keys.params()).map_err(backend)?;
        let mut found = vec![None; leads.len()];
        for row in &rows {
            found[row.get::<_, i64>("place") as usize] = Some(LeadId(row.get(0)));
        }
        Ok(found)
    }

    /// Through `COPY` into a temporary table, then one `INSERT .. SELECT` that skips rows whose
    /// key is taken (`ON CONFLICT DO NOTHING`): those come back as `None`.
    fn insert_leads(&mut self, leads: &[NewLead<'_>], now: Timestamp) -> Result<Vec<Option<LeadId>>, StoreError> {
        if leads.is_empty() {
            return Ok(Vec::new());
        }
        let columns = PROFILE_COLUMNS.join(", ");
        let mut types = vec![Type::TEXT; PROFILE_COLUMNS.len()];
        types[PROFILE_COLUMNS.iter().position(|c| *c == "employees").expect("a profile column")] = Type::FLOAT8;
        types[PROFILE_COLUMNS.iter().position(|c| *c == "annual_revenue").expect("a profile column")] = Type::FLOAT8;
        let declared: Vec<String> =
            PROFILE_COLUMNS.iter().zip(&types).map(|(c, t)| format!("{c} {}", t.name())).collect();
        types.extend([Type::INT8, Type::INT8, Type::INT8, Type::INT8]);
        // Created once per session; emptied here, as a transaction may bring several batches.
        self.tx
            .conn
            .batch_execute(&format!(
                "CREATE TEMPORARY TABLE IF NOT EXISTS lead_import
                     ({}, created_at INT8, updated_at INT8, id INT8, ord INT8) ON COMMIT DELETE ROWS;
                 TRUNCATE lead_import",
                declared.join(", ")
            ))
            .map_err(backend)?;
        // New leads' ids first, in the file's order, so that each lead's identities can name it
        // before it is in.
        let wanted = leads.iter().filter(|l| l.id.is_none()).count() as i64;
        let mut generated = self
            .tx
            .query(
                "SELECT nextval(pg_get_serial_sequence('leads', 'id')) FROM generate_series(1, $1::BIGINT)",
                &[&wanted],
            )
            .map_err(backend)?
            .into_iter()
            .map(|r| r.get::<_, i64>(0));
        let ids: Vec<i64> = leads
            .iter()
            .map(|l| l.id.map(|i| i.0).or_else(|| generated.next()))
            .collect::<Option<_>>()
            .ok_or_else(|| StoreError::Backend("the id sequence gave fewer ids than asked".into()))?;
        let copy = self
            .tx
            .conn
            .copy_in(&format!(
                "COPY lead_import ({columns}, created_at, updated_at, id, ord) FROM STDIN (FORMAT binary)"
            ))
            .map_err(backend)?;
        let mut writer = BinaryCopyInWriter::new(copy, &types);
        let updated = now.millis();
        for (ord, (lead, id)) in leads.iter().zip(&ids).enumerate() {
            let values = ProfileValues::of(lead.profile);
            let mut row = values.params();
            let (created, ord) = (lead.created_at.millis(), ord as i64);
            row.extend([&created as Param<'_>, &updated, id, &ord]);
            writer.write(&row).map_err(backend)?;
        }
        writer.finish().map_err(backend)?;
        // A lead goes in only with every key it has: one another lead holds (or a writer beside
        // this one took first) keeps it out. A lead whose given id is taken gets no identity.
        let explicit = leads.iter().any(|l| l.id.is_some());
        let id_free = if explicit { "AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = t.id)" } else { "" };
        let rows = self
            .tx
            .query(
                &format!(
                    "WITH keys AS (
                         INSERT INTO lead_identities (kind, value, lead_id, added_at)
                         SELECT k.kind, k.value, t.id, t.updated_at
                         FROM lead_import t
                             CROSS JOIN LATERAL (VALUES ('email', t.email), ('external', t.external_id)) k (kind, value)
                         WHERE k.value IS NOT NULL {id_free}
                         ORDER BY t.ord
                         ON CONFLICT DO NOTHING RETURNING lead_id, kind),
                     keys_taken AS (
                         SELECT lead_id, count(*) AS n, bool_or(kind = 'email') AS took_email,
                                bool_or(kind = 'external') AS took_external
                         FROM keys GROUP BY lead_id),
                     inserted AS (
                         INSERT INTO leads (id, {columns}, created_at, updated_at)
                         SELECT t.id, {columns}, created_at, updated_at
                         FROM lead_import t JOIN keys_taken k ON k.lead_id = t.id
                         WHERE k.n = (t.email IS NOT NULL)::INT + (t.external_id IS NOT NULL)::INT
                         ORDER BY t.ord
                         ON CONFLICT DO NOTHING RETURNING id),
                     score_rows AS (INSERT INTO scores (lead_id) SELECT id FROM inserted)
                     SELECT t.ord, t.id, i.id IS NOT NULL, coalesce(k.took_email, FALSE), coalesce(k.took_external, FALSE)
                     FROM lead_import t LEFT JOIN inserted i ON i.id = t.id LEFT JOIN keys_taken k ON k.lead_id = t.id"
                ),
                &[],
            )
            .map_err(backend)?;
        // The keys that leads that did not go in took are given back: exactly those this
        // statement inserted (a lead of the same id, a writer's beside this one, keeps its own).
        let (mut kinds, mut values, mut owners): (Vec<&str>, Vec<&str>, Vec<i64>) = Default::default();
        for row in rows.iter().filter(|r| !r.get::<_, bool>(2)) {
            let lead = &leads[row.get::<_, i64>(0) as usize];
            let taken = [(row.get::<_, bool>(3), "email"), (row.get::<_, bool>(4), "external")];
            for (kind, value, _) in leadflow_store::profile_keys(lead.profile) {
                if taken.contains(&(true, kind)) {
                    kinds.push(kind);
                    values.push(value);
                    owners.push(row.get(1));
                }
            }
        }
        if !kinds.is_empty() {
            self.tx
                .execute(
                    "DELETE FROM lead_identities i USING unnest($1::TEXT[], $2::TEXT[], $3::BIGINT[]) g (kind, value, lead_id)
                     WHERE i.kind = g.kind AND i.value = g.value AND i.lead_id = g.lead_id",
                    &[&kinds, &values, &owners],
                )
                .map_err(backend)?;
        }
        let went_in = || rows.iter().filter(|r| r.get::<_, bool>(2));
        if explicit {
            move_sequence_past(&mut self.tx, went_in().map(|r| r.get::<_, i64>(1)).max().unwrap_or(0))?;
        }
        let mut ids = vec![None; leads.len()];
        for row in went_in() {
            ids[row.get::<_, i64>(0) as usize] = Some(LeadId(row.get(1)));
        }
        Ok(ids)
    }

    fn resolve_lead(&mut self, lead: &LeadRef) -> Result<Option<LeadId>, StoreError> {
        match (lead, lead.identity()) {
            (LeadRef::Id(id), _) => {
                let row = self.tx.query_opt("SELECT id FROM leads WHERE id = $1", &[&id.0]).map_err(backend)?;
                Ok(row.map(|r| LeadId(r.get(0))))
            }
            (_, Some(identity)) => identities::lead_with(&mut self.tx, identity.kind(), identity.value()),
            (_, None) => Ok(None),
        }
    }

    /// The lead's row first, so that its keys are taken under an id this unit of work holds (a
    /// writer inserting the same id waits for it); a key another lead has takes the lead out
    /// again, with the keys it took, and fails the write, not the transaction (PostgreSQL aborts
    /// a transaction at its first error).
    fn insert_lead(
        &mut self,
        id: Option<LeadId>,
        p: &Profile,
        created_at: Timestamp,
        now: Timestamp,
    ) -> Result<LeadId, StoreError> {
        let values = ProfileValues::of(p);
        let mut params = values.params();
        let (created, updated, explicit) = (created_at.millis(), now.millis(), id.map(|i| i.0));
        params.extend([&created as Param<'_>, &updated]);
        let id_value = match &explicit {
            Some(given) => {
                params.push(given);
                format!("${}", params.len())
            }
            None => "nextval(pg_get_serial_sequence('leads', 'id'))".to_string(),
        };
        let placeholders: Vec<String> = (1..=PROFILE_COLUMNS.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO leads ({}, created_at, updated_at, id) VALUES ({}, {id_value}) ON CONFLICT DO NOTHING RETURNING id",
            PROFILE_COLUMNS.join(", "),
            placeholders.join(", "),
        );
        let Some(row) = self.tx.query_opt(&sql, &params).map_err(backend)? else {
            return Err(StoreError::DuplicateId(LeadId(explicit.unwrap_or(0))));
        };
        let id = LeadId(row.get(0));
        if let Err(taken) = identities::take_profile_keys(&mut self.tx, id, p, &[None, None], now) {
            self.tx.execute("DELETE FROM leads WHERE id = $1", &[&id.0]).map_err(backend)?;
            return Err(taken);
        }
        if explicit.is_some() {
            move_sequence_past(&mut self.tx, id.0)?;
        }
        self.tx.execute("INSERT INTO scores (lead_id) VALUES ($1)", &[&id.0]).map_err(backend)?;
        Ok(id)
    }

    /// The lead's row is held first (a unit of work deleting it waits, and then frees the keys
    /// taken here), then the keys it did not have are taken (the old ones stay the lead's: it is
    /// still reached through them).
    fn update_profile(&mut self, id: LeadId, p: &Profile, now: Timestamp) -> Result<(), StoreError> {
        let held = self
            .tx
            .query_opt("SELECT email, external_id FROM leads WHERE id = $1 FOR UPDATE", &[&id.0])
            .map_err(backend)?
            .ok_or(StoreError::NoSuchLead(id))?;
        identities::take_profile_keys(&mut self.tx, id, p, &[held.get(0), held.get(1)], now)?;
        let values = ProfileValues::of(p);
        let mut params = values.params();
        let updated = now.millis();
        params.push(&updated);
        params.push(&id.0);
        let sets: Vec<String> = PROFILE_COLUMNS.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
        let sql = format!(
            "UPDATE leads SET {}, updated_at = ${} WHERE id = ${}",
            sets.join(", "),
            PROFILE_COLUMNS.len() + 1,
            PROFILE_COLUMNS.len() + 2
        );
        match self.tx.execute(&sql, &params).map_err(backend)? {
            0 => Err(StoreError::NoSuchLead(id)),
            _ => Ok(()),
        }
    }

    fn set_created_at(&mut self, id: LeadId, created_at: Timestamp) -> Result<(), StoreError> {
        let n = self
            .tx
            .execute("UPDATE leads SET created_at = $2 WHERE id = $1", &[&id.0, &created_at.millis()])
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::NoSuchLead(id));
        }
        // The lead changed: its kept score state no longer applies.
        self.tx
            .execute("UPDATE scores SET stale = TRUE, revision = revision + 1 WHERE lead_id = $1", &[&id.0])
            .map_err(backend)?;
        Ok(())
    }

    fn set_stage(&mut self, lead: LeadId, stage: LifecycleStage, now: Timestamp) -> Result<(), StoreError> {
        let n = self
            .tx
            .execute(
                "UPDATE leads SET stage = $2, updated_at = $3 WHERE id = $1",
                &[&lead.0, &stage.name(), &now.millis()],
            )
            .map_err(backend)?;
        if n == 0 { Err(StoreError::NoSuchLead(lead)) } else { Ok(()) }
    }

    fn delete_lead(&mut self, id: LeadId) -> Result<bool, StoreError> {
        // Held first: a unit of work giving the lead a key meanwhile finishes before its keys go.
        self.tx.execute("SELECT 1 FROM leads WHERE id = $1 FOR UPDATE", &[&id.0]).map_err(backend)?;
        for sql in [
            "DELETE FROM events WHERE lead_id = $1",
            "DELETE FROM lead_changes WHERE lead_id = $1",
            "DELETE FROM tasks WHERE lead_id = $1",
            "DELETE FROM enrollments WHERE lead_id = $1",
            "DELETE FROM email_sends WHERE lead_id = $1",
            "DELETE FROM sla_clocks WHERE lead_id = $1",
            "DELETE FROM visitors WHERE lead_id = $1",
            "DELETE FROM jobs WHERE kind = 'webhook-delivery'
                 AND key IN (SELECT id::TEXT FROM webhook_deliveries WHERE lead_id = $1)",
            "DELETE FROM webhook_deliveries WHERE lead_id = $1",
            "DELETE FROM public_quota WHERE lead_id = $1",
            "DELETE FROM outcomes WHERE lead_id = $1",
            "DELETE FROM lead_identities WHERE lead_id = $1",
            "DELETE FROM predictions WHERE lead_id = $1",
            "DELETE FROM score_history WHERE lead_id = $1",
            "DELETE FROM scores WHERE lead_id = $1",
        ] {
            self.tx.execute(sql, &[&id.0]).map_err(backend)?;
        }
        let n = self.tx.execute("DELETE FROM leads WHERE id = $1", &[&id.0]).map_err(backend)?;
        Ok(n > 0)
    }
}
