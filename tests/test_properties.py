"""Property tests (hypothesis) over escaping and truncation: the guarantees hold for any text.

Every test runs without hypothesis's per-example deadline: these are pure functions, and a busy
machine must not turn a slow example into a failure.
"""

from __future__ import annotations

import html
import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from handler.render.mrkdwn import ELLIPSIS, HIDDEN_CHARS, escape, fit, utf16_len
from tests.conftest import VISIBLE_TEXT

MENTION = re.compile(r"<[!@#]")
ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=400) | st.text(
    alphabet="<>&!@#|*_~`here channel\n \u200d\U0001f469\U0001f1fa\U0001f1e6\u0301e", max_size=400
)


def unescape(text: str) -> str:
    return html.unescape(text.replace("@\u2060", "@"))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
@example("<!channel> <@U123> <#C1> <!subteam^S1|x> & <https://evil|click>")
def test_escaped_text_never_contains_slack_control_sequences(raw: str) -> None:
    escaped = escape(raw)
    assert "<" not in escaped and ">" not in escaped
    assert not MENTION.search(escaped)
    assert re.fullmatch(r"(?:[^&]|&amp;|&lt;|&gt;)*", escaped, flags=re.DOTALL)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VISIBLE_TEXT)
def test_escaping_loses_nothing(raw: str) -> None:
    assert unescape(escape(raw)) == raw


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="abc@ HERE channel everyone all", max_size=60))
@example("@here @channel @Everyone @all")
def test_broadcast_words_cannot_ping(raw: str) -> None:
    assert not re.search(r"@(here|channel|everyone|all)\b", escape(raw), flags=re.IGNORECASE)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT, st.integers(min_value=0, max_value=500))
def test_fit_respects_the_limit_and_keeps_a_clean_prefix(raw: str, limit: int) -> None:
    escaped = escape(raw)
    fitted = fit(escaped, limit)
    assert utf16_len(fitted) <= limit
    if utf16_len(escaped) <= limit:
        assert fitted == escaped
        return
    assert fitted.endswith(ELLIPSIS) or fitted == ""
    kept = fitted.removesuffix(ELLIPSIS)
    assert escaped.startswith(kept)
    assert re.fullmatch(r"(?:[^&]|&amp;|&lt;|&gt;)*", kept, flags=re.DOTALL), "an entity was split"
    assert unescape(escaped).startswith(unescape(kept)), "the kept text is not a prefix of the message"


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(alphabet="ab\u200d\U0001f469\U0001f3fd\U0001f1fa\U0001f1e6\u0301\ufe0f", min_size=1, max_size=60),
    st.integers(min_value=1, max_value=40),
)
def test_fit_never_splits_a_grapheme(raw: str, limit: int) -> None:
    kept = fit(raw, limit).removesuffix(ELLIPSIS)
    if kept and kept != raw:
        following = raw[len(kept)] if len(kept) < len(raw) else ""
        assert not kept.endswith("\u200d")
        assert following not in ("\u200d", "\u0301", "\ufe0f", "\U0001f3fd")
        regional = re.search(r"[\U0001f1e6-\U0001f1ff]+$", kept)
        if regional and following and "\U0001f1e6" <= following <= "\U0001f1ff":
            assert len(regional.group()) % 2 == 0


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="ab<>|", max_size=40), st.integers(min_value=5, max_value=80))
def test_fit_never_cuts_inside_a_link(label: str, limit: int) -> None:
    text = f"see <https://example.com/{escape(label)}|{escape(label)}> now"
    kept = fit(text, limit).removesuffix(ELLIPSIS)
    assert kept.count("<") == kept.count(">")


#: Pieces whose boundaries are where cuts go wrong: entities (from & < >), combining marks,
#: emoji modifiers and joiners, regional indicators, and plain letters between them.
PIECES = st.sampled_from(
    [
        "x",
        "y",
        " ",
        "&",
        "<",
        ">",
        "\u0301",
        "\u0308",
        "\u200d",
        "\ufe0f",
        "\U0001f3fd",
        "\U0001f469",
        "\U0001f1fa",
        "\U0001f1e6",
        "e",
        "\r",
        "\n",
    ]
)
ENTITY_AND_GRAPHEME_TEXT = st.lists(PIECES, max_size=60).map("".join)
EXTENDERS = {"\u0301", "\u0308", "\u200d", "\ufe0f", "\U0001f3fd"}


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ENTITY_AND_GRAPHEME_TEXT, st.integers(min_value=1, max_value=60))
@example("x" * 10 + "&\u0301" + "y" * 20, 16)
@example("<\u0301\u0301>\u0308", 6)
@example("&&\u0301\u200d\n&", 14)  # trailing white space dropped after a joiner
def test_fit_splits_neither_an_entity_nor_a_grapheme(raw: str, limit: int) -> None:
    escaped = escape(raw)
    fitted = fit(escaped, limit)
    assert utf16_len(fitted) <= limit
    if fitted == escaped:
        return
    kept = fitted.removesuffix(ELLIPSIS)
    assert escaped.startswith(kept)
    assert re.fullmatch(r"(?:[^&]|&amp;|&lt;|&gt;)*", kept, flags=re.DOTALL), "an entity was split"
    following = escaped[len(kept)] if kept and len(kept) < len(escaped) else ""
    assert following not in EXTENDERS, f"a grapheme was split before {following!r}"
    assert not kept.endswith("\u200d")


#: Characters that reorder or hide text, mixed with ordinary text.
HIDING_TEXT = st.lists(
    st.sampled_from([*HIDDEN_CHARS, "\u200c", "\u200d", "a", "b", "@", "here", "\u05d0", "\U0001f469"]),
    max_size=80,
).map("".join)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HIDING_TEXT | ANY_TEXT)
@example("main\u202e\u2066txt.exe\u2069")
@example("ma\u200bin")
@example("release\u2028DEPLOYED")
def test_nothing_that_reorders_or_hides_text_survives_escaping(raw: str) -> None:
    escaped = escape(raw)
    for index, char in enumerate(escaped):
        if char == "\u2060":
            assert index > 0 and escaped[index - 1] == "@", "a word joiner not of our making"
        elif char in HIDDEN_CHARS:
            raise AssertionError(f"{char!r} survived escaping")
        elif char in "\u200c\u200d":
            assert index > 0 and not escaped[index - 1].isascii(), "a joiner disguising ASCII text"
