"""Mattermost's Markdown: no git- or user-written text can ping, link, or format, in any field.

The checks model what a Mattermost server and client do with a webhook post:

1. the server translates Slack syntax first: ``<url|label>`` → ``[label](url)`` in attachment
   text, pretext and field values (``linkWithTextRegex`` in Mattermost's ``model/slack_attachment.go``),
   and ``<!channel>``/``<!here>``/``<!all>`` → ``@channel`` and the like;
2. the client renders Markdown: a backslash escapes the ASCII punctuation after it, a run of
   backticks opens a code span that only the same run closes;
3. mentions (``@word``) and channel links (``~word``) notify wherever they are, code spans
   included; a word joiner (U+2060) after the ``@`` or ``~`` defuses them.

So the properties: after step 1, outside code spans no unescaped ``[``, ``<``, ``*``, ``_`` or
``~`` remains (no link, image, autolink, emphasis or strike-through can start), and nowhere is an
``@`` or ``~`` directly followed by a word character. And escaping loses nothing: removing the
escapes gives the text back. Hypothesis deadlines are off: pure functions on a busy machine.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from handler.model import (
    ChangeType,
    Commit,
    FileChange,
    Notification,
    ParentDiff,
    Person,
    Push,
    RefAction,
    RefChange,
    RefKind,
    RefReport,
    Repository,
    parse_pusher,
)
from handler.render.markdown import MATTERMOST_POST_LIMIT, code, escape, fit, plain
from handler.render.markup import MATTERMOST, SLACK
from handler.render.mrkdwn import ELLIPSIS, utf16_len
from handler.render.push import OVERFLOW_COLOR, payload_length, render
from handler.settings import RenderSettings
from tests.conftest import VISIBLE_TEXT

HOSTILE = st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.text(
    alphabet="<>&!@~#|*_`[]()\\-+=.1 here channel all alice http://evil\n\t", max_size=300
)
SLACK_LINK = re.compile(r"<([^<|]+)\|([^>]+)>")
ANNOUNCEMENT = re.compile(r"<!(channel|here|all)>")
LIVE_MENTION = re.compile(r"[@~](?=\w)")
SYNTAX_OPENERS = frozenset("[<*_~")
#: Where our own links may point: the AWS console (handler.render.links).
OWN_LINK = re.compile(
    r"\[(?:(`+)(?!`).*?(?<!`)\1(?!`)|\\.|[^\]\\`])*\]\(https://[a-z0-9-]+\.console\.aws\.amazon\.com/[^)\s]*\)",
    re.DOTALL,
)


#: The destination part of one of our own links (a URL, percent-encoded: it can hold a ``~``).
OWN_URL = re.compile(r"\]\(https://[a-z0-9-]+\.console\.aws\.amazon\.com/[^)\s]*\)")


def server_side(text: str) -> str:
    """What the Mattermost server stores for a webhook's Markdown field (step 1 above)."""
    return ANNOUNCEMENT.sub(r"@\1", SLACK_LINK.sub(r"[\2](\1)", text))


#: An autolink whose text is its address (a URL in the text, ``markdown.escape``): not disguised.
AUTOLINK = re.compile(r"<(?:https?|ftp)://[^\s<>|]*>|\[(?:\\.|[^\]\\])*\]\(<http://(www\.[^\s<>|]*)>\)")


def live_syntax(text: str) -> list[str]:
    """The unescaped syntax openers outside code spans and URL autolinks (step 2), in order."""
    found: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        autolink = AUTOLINK.match(text, index)
        if autolink:
            index = autolink.end()
            continue
        if (
            char == "\\"
            and index + 1 < len(text)
            and text[index + 1].isascii()
            and not text[index + 1].isalnum()
        ):
            index += 2
            continue
        if char == "`":
            run = len(text[index:]) - len(text[index:].lstrip("`"))
            closing = text.find("`" * run, index + run)
            if closing != -1:
                index = closing + run
                continue
        if char in SYNTAX_OPENERS:
            found.append(char)
        index += 1
    return found


