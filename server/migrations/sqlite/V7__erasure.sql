-- A ticket erased for its customer (GDPR): its row keeps only the figures
-- (status, tier, times, the score), its document and everything about it
-- are gone, and no write may bring it back.
ALTER TABLE tickets ADD COLUMN erased_at INTEGER;
