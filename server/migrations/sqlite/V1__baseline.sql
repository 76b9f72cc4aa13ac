-- Stufe's SQLite schema as of the first versioned migration (database
-- files from before it are brought to this state by `storage::sqlite::legacy`).
CREATE TABLE sites (
    key         TEXT PRIMARY KEY,
    config_json TEXT NOT NULL,
    identity_secret TEXT
);
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Emails to customers, kept until the SMTP server took them (retried with backoff).
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    to_addr    TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    queued_at  INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    INTEGER,
    sent_at    INTEGER,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE sent_at IS NULL;
CREATE TABLE staff (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('tier1', 'tier2', 'tier3', 'admin')),
    token_hash TEXT NOT NULL UNIQUE,
    login      TEXT UNIQUE,
    password_hash TEXT,
    active     INTEGER NOT NULL DEFAULT 1,
    timezone   TEXT NOT NULL DEFAULT 'UTC'
);
CREATE TABLE staff_sites (
    staff_id INTEGER NOT NULL REFERENCES staff(id),
    site     TEXT NOT NULL,
    PRIMARY KEY (staff_id, site)
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id   INTEGER NOT NULL REFERENCES staff(id),
    expires_at INTEGER NOT NULL
);
CREATE TABLE tickets (
    id                 TEXT PRIMARY KEY,
    site               TEXT NOT NULL REFERENCES sites(key),
    token_hash         TEXT NOT NULL,
    doc                BLOB NOT NULL,
    subject            TEXT NOT NULL,
    status             TEXT NOT NULL,
    tier               INTEGER NOT NULL,
    priority           TEXT NOT NULL,
    category           TEXT NOT NULL,
    email              TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    first_response_due INTEGER,
    message_count      INTEGER NOT NULL,
    customer_id        TEXT,
    customer_name      TEXT,
    customer_email     TEXT,
    first_response_at  INTEGER,
    staff_messages     INTEGER NOT NULL DEFAULT 0,
    rating             INTEGER,
    resolved_at        INTEGER,
    max_tier           INTEGER NOT NULL DEFAULT 1,
    reopened           INTEGER NOT NULL DEFAULT 0,
    assignee           INTEGER,
    pending_since      INTEGER
);
CREATE INDEX tickets_by_queue ON tickets (site, status, tier, created_at);
CREATE TABLE documents (
    doc_id     TEXT PRIMARY KEY,
    bytes      BLOB NOT NULL
);
-- Change chunks appended after a document's snapshot (tickets.doc or
-- documents.bytes), in order; a new snapshot deletes them.
CREATE TABLE doc_changes (
    seq    INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL,
    bytes  BLOB NOT NULL
);
CREATE INDEX doc_changes_by_doc ON doc_changes (doc_id, seq);
CREATE TABLE articles (
    site           TEXT NOT NULL REFERENCES sites(key),
    id             TEXT NOT NULL,
    locale         TEXT NOT NULL,
    title          TEXT NOT NULL,
    markdown       TEXT NOT NULL,
    html           TEXT NOT NULL,
    category       TEXT NOT NULL,
    tags_json      TEXT NOT NULL,
    sources_json   TEXT NOT NULL,
    version        INTEGER NOT NULL,
    published      INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (site, id)
);
-- Each site and locale searched gets a scope id; its articles' index rowids
-- are `scope id << 32 | articles.rowid`, so every scope owns one rowid range
-- and a query reads only its own (the index seeks to the range instead of
-- intersecting every match with a per-site token).
CREATE TABLE search_scopes (
    id     INTEGER PRIMARY KEY,
    site   TEXT NOT NULL,
    locale TEXT NOT NULL,
    UNIQUE (site, locale)
);
-- Only published articles are in the index. Text is folded (ß -> ss) before
-- it is written; the tokenizer folds case and diacritics; prefix indexes keep
-- 2- and 3-letter prefix queries fast.
CREATE VIRTUAL TABLE articles_search USING fts5(
    title, body, tags,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
-- Titles alone, same rowids: title matches are ranked first, and finding them
-- in the full index means reading the positions of every body match too.
CREATE VIRTUAL TABLE article_titles USING fts5(
    title,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
CREATE TABLE saved_replies (
    id    INTEGER PRIMARY KEY,
    site  TEXT NOT NULL,
    title TEXT NOT NULL,
    body  TEXT NOT NULL
);
-- Staff-only notes and hand-offs: kept out of the ticket documents widgets sync.
CREATE TABLE ticket_notes (
    id      INTEGER PRIMARY KEY,
    ticket  TEXT NOT NULL,
    at      INTEGER NOT NULL,
    by_name TEXT NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('note', 'handoff')),
    change  TEXT NOT NULL DEFAULT '',
    body    TEXT NOT NULL
);
CREATE INDEX ticket_notes_by_ticket ON ticket_notes (ticket, at);
CREATE TABLE client_errors (
    id          INTEGER PRIMARY KEY,
    site        TEXT NOT NULL,
    message     TEXT NOT NULL,
    version     TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX client_errors_by_site ON client_errors (site, at);
CREATE TABLE kb_events (
    id       INTEGER PRIMARY KEY,
    site     TEXT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('search', 'article_view', 'helpful', 'deflection')),
    query    TEXT,
    results  INTEGER,
    article  TEXT,
    helpful  INTEGER,
    at       INTEGER NOT NULL
);
CREATE INDEX kb_events_by_kind ON kb_events (site, kind, query);
CREATE INDEX tickets_by_customer ON tickets (site, customer_id, created_at);
CREATE INDEX tickets_by_created ON tickets (site, created_at);
-- Title matches weigh ten times body matches; tags four times.
INSERT INTO articles_search(articles_search, rank) VALUES ('rank', 'bm25(10.0, 1.0, 4.0)');
