-- The audit trail as first released: events with leaf and chain hashes, signed checkpoints.
-- IF NOT EXISTS: a trail written before migrations were recorded is recognised as version 1.
CREATE TABLE IF NOT EXISTS audit_events (
    seq BIGINT PRIMARY KEY,
    recorded_at TIMESTAMPTZ NOT NULL,
    event_type VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL,
    subject_person_id VARCHAR,
    user_id VARCHAR,
    agency VARCHAR,
    purpose VARCHAR,
    event_json VARCHAR NOT NULL,
    leaf_hash VARCHAR NOT NULL,
    chain_hash VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    tree_size BIGINT NOT NULL,
    note VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
