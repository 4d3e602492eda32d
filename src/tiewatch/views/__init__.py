"""Views: read-only summaries over the tables and stored signals (timelines, account pages, briefs, charts)."""
