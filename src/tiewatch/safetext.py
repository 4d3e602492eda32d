"""Printing data as data: names, titles and texts from the store never act as markup, escapes or code.

Every front end passes stored strings through here: `plain` removes control characters (ESC sequences, NUL,
bell) and the invisible bidirectional overrides that can make text read differently from what it is (the
terminal console has Rich markup turned off, so `[/]` or `[link=...]` in a name is printed as it is);
`clean_tree` applies `plain` to every string in
a chart spec (the chart renderer aborts the whole process on a control character); `script_json` is JSON
safe to embed inside an HTML <script> element; `markdown` escapes Markdown and inline HTML.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 controls (tab, newline and carriage return become spaces), DEL, C1 controls, and the Unicode
# bidirectional embedding/override/isolate controls and directional marks.
_LINE_BREAKS = re.compile(r"[\t\n\r\v\f]+")
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def plain(value: object) -> str:
    """One line of visible text: control and bidi-override characters removed, line breaks as spaces."""
    text = "" if value is None else str(value)
    return _CONTROLS.sub("", _LINE_BREAKS.sub(" ", text))


def clean_tree(obj: Any) -> Any:
    """A copy of a JSON-like structure with `plain` applied to every string (keys included)."""
    if isinstance(obj, str):
        return plain(obj)
    if isinstance(obj, dict):
        return {clean_tree(k): clean_tree(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean_tree(v) for v in obj]
    return obj


def script_json(obj: Any) -> str:
    """JSON that cannot end or break out of the <script> element it is written into."""
    text = json.dumps(obj, ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]#+!|~>])")  # brackets (links), emphasis, code, headings, tables


def markdown(value: object) -> str:
    """`plain` text safe as Markdown prose: HTML-significant characters as entities, Markdown syntax escaped."""
    text = plain(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_text(obj: Any) -> str:
    """JSON for a terminal or a pipe: the data exactly, with the characters a terminal could act on (C1
    controls, bidi overrides; C0 controls are escaped by JSON itself) written as \\u escapes."""
    text = json.dumps(obj, ensure_ascii=False, default=str)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
