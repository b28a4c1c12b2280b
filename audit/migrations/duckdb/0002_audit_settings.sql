-- What an install keeps with its trail: its origin (the log's name in every checkpoint), so that
-- a witness serving several councils can tell their logs apart and a verifier can check it.
CREATE TABLE IF NOT EXISTS audit_settings (
    name VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
