-- A delivery being sent is claimed until a lease ends: each goes to one sender, and one that
-- died while sending leaves it to another once the lease is over (at least once).
ALTER TABLE webhook_deliveries ADD COLUMN claimed_until INTEGER;
