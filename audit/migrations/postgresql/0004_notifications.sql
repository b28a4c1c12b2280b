-- The owner-notification outbox, written in the same transaction as the audit event it tells of,
-- and the delivery attempts. Both append-only like the trail: a notification is never changed
-- or withdrawn, and a delivery's history is a list of attempts, never an edited status.
CREATE TABLE IF NOT EXISTS notifications (
    seq BIGINT NOT NULL,
    agency VARCHAR NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    body VARCHAR NOT NULL,
    PRIMARY KEY (seq, agency)
);
CREATE INDEX IF NOT EXISTS notifications_agency ON notifications (agency, seq);
CREATE TABLE IF NOT EXISTS notification_deliveries (
    seq BIGINT NOT NULL,
    agency VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,
    state VARCHAR NOT NULL,
    attempted_at TIMESTAMPTZ NOT NULL,
    next_at TIMESTAMPTZ,
    detail VARCHAR
);
CREATE INDEX IF NOT EXISTS notification_deliveries_key ON notification_deliveries (seq, agency);
CREATE TRIGGER notifications_append_only BEFORE UPDATE OR DELETE ON notifications
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER notifications_no_truncate BEFORE TRUNCATE ON notifications
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER notification_deliveries_append_only BEFORE UPDATE OR DELETE
    ON notification_deliveries FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
