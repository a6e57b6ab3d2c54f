"""Customer service segmentation: domain logic that is not SQL (CLI, sample data, loading, CLV models)."""

__version__ = "0.1.0"
