"""Regenerate the vendored chart library (static/vega.js) from the installed vl-convert package:
`python -m tiewatch.views.vendor`. Pages use it to draw Vega-Lite specs; nothing is fetched from a CDN."""

from __future__ import annotations

from pathlib import Path

TARGET = Path(__file__).parent / "static" / "vega.js"


def main() -> None:
    import vl_convert as vlc

    version = getattr(vlc, "__version__", "?")
    header = ("/* Vega, Vega-Lite and Vega-Embed (BSD-3-Clause, the Vega project, https://vega.github.io), bundled "
              f"by\n   vl-convert-python {version} `vl_convert.javascript_bundle()`; regenerate with\n"
              "   `python -m tiewatch.views.vendor`. Served by `tiewatch serve` and copied into `tiewatch report` "
              "exports;\n   nothing is fetched from a CDN. */\n")
    TARGET.write_text(header + vlc.javascript_bundle())  # type: ignore[call-arg]
    print(f"wrote {TARGET} ({TARGET.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
