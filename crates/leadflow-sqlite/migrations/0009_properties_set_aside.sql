-- Event shapes keep only the properties some model's rules look at (`shape_keys`); the others
-- (session ids, request ids, anything unique per event) are set aside per event in `extra`, so
-- that they no longer make every event a shape of its own. What was sent is the shape's
-- properties and `extra` together. A model that looks at a new property adds it here, and the
-- events that set it aside are reshaped (see `SqliteTx::keep_properties`).
ALTER TABLE events ADD COLUMN extra TEXT;               -- JSON object of strings; NULL: none
ALTER TABLE visitor_events ADD COLUMN extra TEXT;

CREATE TABLE shape_keys (
    name TEXT PRIMARY KEY
) WITHOUT ROWID;

-- Every property name shapes already hold stays kept: existing shapes are left as they are.
INSERT INTO shape_keys (name)
SELECT DISTINCT j.key FROM event_shapes, json_each(event_shapes.properties) j;

-- The property names each event type has had, kept or set aside: what `model check` lists.
CREATE TABLE event_properties (
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (type, name)
) WITHOUT ROWID;
INSERT INTO event_properties (type, name)
SELECT DISTINCT event_shapes.type, j.key FROM event_shapes, json_each(event_shapes.properties) j;
