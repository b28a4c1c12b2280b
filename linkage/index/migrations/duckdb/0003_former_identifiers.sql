-- Index schema version 3: the identifiers agencies' own formats carry (issue 16) are kept with
-- each source record as read, so a person view and a reviewer see what linkage compared.
-- Appended after `attributes`, as ALTER TABLE does; an upgraded index's older records have them
-- null (they were read before kinlink kept them), and the next run fills them in.

ALTER TABLE source_records ADD COLUMN IF NOT EXISTS former_upn VARCHAR;
ALTER TABLE source_records ADD COLUMN IF NOT EXISTS former_family_name VARCHAR;
ALTER TABLE source_records ADD COLUMN IF NOT EXISTS uprn VARCHAR;
-- ISO date, as `dob`: a child expected but not yet born (CIN census, D2I SSD, CSC API).
ALTER TABLE source_records ADD COLUMN IF NOT EXISTS expected_dob VARCHAR;

-- Not INSERT OR REPLACE: a PostgreSQL generation loaded back into DuckDB to be upgraded has its
-- tables without their keys (linkage.index.transfer copies columns and types only).
DELETE FROM meta WHERE key = 'schema_version';
INSERT INTO meta VALUES ('schema_version', '3');
