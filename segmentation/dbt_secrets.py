"""A dbt-duckdb plugin that hands secrets to SQL at run time, never through rendered SQL.

dbt renders `env_var(...)` and `var(...)` into the compiled SQL, which dbt keeps in
target/compiled, target/run, target/manifest.json, run_results.json and logs/dbt.log (and
`dbt docs serve` shows). A secret such as the contact-key salt must not end up there. So the
profile loads this plugin (profiles.yml, `plugins:`); it reads the secret from the
environment when dbt opens the warehouse and sets it as a DuckDB variable on every
connection and cursor, bound as a parameter. Models read it with
`getvariable('segmentation_contact_key_salt')` (macro contact_key_salt()); the compiled SQL
holds only that name.

dbt-spark and dbt-postgres have no such plugins: `secrets_for_dbt` hands the salt to those
engines before each dbt command that `segmentation` runs (PostgreSQL: a setting in PGOPTIONS;
Spark: a temporary view of the session).
"""

from __future__ import annotations

import os
from pathlib import Path

from dbt.adapters.duckdb.plugins import BasePlugin

CONTACT_KEY_SALT_ENV = "SEGMENTATION_CONTACT_KEY_SALT"
# Public: only good enough for the generated sample data (README, Configuration).
SAMPLE_CONTACT_KEY_SALT = "sample-data-only-not-a-secret"
CONTACT_KEY_SALT_VARIABLE = "segmentation_contact_key_salt"


def contact_key_salt() -> str:
    return os.environ.get(CONTACT_KEY_SALT_ENV, SAMPLE_CONTACT_KEY_SALT)


def secrets_for_dbt(target: str, project_dir: Path) -> dict[str, str]:
    """Hand the secrets to the engine of `target` for the next dbt command, outside dbt
    (segmentation.engines.hand_secrets_to_engine); the environment variables to set while it runs."""
    from segmentation.engines import hand_secrets_to_engine

    return hand_secrets_to_engine({"contact_key_salt": contact_key_salt()}, project_dir, target)


class Plugin(BasePlugin):
    """Sets the secrets as DuckDB variables on dbt-duckdb's connection and each cursor
    (a cursor is a new DuckDB connection and does not inherit variables)."""

    def configure_connection(self, conn) -> None:
        _set_secrets(conn)

    def configure_cursor(self, cursor) -> None:
        _set_secrets(cursor)


def _set_secrets(connection) -> None:
    connection.execute(f"SET VARIABLE {CONTACT_KEY_SALT_VARIABLE} = ?", [contact_key_salt()])
