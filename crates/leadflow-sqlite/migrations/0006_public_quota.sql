-- Events from the public tracking endpoint, counted per lead per day (UTC): anyone can post to
-- it, so what it adds to one lead is bounded by day (see ARCHITECTURE.md, "The public tracking
-- endpoint").
CREATE TABLE public_quota (
    lead_id INTEGER NOT NULL,
    day     INTEGER NOT NULL,              -- days since the epoch, UTC
    used    INTEGER NOT NULL,
    PRIMARY KEY (lead_id, day)
) WITHOUT ROWID;

-- Anonymous events expire (tracking.anonymous_retention_days): the sweep finds them by age.
CREATE INDEX visitor_events_by_received ON visitor_events (received_at);
