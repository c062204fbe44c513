-- Sales users: the reps and managers leads are owned by (a lead's `owner` is a user's name, and
-- so is a sales API key's), with what assignment and SLAs need of them.
CREATE TABLE users (
    name         TEXT PRIMARY KEY,
    display_name TEXT,
    email        TEXT,
    team         TEXT,
    role         TEXT NOT NULL,      -- rep, manager
    zone         TEXT NOT NULL,      -- IANA time zone: their working hours are local to it
    week         TEXT NOT NULL,      -- working week, one-line form: mon-fri 09:00-17:00
    holidays     TEXT NOT NULL,      -- JSON list of local dates, YYYY-MM-DD
    away_until   INTEGER,
    capacity     INTEGER,            -- open leads at most; NULL: no limit
    active       INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- Where each assignment rule's rotation stands: the user it gave the last lead to, and their
-- place in its pool then. Written in the transaction of the assignment.
CREATE TABLE assignment_cursors (
    rule      TEXT PRIMARY KEY,
    last_user TEXT NOT NULL,
    position  INTEGER NOT NULL
);
