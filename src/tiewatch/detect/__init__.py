"""Detectors: one module per signal kind, each a set-based query returning candidate signals and its test count."""
