-- A user's email signature: what ends the nurture emails sent from them.
ALTER TABLE users ADD COLUMN signature TEXT;
