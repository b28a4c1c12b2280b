-- Index schema version 2: what incremental linkage reuses, and time-bounded history.
-- An index upgraded from version 1 seeds its history from its current links, dated from when
-- that run linked them: the earliest moment the index itself can vouch for.

-- Incremental linkage (linkage.incremental): what the next run reuses instead of re-scoring.
-- Each record's hash of its standardised features, to tell unchanged records from changed ones.
CREATE TABLE IF NOT EXISTS record_fingerprints (
    unique_id VARCHAR PRIMARY KEY,
    content_hash UHUGEINT NOT NULL
);

-- Every pair the blocking rules generated (not only those kept as person_edges), with its
-- comparison vector: one gamma level per comparison, in the model's comparison order. Weights are
-- not stored: each run re-weighs the vectors under its own fitted model and term frequencies.
CREATE TABLE IF NOT EXISTS pair_comparisons (
    unique_id_l VARCHAR NOT NULL,
    unique_id_r VARCHAR NOT NULL,
    match_key UTINYINT NOT NULL,        -- the first blocking rule that generated the pair
    gamma TINYINT[] NOT NULL
);

-- Lineage of contents: which person and family each record belonged to, and when. Carried from
-- run to run; a row is closed (valid_to) when the record moves, or is withdrawn.
CREATE TABLE IF NOT EXISTS record_link_history (
    unique_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    family_id VARCHAR,
    valid_from TIMESTAMPTZ NOT NULL,
    valid_to TIMESTAMPTZ,
    opened_by_run VARCHAR,
    closed_by_run VARCHAR
);

-- Which persons each family held, and when (family_members holds the current rows only).
CREATE TABLE IF NOT EXISTS family_member_history (
    family_id VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    role VARCHAR,
    basis VARCHAR NOT NULL,
    valid_from TIMESTAMPTZ NOT NULL,
    valid_to TIMESTAMPTZ,
    opened_by_run VARCHAR,
    closed_by_run VARCHAR
);

INSERT INTO record_link_history
SELECT unique_id, source, record_id, person_id, family_id, linked_at, NULL, NULL, NULL
FROM record_links
WHERE NOT EXISTS (SELECT 1 FROM record_link_history);

INSERT INTO family_member_history
SELECT family_id, person_id, role, basis, valid_from, NULL, NULL, NULL
FROM family_members
WHERE NOT EXISTS (SELECT 1 FROM family_member_history);

-- Not INSERT OR REPLACE: an index loaded back from a PostgreSQL generation has no keys.
DELETE FROM meta WHERE key = 'schema_version';
INSERT INTO meta VALUES ('schema_version', '2');
