-- Acknowledgements of bulletins: at the origin, one row per acknowledging node (the latest);
-- at a receiver, its own.
CREATE TABLE acknowledgements (
    bulletin TEXT    NOT NULL,
    node     TEXT    NOT NULL,
    by_whom  TEXT    NOT NULL,
    note     TEXT    NOT NULL,
    comment  TEXT,
    at_ms    INTEGER NOT NULL,
    envelope TEXT    NOT NULL,
    PRIMARY KEY (bulletin, node)
) WITHOUT ROWID;
