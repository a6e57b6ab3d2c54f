"""The review report: one self-contained HTML file for service managers."""
