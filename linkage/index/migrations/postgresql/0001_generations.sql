-- The identity index on PostgreSQL: each link run publishes a whole generation into a schema of
-- its own (index_g<generation>, tables as the run's DuckDB build wrote them), and readers follow
-- the one row of index_current. Swapping generations is one UPDATE, so a reader never sees half
-- of a run; the generation before the current one is kept so a reader part way through loading it
-- when the swap commits can finish.

CREATE SEQUENCE IF NOT EXISTS index_generation_seq;

CREATE TABLE IF NOT EXISTS index_generations (
    generation BIGINT PRIMARY KEY,
    schema_name TEXT NOT NULL UNIQUE,
    run_id TEXT,
    index_schema_version INTEGER NOT NULL,   -- the DuckDB index migration the build was at
    published_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    publish_seconds DOUBLE PRECISION
);

-- The DuckDB type of every column of every generation, so a generation loads back into DuckDB
-- exactly as it was built (lists travel as JSON, huge integers as numeric).
CREATE TABLE IF NOT EXISTS index_columns (
    generation BIGINT NOT NULL REFERENCES index_generations ON DELETE CASCADE,
    table_name TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    column_name TEXT NOT NULL,
    duckdb_type TEXT NOT NULL,
    PRIMARY KEY (generation, table_name, ordinal)
);

CREATE TABLE IF NOT EXISTS index_current (
    singleton BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
    generation BIGINT NOT NULL REFERENCES index_generations
);
