"""The web front end: `tiewatch serve` (pages and JSON API) and the static export behind `tiewatch report`."""
