"""Source adapters: each turns one input format into a relation of raw records (pure parsing, no storage)."""
