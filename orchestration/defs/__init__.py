"""One module per concern: resources, ingestion, dbt, quality, publish, schedules."""
