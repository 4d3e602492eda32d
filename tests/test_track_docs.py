"""docs/track.md stays true: its alert file parses with the tracker's own parser, and every flag its commands,
unit and cron line use exists."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from click.testing import CliRunner

from tiewatch.cli import app
from tiewatch.track.alerts.config import parse
from tiewatch.track.config import endpoints

DOC = Path(__file__).resolve().parents[1] / "docs" / "track.md"


def test_the_documented_alert_file_is_one_the_tracker_accepts() -> None:
    block = re.search(r"```toml\n(.*?)```", DOC.read_text(), re.S)
    assert block
    config = tomllib.loads(block.group(1))
    alerts = parse(config, "docs/track.md")
    assert sorted(c.type for c in alerts.channels) == ["discord", "email", "log", "ntfy", "slack", "webhook"]
    assert len(alerts.rules) == 1
    endpoints(config, "docs/track.md")


def test_every_flag_the_doc_uses_exists() -> None:
    text = DOC.read_text()
    used = {m.group(1) for line in text.splitlines() if "track run" in line
            for m in re.finditer(r"(--[a-z][a-z-]+)", line.split("track run", 1)[1])}
    assert {"--every", "--once", "--alerts"} <= used
    helped = CliRunner().invoke(app, ["track", "run", "--help"]).output
    assert all(flag in helped for flag in used), used - {f for f in used if f in helped}
    for flag in re.findall(r"`(--[a-z][a-z-]+)", text):
        assert flag in helped or flag in CliRunner().invoke(app, ["--help"]).output, flag
