"""Sample data: the deterministic generator behind `segmentation generate` and `make run`."""
