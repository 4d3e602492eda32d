"""Properties of the escaping every output uses (Hypothesis): whatever the text, it stays data."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from tiewatch import safetext

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=200) | st.sampled_from(
    ["</script>", "[/]", "[link=http://x]y[/link]", "\x1b[31m", "\u202e", "<img src=x onerror=alert(1)>"])


@given(TEXT)
def test_plain_has_no_controls_or_line_breaks(s: str) -> None:
    out = safetext.plain(s)
    assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", out)


@given(TEXT)
def test_the_terminal_prints_plain_text_as_it_is(s: str) -> None:
    from tiewatch.cli import console

    c = console()
    c.width = 10_000
    with c.capture() as cap:
        c.print(safetext.plain(s), end="")
    assert cap.get() == safetext.plain(s).rstrip(" ") or cap.get().rstrip() == safetext.plain(s).rstrip()


@given(st.recursive(TEXT | st.integers() | st.none(), lambda c: st.lists(c, max_size=4)
                    | st.dictionaries(TEXT, c, max_size=4), max_leaves=20))
def test_script_json_round_trips_and_cannot_close_a_script(obj: object) -> None:
    text = safetext.script_json(obj)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == obj


@given(TEXT)
def test_markdown_has_no_raw_html_or_link_syntax(s: str) -> None:
    out = safetext.markdown(s)
    assert "<" not in out and ">" not in out
    assert not re.search(r"(?<!\\)[\[\]]", out)


@given(st.recursive(TEXT | st.integers() | st.none(), lambda c: st.lists(c, max_size=4)
                    | st.dictionaries(TEXT, c, max_size=4), max_leaves=20))
def test_json_output_is_exact_and_inert_in_a_terminal(obj: object) -> None:
    text = safetext.json_text(obj)
    assert json.loads(text) == obj
    assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)
