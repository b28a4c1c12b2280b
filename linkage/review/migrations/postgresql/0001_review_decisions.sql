-- Reviewer decisions: append-only governance records (a reversal is a new row naming the old).
-- They live beside the index generations, never inside one, so no publish can lose a decision.
CREATE TABLE IF NOT EXISTS review_decisions (
    decision_id TEXT PRIMARY KEY,
    unique_id_l TEXT NOT NULL,
    unique_id_r TEXT NOT NULL,
    decision TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    agency TEXT,
    decided_at TIMESTAMPTZ NOT NULL,
    reason TEXT NOT NULL,
    reverses TEXT REFERENCES review_decisions (decision_id)
);

-- Append-only in the database itself, not only in the code that writes it.
CREATE OR REPLACE FUNCTION review_decisions_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'review decisions are append-only: record a reversal instead';
END;
$$;

DROP TRIGGER IF EXISTS review_decisions_append_only ON review_decisions;
CREATE TRIGGER review_decisions_append_only BEFORE UPDATE OR DELETE ON review_decisions
FOR EACH ROW EXECUTE FUNCTION review_decisions_append_only();
