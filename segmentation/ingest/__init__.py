"""Ingest: landing files become typed raw rows (the data contract and the loader)."""
