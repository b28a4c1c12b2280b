"""The bottom layer: where an install keeps things, and how it is configured.

Every other package may import from here and nothing here imports from them, so the arrows run
one way: the ``kinlink`` command (face) → ``gateway`` → ``linkage`` / ``audit`` / ``policies`` →
``stores``. ``database`` tells a DuckDB file from a PostgreSQL URL once; ``migrations`` versions
every store's schema; ``layout`` names every file a DuckDB install keeps; ``config`` is the one
typed configuration.
"""
