-- An email about a ticket names it, and the address a customer's answer
-- goes to (the ticket's signed reply address; NULL: not answerable by mail).
ALTER TABLE outbox ADD COLUMN ticket_id TEXT;
ALTER TABLE outbox ADD COLUMN reply_to TEXT;
