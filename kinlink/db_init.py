"""``kinlink db init``: a PostgreSQL database made ready for kinlink, and the gateway's role.

Two roles, as the deployment notes describe: the **owner** runs this and the nightly link; the
**gateway's** role reads what it serves and writes only what a request must leave behind. Every
store is created here, as the owner, so the gateway never needs to create anything, and the
grants are the whole of what it may do:

* index generations (published by the owner, now and in future): read;
* the audit trail: append and read, never change (and the database refuses changes anyway);
* reviewer decisions: append and read;
* client and staff registers: read, add, update; one-time tokens: read, add, spend.
"""

from __future__ import annotations

import time

import psycopg
from psycopg import sql

from stores.database import PostgresLocation, close_pools

__all__ = ["init_database"]


def init_database(location: PostgresLocation, gateway_role: str,
                  audit_origin: str | None = None) -> None:
    from audit.postgres import grant_writer
    from gateway.clients import ClientRegistry
    from gateway.one_time import SharedReplayCache
    from gateway.users import StaffRegistry
    from linkage.index import postgres as index_store
    from linkage.review.decisions import DecisionStore

    grant_writer(location, gateway_role, audit_origin)        # the audit trail, migrated
    with psycopg.connect(location.url, autocommit=True) as con:
        index_store.ensure_control_tables(con)
    DecisionStore(location).active()                          # migrates the decisions store
    ClientRegistry(location).list()
    StaffRegistry(location).authenticate("kinlink-db-init", "-")
    SharedReplayCache(location, "db-init", 1.0).check_and_add("db-init", time.time())
    close_pools()

    who = sql.Identifier(gateway_role)
    statements = [
        "GRANT USAGE ON SCHEMA public TO {who}",
        "GRANT SELECT ON schema_migrations, index_generations, index_columns, index_current "
        "TO {who}",
        "GRANT SELECT, INSERT ON review_decisions TO {who}",
        "GRANT SELECT, INSERT, UPDATE ON clients, staff_users TO {who}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON gateway_one_time TO {who}",
        # Generations the owner publishes later: their schemas and tables readable as created.
        "ALTER DEFAULT PRIVILEGES GRANT USAGE ON SCHEMAS TO {who}",
        "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO {who}",
    ]
    with psycopg.connect(location.url, autocommit=True) as con, con.transaction():
        for statement in statements:
            con.execute(sql.SQL(statement).format(who=who))
        for (schema,) in con.execute("SELECT schema_name FROM index_generations").fetchall():
            con.execute(sql.SQL("GRANT USAGE ON SCHEMA {s} TO {who}").format(
                s=sql.Identifier(schema), who=who))
            con.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {who}").format(
                s=sql.Identifier(schema), who=who))
