-- The audit trail on PostgreSQL: the same tables as the DuckDB trail, and the database itself
-- refusing what the trail must never do. Nobody (the owner included) can UPDATE, DELETE or
-- TRUNCATE an event or a checkpoint while these triggers stand; an event is accepted only as
-- the next sequence number with the correct hash chain, so no two writers can fork the log.
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
CREATE INDEX IF NOT EXISTS audit_events_subject ON audit_events (subject_person_id);
CREATE INDEX IF NOT EXISTS audit_events_recorded_at ON audit_events (recorded_at);
CREATE TABLE IF NOT EXISTS checkpoints (
    tree_size BIGINT NOT NULL,
    note VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE FUNCTION audit_accept_next() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq BIGINT;
    last_chain VARCHAR;
BEGIN
    SELECT seq, chain_hash INTO last_seq, last_chain
        FROM audit_events ORDER BY seq DESC LIMIT 1;
    IF NEW.seq <> coalesce(last_seq, -1) + 1 THEN
        RAISE EXCEPTION 'audit event % refused: the next sequence number is %',
            NEW.seq, coalesce(last_seq, -1) + 1 USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.chain_hash <> encode(sha256(decode(coalesce(last_chain, repeat('0', 64)), 'hex')
                                       || decode(NEW.leaf_hash, 'hex')), 'hex') THEN
        RAISE EXCEPTION 'audit event % refused: its chain hash does not follow event %',
            NEW.seq, last_seq USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER audit_events_next BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_accept_next();
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
