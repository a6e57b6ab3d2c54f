"""`segmentation-dbt`: dbt's own command line, with the engine's secrets handed over first.

Dagster runs dbt as a subprocess (dagster-dbt's `DbtCliResource`). On PostgreSQL and Spark the
contact-key salt reaches the engine beside dbt, never through it (segmentation/dbt_secrets.py):
PGOPTIONS for PostgreSQL, a temporary view on the Spark session that dbt-spark's session mode
then reuses. Plain `dbt` in a subprocess would have neither, so Dagster runs this instead; its
arguments and exit codes are dbt's.
"""

from __future__ import annotations

import os
import sys

# Commands that never open a connection: no secrets needed, and on Spark no JVM started for them.
_NO_CONNECTION = {"parse", "deps", "clean", "list", "ls", "init", "--version", "--help", "-h"}


def main() -> None:
    from dbt.cli.main import cli  # imported here: dbt is slow to import

    from segmentation.config import PROJECT_DIR
    from segmentation.dbt_secrets import secrets_for_dbt
    from segmentation.engines import dbt_target

    command = next((argument for argument in sys.argv[1:] if not argument.startswith("--")
                    or argument in {"--version", "--help"}), "")
    if command not in _NO_CONNECTION:
        os.environ.update(secrets_for_dbt(dbt_target(), PROJECT_DIR))
    cli()


if __name__ == "__main__":
    main()