def unescape(escaped: str) -> str:
    """The text an escaped string shows: autolinks, escapes and ``&#124;`` undone, left to right."""
    text = AUTOLINK.sub(lambda link: (link.group(1) or link.group()[1:-1]).replace("\\", "\0"), escaped)
    text = re.sub(r"\\([!-/:-@\[-`{-~])|&#124;", lambda m: m.group(1) or "|", text.replace("\u2060", ""))
    return text.replace("\0", "\\")


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE)
@example("@channel @here @all @alice ~town-square <!channel> <!here|x>")
@example("<https://evil.example|click here> [click](https://evil.example) ![img](https://evil.example/x.png)")
@example("**bold** _it_ ~~strike~~ `code` # Heading\n- list\n1. one\n> quote\n| a | b |")
@example("\\<http://evil|x\\>")
def test_escaped_text_can_neither_ping_nor_link_nor_format(raw: str) -> None:
    stored = server_side(escape(raw))
    assert live_syntax(stored) == [], stored
    assert not LIVE_MENTION.search(stored), stored


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VISIBLE_TEXT)
def test_escaping_loses_nothing(raw: str) -> None:
    assert unescape(escape(raw)) == raw


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE)
@example("`@channel` <a|b> ``x``")
@example("feat`x`y")
def test_code_spans_stay_closed_and_quiet(raw: str) -> None:
    """A span whose fence is longer than any backtick run inside (so it holds them, exactly), or,
    for text with ``<``/``>``, escaped text outside a span; nothing the server translates."""
    span = code(raw)
    stored = server_side(span)
    assert stored == span and not LIVE_MENTION.search(stored)
    if "<" in raw or ">" in raw:
        assert span == fit(escape(raw), 300)
        return
    fence = len(span) - len(span.lstrip("`"))
    assert span.endswith("`" * fence) and "`" * fence not in span[fence:-fence]


#: What the server does to an attachment's title (plain text there): Slack's announcements and
#: user ids become mentions (``expandAnnouncement``, ``replaceUserIds``).
SLACK_SPECIALS = re.compile(r"<(!(?:channel|here|all)|@\w+)(?:\|[^>]*)?>")


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE)
@example("<!channel> <!here|x> <@U0ALICE01> @all ~town")
def test_plain_fields_cannot_ping(raw: str) -> None:
    shown = plain(raw)
    assert not LIVE_MENTION.search(server_side(shown))
    assert not SLACK_SPECIALS.search(shown), shown


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE, st.integers(min_value=0, max_value=300))
@example("x" * 10 + "\\[", 12)
def test_fit_never_leaves_a_dangling_escape(raw: str, limit: int) -> None:
    escaped = escape(raw)
    fitted = fit(escaped, limit)
    assert utf16_len(fitted) <= limit
    kept = fitted.removesuffix(ELLIPSIS)
    assert escaped.startswith(kept)
    trailing = len(kept) - len(kept.rstrip("\\"))
    assert trailing % 2 == 0, "a backslash was cut from the character it escapes"
    assert live_syntax(server_side(fitted)) == []


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="ab[]()\\ ", max_size=30), st.integers(min_value=3, max_value=60))
def test_fit_never_cuts_inside_an_own_link(label: str, limit: int) -> None:
    link = MATTERMOST.link("https://eu-west-1.console.aws.amazon.com/x", escape(label))
    fitted = fit("lead " + link + " tail", limit).removesuffix(ELLIPSIS)
    assert "](" not in fitted or fitted.count("](") == len(OWN_LINK.findall(fitted))


# --- Whole messages ------------------------------------------------------------------------------

REPO = Repository("payments", "eu-west-1", "123456789012")


def hostile_push(message: str, author: str, ref: str, path: str) -> Notification:
    person = Person(author, f"{author}@example.com", datetime(2026, 11, 23, tzinfo=UTC))
    change = RefChange(f"refs/heads/{ref}", RefKind.BRANCH, ref, RefAction.UPDATED, "a" * 40)
    push = Push(
        REPO,
        parse_pusher(f"arn:aws:iam::123456789012:user/{author[:60] or 'x'}"),
        (change,),
        datetime(2026, 11, 23, tzinfo=UTC),
        "id",
        "trigger",
    )
    diff = ParentDiff("b" * 40, (FileChange(ChangeType.MODIFIED, path or "x"),))
    return Notification(
        push, (RefReport(change, Commit("a" * 40, message, person, person, ("b" * 40,)), None, (diff,)),)
    )


PLAIN_FIELDS = frozenset({"fallback", "author_name", "footer", "color", "title_link"})


def markdown_fields(payload: dict[str, Any]) -> list[str]:
    """Every string Mattermost renders as Markdown: text, and each attachment's text, pretext, title."""
    fields = [payload["text"]]
    for attachment in payload["attachments"]:
        fields.extend(
            value for key, value in attachment.items() if isinstance(value, str) and key not in PLAIN_FIELDS
        )
    return fields


