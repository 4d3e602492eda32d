"""tiewatch: watch the ties between public accounts and report, with evidence, when one changes."""

__version__ = "0.1.0"
