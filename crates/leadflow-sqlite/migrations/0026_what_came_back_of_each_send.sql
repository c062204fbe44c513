-- What came back of each email, first time each: a person's open and click, a reply, a
-- bounce, an unsubscribe, a complaint. The metrics per sequence, step, variant and template
-- count these columns; the events on the lead are what scoring reads.
ALTER TABLE email_sends ADD COLUMN opened_at INTEGER;
ALTER TABLE email_sends ADD COLUMN clicked_at INTEGER;
ALTER TABLE email_sends ADD COLUMN replied_at INTEGER;
ALTER TABLE email_sends ADD COLUMN bounced_at INTEGER;
ALTER TABLE email_sends ADD COLUMN unsubscribed_at INTEGER;
ALTER TABLE email_sends ADD COLUMN complained_at INTEGER;
