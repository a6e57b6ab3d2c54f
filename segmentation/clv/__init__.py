"""Customer lifetime value statistics: BG/NBD and Gamma-Gamma estimation, and the CLV tables."""
