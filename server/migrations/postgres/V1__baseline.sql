-- Stufe's PostgreSQL schema (STUFE_DATABASE_URL). The same data as the
-- SQLite schema, laid out for several servers sharing one database: every
-- write of a synced document is a numbered row of `doc_chunks`, so no server
-- overwrites another's changes, and each insert is announced (NOTIFY) to the
-- other servers.
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE TABLE sites (
    key             TEXT PRIMARY KEY,
    config_json     TEXT NOT NULL,
    identity_secret TEXT
);
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE outbox (
    id         BIGSERIAL PRIMARY KEY,
    to_addr    TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    queued_at  BIGINT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    BIGINT,
    sent_at    BIGINT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE sent_at IS NULL;
CREATE TABLE staff (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('tier1', 'tier2', 'tier3', 'admin')),
    token_hash    TEXT NOT NULL UNIQUE,
    login         TEXT UNIQUE,
    password_hash TEXT,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    timezone      TEXT NOT NULL DEFAULT 'UTC'
);
CREATE TABLE staff_sites (
    staff_id BIGINT NOT NULL REFERENCES staff(id),
    site     TEXT NOT NULL,
    PRIMARY KEY (staff_id, site)
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id   BIGINT NOT NULL REFERENCES staff(id),
    expires_at BIGINT NOT NULL
);
-- A ticket's projection; its document is in doc_chunks as `ticket:<id>`.
CREATE TABLE tickets (
    id                 TEXT PRIMARY KEY,
    site               TEXT NOT NULL REFERENCES sites(key),
    token_hash         TEXT NOT NULL,
    subject            TEXT NOT NULL,
    status             TEXT NOT NULL,
    tier               INTEGER NOT NULL,
    priority           TEXT NOT NULL,
    category           TEXT NOT NULL,
    email              TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    first_response_due BIGINT,
    message_count      INTEGER NOT NULL,
    customer_id        TEXT,
    customer_name      TEXT,
    customer_email     TEXT,
    first_response_at  BIGINT,
    staff_messages     INTEGER NOT NULL DEFAULT 0,
    rating             INTEGER,
    resolved_at        BIGINT,
    max_tier           INTEGER NOT NULL DEFAULT 1,
    reopened           INTEGER NOT NULL DEFAULT 0,
    assignee           BIGINT,
    pending_since      BIGINT
);
CREATE INDEX tickets_by_queue ON tickets (site, status, tier, created_at);
CREATE INDEX tickets_by_customer ON tickets (site, customer_id, created_at);
CREATE INDEX tickets_by_email ON tickets (site, email, created_at);
CREATE INDEX tickets_by_created ON tickets (site, created_at);
-- Every synced document (tickets and knowledge-base catalogues): a snapshot
-- row followed by appended change chunks, numbered by `seq` in the order
-- they were committed (writes of one document hold its advisory lock).
CREATE TABLE doc_chunks (
    seq      BIGSERIAL PRIMARY KEY,
    doc_id   TEXT NOT NULL,
    snapshot BOOLEAN NOT NULL,
    bytes    BYTEA NOT NULL
);
CREATE INDEX doc_chunks_by_doc ON doc_chunks (doc_id, seq);
-- Tells every listening server which document moved to which position
-- (delivered when the transaction commits, in commit order).
CREATE FUNCTION stufe_announce_chunk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('stufe_docs', NEW.seq::text || ' ' || NEW.doc_id);
    RETURN NULL;
END $$;
CREATE TRIGGER doc_chunks_announce AFTER INSERT ON doc_chunks
    FOR EACH ROW EXECUTE FUNCTION stufe_announce_chunk();
-- Tells every server's console which site's queue changed.
CREATE FUNCTION stufe_announce_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('stufe_tickets', NEW.site);
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_announce AFTER INSERT OR UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION stufe_announce_ticket();
-- Tells every server which site's settings changed (they keep them cached).
CREATE FUNCTION stufe_announce_site() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('stufe_sites', NEW.key);
    RETURN NULL;
END $$;
CREATE TRIGGER sites_announce AFTER INSERT OR UPDATE ON sites
    FOR EACH ROW EXECUTE FUNCTION stufe_announce_site();
CREATE TABLE articles (
    site         TEXT NOT NULL REFERENCES sites(key),
    id           TEXT NOT NULL,
    locale       TEXT NOT NULL,
    title        TEXT NOT NULL,
    markdown     TEXT NOT NULL,
    html         TEXT NOT NULL,
    category     TEXT NOT NULL,
    tags_json    TEXT NOT NULL,
    sources_json TEXT NOT NULL,
    version      INTEGER NOT NULL,
    published    BOOLEAN NOT NULL,
    updated_at   BIGINT NOT NULL,
    -- The plain text the search snippets are cut from.
    plain        TEXT NOT NULL DEFAULT '',
    -- Full text in the article's language (german or english), without
    -- diacritics: title weight A, tags B, body D; titles alone for ranking
    -- title matches first.
    search       TSVECTOR NOT NULL DEFAULT ''::tsvector,
    title_search TSVECTOR NOT NULL DEFAULT ''::tsvector,
    PRIMARY KEY (site, id)
);
CREATE INDEX articles_search_idx ON articles USING GIN (search) WHERE published;
CREATE TABLE saved_replies (
    id    BIGSERIAL PRIMARY KEY,
    site  TEXT NOT NULL,
    title TEXT NOT NULL,
    body  TEXT NOT NULL
);
CREATE TABLE ticket_notes (
    id      BIGSERIAL PRIMARY KEY,
    ticket  TEXT NOT NULL,
    at      BIGINT NOT NULL,
    by_name TEXT NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('note', 'handoff')),
    change  TEXT NOT NULL DEFAULT '',
    body    TEXT NOT NULL
);
CREATE INDEX ticket_notes_by_ticket ON ticket_notes (ticket, at);
CREATE TABLE client_errors (
    id         BIGSERIAL PRIMARY KEY,
    site       TEXT NOT NULL,
    message    TEXT NOT NULL,
    version    TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX client_errors_by_site ON client_errors (site, at);
CREATE TABLE kb_events (
    id      BIGSERIAL PRIMARY KEY,
    site    TEXT NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('search', 'article_view', 'helpful', 'deflection')),
    query   TEXT,
    results INTEGER,
    article TEXT,
    helpful BOOLEAN,
    at      BIGINT NOT NULL
);
CREATE INDEX kb_events_by_kind ON kb_events (site, kind, query);
