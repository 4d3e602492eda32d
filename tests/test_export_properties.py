"""Property tests of the export parsers: text repair, edge names and both like layouts, on generated input."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tiewatch.sources.exports import repair_text, repair_tree
from tiewatch.sources.instagram import _like, _user

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20)
USERNAME = st.from_regex(r"[A-Za-z0-9._]{1,30}", fullmatch=True)


@given(st.text())
def test_mojibake_is_undone(text: str) -> None:
    assert repair_text(text.encode("utf-8").decode("latin-1")) == text


@given(st.text())
def test_repair_only_where_it_round_trips(text: str) -> None:
    fixed = repair_text(text)
    assert fixed == text or fixed.encode("utf-8").decode("latin-1") == text


@given(JSON)
def test_repair_keeps_the_shape(data: Any) -> None:
    fixed = repair_tree(data)
    assert type(fixed) is type(data)
    if isinstance(data, list):
        assert len(fixed) == len(data)


@given(USERNAME, st.sampled_from(["https://www.instagram.com/_u/", "https://www.instagram.com/",
                                  "http://instagram.com/_u/"]), st.booleans())
def test_edge_names_from_value_title_or_href(user: str, prefix: str, slash: bool) -> None:
    href = prefix + user + ("/" if slash else "")
    assert _user({"href": href, "timestamp": 1}) == user
    assert _user({"href": href, "title": "", "value": user}) == user
    assert _user({"href": "https://example.com/x", "title": user}) == user


@given(JSON)
def test_likes_in_any_shape_are_read_or_refused_never_crash(item: Any) -> None:
    got = _like(item)
    assert got is None or (isinstance(got[0], str) and got[0])


@given(USERNAME, st.integers(min_value=0, max_value=2_000_000_000), USERNAME)
def test_both_like_layouts_give_the_same_like(owner: str, ts: int, code: str) -> None:
    url = f"https://www.instagram.com/p/{code}/"
    old = {"title": owner, "string_list_data": [{"href": url, "value": "👍", "timestamp": ts}]}
    new = {"timestamp": ts, "label_values": [
        {"label": "URL", "value": url, "href": url},
        {"title": "Owner", "dict": [{"dict": [{"label": "URL", "value": "https://www.instagram.com/" + owner},
                                              {"label": "Username", "value": owner}], "title": ""}]}],
           "fbid": "1"}
    assert _like(old) == _like(new) == (url, ts, owner)
