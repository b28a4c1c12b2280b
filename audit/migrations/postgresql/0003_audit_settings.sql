-- The install's settings kept with its trail: its origin, the log's name in every checkpoint.
-- Never deleted; changed only while no checkpoint has been signed under it (afterwards a change
-- would make every earlier checkpoint name another log).
CREATE TABLE IF NOT EXISTS audit_settings (
    name VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

CREATE OR REPLACE FUNCTION audit_settings_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.name = OLD.name AND NOT EXISTS (SELECT 1 FROM checkpoints) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit setting %: % refused once checkpoints exist', OLD.name, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_settings_guarded BEFORE UPDATE OR DELETE ON audit_settings
    FOR EACH ROW EXECUTE FUNCTION audit_settings_guard();
CREATE TRIGGER audit_settings_no_truncate BEFORE TRUNCATE ON audit_settings
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
