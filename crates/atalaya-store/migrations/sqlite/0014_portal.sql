-- The public portal: awareness pages the node's admins edit (Markdown, one per slug and
-- language), the incident reports filed here for this node's national CSIRT, and the
-- proof-of-work challenges already used by a report form (kept until they expire, so a solved
-- challenge is accepted once).
CREATE TABLE portal_pages (
    slug       TEXT    NOT NULL,
    lang       TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    updated_ms INTEGER NOT NULL,
    updated_by TEXT    NOT NULL,
    PRIMARY KEY (slug, lang)
) WITHOUT ROWID;

CREATE TABLE incident_reports (
    id          TEXT    PRIMARY KEY NOT NULL,
    reference   TEXT    NOT NULL UNIQUE,
    country     TEXT    NOT NULL,
    via         TEXT    NOT NULL,
    received_ms INTEGER NOT NULL,
    body        TEXT    NOT NULL
);
CREATE INDEX incident_reports_by_time ON incident_reports (received_ms DESC, id DESC);

CREATE TABLE portal_used_challenges (
    nonce      TEXT    PRIMARY KEY NOT NULL,
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX portal_used_challenges_by_expiry ON portal_used_challenges (expires_ms);
