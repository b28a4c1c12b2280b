-- The owner-notification outbox, written in the same transaction as the audit event it tells of
-- (so a notification exists exactly when its event does), and the delivery attempts, appended
-- (never updated) so the history of every try stays readable.
CREATE TABLE IF NOT EXISTS notifications (
    seq BIGINT NOT NULL,
    agency VARCHAR NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    body VARCHAR NOT NULL,
    PRIMARY KEY (seq, agency)
);
CREATE TABLE IF NOT EXISTS notification_deliveries (
    seq BIGINT NOT NULL,
    agency VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,
    state VARCHAR NOT NULL,
    attempted_at TIMESTAMPTZ NOT NULL,
    next_at TIMESTAMPTZ,
    detail VARCHAR
);
