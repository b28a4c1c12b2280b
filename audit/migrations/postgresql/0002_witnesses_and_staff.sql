-- IG's records beside the trail on PostgreSQL: partners' countersignatures of checkpoints
-- (append-only, like the trail) and the staff register the anomaly rules read.
CREATE TABLE IF NOT EXISTS witness_cosignatures (
    witness VARCHAR NOT NULL,
    tree_size BIGINT NOT NULL,
    note VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TRIGGER witness_cosignatures_append_only BEFORE UPDATE OR DELETE ON witness_cosignatures
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER witness_cosignatures_no_truncate BEFORE TRUNCATE ON witness_cosignatures
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TABLE IF NOT EXISTS staff_register (
    user_id VARCHAR PRIMARY KEY,
    person_id VARCHAR NOT NULL,
    added_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