def plain_fields(payload: dict[str, Any]) -> list[str]:
    """The attachment strings Mattermost shows as they are (notifications, author, footer)."""
    return [
        value
        for attachment in payload["attachments"]
        for key, value in attachment.items()
        if key in PLAIN_FIELDS - {"color", "title_link"} and isinstance(value, str)
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE, HOSTILE, HOSTILE.filter(lambda s: s.strip() != ""), HOSTILE)
@example("Deploy <!channel> @here [pay](https://evil.example) **now**", "@all", "feature/@alice", "<a|b>.txt")
def test_a_hostile_push_renders_inert_in_every_field(message: str, author: str, ref: str, path: str) -> None:
    payload = render(hostile_push(message, author, ref, path), RenderSettings(), MATTERMOST)
    assert set(payload) == {"text", "attachments"}
    assert payload_length(payload) <= MATTERMOST_POST_LIMIT
    for field in markdown_fields(payload):
        stored = server_side(field)
        assert not LIVE_MENTION.search(OWN_URL.sub("]()", stored)), stored
        without_own_links = OWN_LINK.sub("", stored)
        openers = live_syntax(without_own_links)
        assert [opener for opener in openers if opener not in "*_"] == [], stored
        # our own **bold** and _italics_: every unescaped * or _ left comes in pairs
        assert openers.count("*") % 2 == 0 and openers.count("_") % 2 == 0, stored
    for field in plain_fields(payload):
        assert not LIVE_MENTION.search(field), field


def test_the_two_dialects_write_the_same_message_in_their_own_syntax() -> None:
    notification = hostile_push(
        "Fix *rounding* for @alice\n\nBody with <b>", "Ana", "feature/x", "src/a_b.py"
    )
    slack = render(notification, RenderSettings(), SLACK)
    mattermost = render(notification, RenderSettings(), MATTERMOST)
    assert slack["attachments"][0]["mrkdwn_in"] == ["text"] and "ts" in slack["attachments"][0]
    assert "mrkdwn_in" not in mattermost["attachments"][0] and "ts" not in mattermost["attachments"][0]
    assert "<https://" in slack["text"] and "|" in slack["text"]
    assert "](https://" in mattermost["text"]
    assert "Fix \\*rounding\\* for @\u2060alice" in mattermost["attachments"][0]["text"]
    assert "Fix *rounding* for @alice" in slack["attachments"][0]["text"]
    assert "**Fix" in mattermost["attachments"][0]["text"] and "*Fix" in slack["attachments"][0]["text"]


def test_a_long_push_stays_within_mattermosts_post_limit() -> None:
    many = "\n".join(f"line {n} " + "x" * 200 for n in range(400))
    payload = render(
        hostile_push("Subject\n\n" + many, "Ana", "main", "a"),
        RenderSettings(max_body_chars=3000),
        MATTERMOST,
    )
    assert payload_length(payload) <= MATTERMOST_POST_LIMIT
    assert (
        payload_length(
            render(hostile_push("Subject\n\n" + many, "Ana", "main", "a"), RenderSettings(), SLACK)
        )
        > 0
    )


def summary_push(author: str, ref: str) -> Notification:
    """Three references whose names (``<ref>/rrr…/…/<n>``, a thousand-odd characters, each part under
    git's 255) leave no room for even one reference's attachment in a 2,000-character message, so
    the renderer falls back to its last-resort summary (one attachment naming every reference)."""
    one = hostile_push("Subject", author, ref, "p")
    long = "/".join(["r" * 250] * 4)
    changes = tuple(
        RefChange(
            f"refs/heads/{ref}/{long}/{i}", RefKind.BRANCH, f"{ref}/{long}/{i}", RefAction.UPDATED, "a" * 40
        )
        for i in range(3)
    )
    reports = tuple(replace(one.reports[0], ref_change=change) for change in changes)
    return Notification(replace(one.push, ref_changes=changes), reports)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE, HOSTILE.filter(lambda s: s.strip() != ""))
@example("_ci_bot_", "x")
@example("**ci**", "[a](https://evil.example)")
def test_the_last_resort_summary_is_escaped_for_each_field(author: str, ref: str) -> None:
    """Issue 17, item 16: the summary's ``text`` is Markdown, its ``fallback`` plain text."""
    payload = render(summary_push(author, ref), RenderSettings(message_limit=2_000), MATTERMOST)
    [attachment] = payload["attachments"]
    assert attachment["color"] == OVERFLOW_COLOR  # the summary, not the full message
    for field in markdown_fields(payload):
        stored = server_side(field)
        assert not LIVE_MENTION.search(stored), stored
        assert live_syntax(OWN_LINK.sub("", stored)) == [], stored
    for field in plain_fields(payload):
        assert not LIVE_MENTION.search(field), field
    label = parse_pusher(f"arn:aws:iam::123456789012:user/{author[:60] or 'x'}").label
    assert payload["text"] == escape(f"{label} pushed to 3 branches in payments")
    assert attachment["fallback"] == plain(f"{label} pushed to 3 branches in payments")
