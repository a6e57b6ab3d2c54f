"""Dagster definitions for the segmentation warehouse. Nothing imports this package."""
