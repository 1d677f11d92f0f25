-- Versions of the network's sharing agreement, and who accepted which.
CREATE TABLE agreements (
    version     INTEGER PRIMARY KEY,
    hash        TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    raw         TEXT    NOT NULL,
    received_ms INTEGER NOT NULL
);
CREATE TABLE agreement_acceptances (
    node        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    raw         TEXT    NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (node, version)
) WITHOUT ROWID;
