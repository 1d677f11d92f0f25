-- The audit trail as a transparency log (see atalaya_core::audit and atalaya_core::merkle).

-- The RFC 9162 Merkle tree over the audit chain: the hash of every complete, aligned subtree
-- (level 0 are the leaves; level l, index i covers leaves [i * 2^l, (i+1) * 2^l)). Written in
-- the transaction that writes the entries; no subtree ever changes once complete, so a proof
-- for any earlier tree size is made from these rows. Append-only, like the trail.
CREATE TABLE audit_tree (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TRIGGER audit_tree_no_update BEFORE UPDATE ON audit_tree
BEGIN SELECT RAISE(ABORT, 'the audit tree is append-only'); END;
CREATE TRIGGER audit_tree_no_delete BEFORE DELETE ON audit_tree
BEGIN SELECT RAISE(ABORT, 'the audit tree is append-only'); END;

-- Tree heads: every checkpoint accepted of each peer (each a proven extension of the one
-- before), and every one this node published (node = itself). The newest per node is the one
-- a new checkpoint must extend. `cosignature` is this node's countersignature (JSON) of a
-- peer's head it accepted.
CREATE TABLE audit_heads (
    node        TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    root        TEXT    NOT NULL,
    time_ms     INTEGER NOT NULL,
    raw         TEXT    NOT NULL,
    received_ms INTEGER NOT NULL,
    cosignature TEXT,
    PRIMARY KEY (node, size)
) WITHOUT ROWID;

-- Countersignatures of this node's own heads, from the witnesses that accepted them.
CREATE TABLE audit_cosignatures (
    size        INTEGER NOT NULL,
    root        TEXT    NOT NULL,
    witness     TEXT    NOT NULL,
    json        TEXT    NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (size, witness)
) WITHOUT ROWID;

-- Audit inconsistencies: found here (and reported to every member) or reported by a peer.
CREATE TABLE audit_inconsistencies (
    envelope  TEXT    PRIMARY KEY,
    node      TEXT    NOT NULL,
    reporter  TEXT    NOT NULL,
    code      TEXT    NOT NULL,
    detail    TEXT    NOT NULL,
    held_size INTEGER NOT NULL,
    at_ms     INTEGER NOT NULL
);
CREATE INDEX audit_inconsistencies_node ON audit_inconsistencies (node, reporter, held_size);

-- Replaced by audit_heads: it kept only the newest checkpoint, whatever it said.
DROP TABLE audit_checkpoints;
