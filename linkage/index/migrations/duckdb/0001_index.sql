-- Index schema version 1: persons, families, record links, lineage, the review queue.
-- Every statement is idempotent, so an index file written before the migration ledger existed is
-- recognised as at this version (see linkage.index.schema) and upgraded in place.

CREATE TABLE IF NOT EXISTS meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR
);

CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    sources_dir VARCHAR,
    model_hash VARCHAR,
    summary JSON
);

-- Each source record as delivered, mapped onto the contract (bad fields nulled).
CREATE TABLE IF NOT EXISTS source_records (
    unique_id VARCHAR PRIMARY KEY,
    source VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    agency VARCHAR NOT NULL,
    row_number BIGINT,
    nhs_number VARCHAR,
    upn VARCHAR,
    local_id VARCHAR,
    given_name VARCHAR,
    middle_names VARCHAR,
    family_name VARCHAR,
    dob VARCHAR,
    sex VARCHAR,
    postcode VARCHAR,
    address VARCHAR,
    attributes JSON
);

-- Data category of each extra column, per source (from the source's YAML configuration).
CREATE TABLE IF NOT EXISTS attribute_categories (
    source VARCHAR NOT NULL,
    column_name VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    PRIMARY KEY (source, column_name)
);

-- A shared person identifier; retired IDs keep resolving to their survivor.
CREATE TABLE IF NOT EXISTS persons (
    person_id VARCHAR PRIMARY KEY,
    status VARCHAR NOT NULL,            -- active | retired
    created_at TIMESTAMPTZ NOT NULL,
    retired_at TIMESTAMPTZ,
    survivor_id VARCHAR,
    record_count INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS record_links (
    unique_id VARCHAR PRIMARY KEY,
    source VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    family_id VARCHAR,
    match_probability DOUBLE,
    match_grade VARCHAR NOT NULL,       -- certain | probable | possible | sole
    linked_at TIMESTAMPTZ NOT NULL
);

-- The scored pairs behind each person: the evidence a reviewer or an explanation reads.
CREATE TABLE IF NOT EXISTS person_edges (
    unique_id_l VARCHAR NOT NULL,
    unique_id_r VARCHAR NOT NULL,
    match_weight DOUBLE NOT NULL,
    match_probability DOUBLE NOT NULL,
    personal_evidence BOOLEAN NOT NULL, -- agrees on something personal to one child
    outcome VARCHAR NOT NULL            -- linked | below_threshold | held:ambiguous | constraint:<name>
);

CREATE TABLE IF NOT EXISTS families (
    family_id VARCHAR PRIMARY KEY,
    status VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    retired_at TIMESTAMPTZ,
    survivor_id VARCHAR,
    member_count INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS family_members (
    family_id VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    role VARCHAR,                       -- child | adult | unknown
    basis VARCHAR NOT NULL,             -- relationship | co-residence | alone
    valid_from TIMESTAMPTZ NOT NULL,
    valid_to TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS relationships (
    source VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    related_record_id VARCHAR NOT NULL,
    relationship VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS lineage (
    event_id BIGINT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    run_id VARCHAR,
    entity_type VARCHAR NOT NULL,       -- person | family
    entity_id VARCHAR NOT NULL,
    event VARCHAR NOT NULL,             -- created | merged | retired | split | record_added | record_removed
    other_id VARCHAR,
    reason VARCHAR NOT NULL,            -- model | new_record | withdrawn_record | reviewer_decision
    actor VARCHAR,
    detail JSON
);

-- Uncertain pairs for a person to settle.
CREATE TABLE IF NOT EXISTS review_candidates (
    unique_id_l VARCHAR NOT NULL,
    unique_id_r VARCHAR NOT NULL,
    match_probability DOUBLE NOT NULL,
    match_weight DOUBLE NOT NULL,
    reason VARCHAR NOT NULL
);

-- Reviewer decisions are not here: they live in <stem>.decisions.duckdb (linkage.review.decisions)
-- so that no index swap can lose one.

CREATE TABLE IF NOT EXISTS rejects (
    file VARCHAR NOT NULL,
    row_number BIGINT,
    field VARCHAR,
    problem VARCHAR NOT NULL
);

INSERT OR REPLACE INTO meta VALUES ('schema_version', '1');
