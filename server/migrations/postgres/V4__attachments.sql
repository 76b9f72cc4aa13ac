-- Attachments: each file's bytes once, by content address (SHA-256), and the
-- tickets it was uploaded for (a message may refer only to those).
CREATE TABLE files (
    hash  TEXT PRIMARY KEY,
    type  TEXT NOT NULL,
    size  BIGINT NOT NULL,
    bytes BYTEA NOT NULL
);
CREATE TABLE ticket_files (
    ticket_id   TEXT NOT NULL,
    hash        TEXT NOT NULL REFERENCES files (hash),
    uploaded_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, hash)
);
