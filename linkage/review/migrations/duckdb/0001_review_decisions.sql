-- Reviewer decisions: append-only governance records (a reversal is a new row naming the old).
-- Idempotent, so a decisions file from before the migration ledger is recognised as version 1.
CREATE TABLE IF NOT EXISTS review_decisions (
    decision_id VARCHAR PRIMARY KEY,
    unique_id_l VARCHAR NOT NULL,
    unique_id_r VARCHAR NOT NULL,
    decision VARCHAR NOT NULL,
    decided_by VARCHAR NOT NULL,
    agency VARCHAR,
    decided_at TIMESTAMPTZ NOT NULL,
    reason VARCHAR NOT NULL,
    reverses VARCHAR
);
