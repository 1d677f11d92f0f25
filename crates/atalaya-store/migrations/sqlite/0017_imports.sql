-- What was imported from documents in other formats (CSAF advisories, MISP events, STIX
-- objects), so that importing the same document again publishes nothing and a newer version
-- revises what the older one became. One row per object at one version and the bulletin it
-- went into (`part`: which bulletin, when one object became several). Rows are written in the
-- transaction that publishes the bulletin, so a crash cannot leave a bulletin without its
-- record (and a second import would double it) or a record without its bulletin. Versions
-- only grow per key (an older one is refused before publishing), so the newest version of a
-- key is the one with the highest `seq`.
CREATE TABLE imports (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    format      TEXT    NOT NULL,
    source_key  TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    part        INTEGER NOT NULL,
    bulletin_id TEXT    NOT NULL,
    imported_ms INTEGER NOT NULL,
    UNIQUE (format, source_key, version, part)
);
CREATE INDEX imports_by_key ON imports (format, source_key, seq);
