"""Engine-specific Python: one module per engine (duckdb, spark), chosen once from the dbt target."""
