-- Retractions received or issued. A bulletin is retracted only by its own origin.
CREATE TABLE retractions (
    bulletin TEXT    NOT NULL,
    origin   TEXT    NOT NULL,
    envelope TEXT    NOT NULL,
    reason   TEXT    NOT NULL,
    at_ms    INTEGER NOT NULL,
    PRIMARY KEY (bulletin, origin)
) WITHOUT ROWID;

ALTER TABLE bulletins ADD COLUMN retracted_ms INTEGER;
ALTER TABLE bulletins ADD COLUMN retraction_reason TEXT;
