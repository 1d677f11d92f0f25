-- The STIX 2.1 objects the node's bulletins become, kept ready for the TAXII 2.1 server so a
-- large collection pages fast. `added` (microseconds) is the TAXII `date_added`: it only grows
-- with `seq`, so paging by (added, seq) is stable. The sharing labels of the bulletin an object
-- came from are copied here (they never change); whether it was retracted is read from
-- `bulletins`. Objects shared by several bulletins (a node's identity, the TLP markings) are
-- kept once, with no bulletin: they are public.
CREATE TABLE stix_objects (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    added        INTEGER NOT NULL,
    object_id    TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    version      TEXT    NOT NULL,
    version_us   INTEGER NOT NULL,
    spec_version TEXT    NOT NULL,
    bulletin_id  TEXT,
    origin       TEXT,
    tlp          TEXT    NOT NULL,
    audience     TEXT,
    embargo_ms   INTEGER,
    people       TEXT,
    json         TEXT    NOT NULL,
    UNIQUE (object_id, version_us)
);
CREATE INDEX stix_objects_by_added ON stix_objects (added, seq);
CREATE INDEX stix_objects_by_tlp ON stix_objects (tlp, added, seq);

-- How far the bulletins table (by rowid) has been turned into STIX objects.
CREATE TABLE stix_progress (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL
);
INSERT INTO stix_progress (id, position) VALUES (1, 0);
