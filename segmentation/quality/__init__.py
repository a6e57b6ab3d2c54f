"""The data-quality gate: Great Expectations suites (suites.py) and the runner (gate.py)."""
