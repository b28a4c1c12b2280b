-- Owner notifications are derived from the committed log instead of written in each event's
-- transaction, which cost the disclosure path a statement per group commit. A notifier round
-- (one worker at a time, under an advisory lock) writes the notifications of the events after
-- the last one covered and appends its new position here, in one transaction: a notification
-- exists exactly when its event is on record, and none is written twice. Append-only like the
-- outbox: a position is never changed, only followed by a later one.
CREATE TABLE IF NOT EXISTS notification_progress (
    last_seq BIGINT PRIMARY KEY,
    derived_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- An existing trail: every event so far was told (or, before the outbox, not) by its writer in
-- its own transaction. None is told again, and the notifier starts after the last. Writers of
-- the previous release still running tell theirs in their own transaction; the notifier's
-- inserts skip a notification already there.
INSERT INTO notification_progress (last_seq)
    SELECT seq FROM audit_events ORDER BY seq DESC LIMIT 1;
CREATE TRIGGER notification_progress_append_only BEFORE UPDATE OR DELETE
    ON notification_progress FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER notification_progress_no_truncate BEFORE TRUNCATE ON notification_progress
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
