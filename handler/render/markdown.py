"""Make git- and user-written text inert in Mattermost's Markdown, and fit it to a length limit.

Mattermost is not Slack with other bold markers: its webhooks render Markdown in ``text``,
``pretext``, attachment ``text`` and field values, ping on a plain ``@channel``, ``@here``,
``@all`` and ``@username`` wherever they appear (code spans included), link ``~channel`` names,
and first translate Slack's ``<url|label>`` into ``[label](url)`` on the server. So the rules
here differ from :mod:`handler.render.mrkdwn`:

* **Mentions and channel links**: a word joiner (U+2060) goes after every ``@`` and ``~`` that
  is followed by a letter, digit or ``_``. The text reads the same; nothing pings or links. A
  backslash, an HTML entity or a code span would not defuse a mention, so none is relied on.
* **Links and formatting**: every ASCII character Markdown treats as syntax is backslash-escaped
  (``\\ ` * _ { } [ ] ( ) < > # ! | ~ & $``), and a ``+``, ``-`` or ``=`` that starts a line,
  and the ``.`` or ``)`` after a line's leading number, so no list, heading, table, emphasis,
  image or link can be made. A ``<url|label>`` in the text is still turned into
  ``\\[label\\](url\\)`` by the server, but with its first bracket escaped it stays text.
* **Code spans** (branch names, paths) cannot hold escapes (Markdown shows them verbatim), so
  inside them a backtick becomes ``ˋ`` and ``<``/``>`` become ``‹``/``›``, look-alikes that neither
  close the span nor take part in the server's link translation; mentions get the word joiner.
* **Plain fields** (``fallback``, ``author_name``, ``footer``, and a title with a link) are not
  Markdown: they get the word joiner (after ``@``, ``~``, and a ``<`` that starts Slack's
  ``<!channel>`` or ``<@U…>``, which the server rewrites in titles) and the hidden-character
  rules, no backslashes.

Every dialect shares the first step, :func:`handler.render.mrkdwn.unhide`: control, bidirectional
and zero-width characters become a visible U+FFFD. Lengths are counted in UTF-16 code units
(stricter than Mattermost's 16,383 runes a post).
"""

from __future__ import annotations

import re

from handler.render.mrkdwn import ELLIPSIS, unhide
from handler.render.mrkdwn import fit as _fit

#: Mattermost's limit on one post, in runes (code points); counted here in UTF-16 units, stricter.
MATTERMOST_POST_LIMIT = 16_383
WORD_JOINER = "\u2060"
_MENTION = re.compile(r"([@~])(?=[\w])")
_SYNTAX = re.compile(r"([\\`*_{}\[\]()<>#!|~&$])")
_LINE_START = re.compile(r"(?m)^([ \t]*)([+\-=])")
_NUMBERED = re.compile(r"(?m)^([ \t]*\d{1,9})([.)])")
_SLACK_SPECIAL = re.compile(r"<(?=[!@])")
_CODE_LOOKALIKES = str.maketrans({"`": "ˋ", "<": "‹", ">": "›"})
#: One of our own links, ``[label](url)``; the label may hold escapes and code spans (which bind
#: tighter than brackets, so a ``]`` in a branch name's code span does not end the label).
_LINK = re.compile(r"\[(?:`[^`]*`|\\.|[^\]\\`])*\]\([^)\s]*\)")


def defuse(text: str) -> str:
    """A word joiner after each ``@`` or ``~`` that starts a word: no mention, no channel link."""
    return _MENTION.sub("\\1" + WORD_JOINER, text)


def escape(text: str) -> str:
    """Git- or user-written text as inert Mattermost Markdown (see the module docstring)."""
    text = _SYNTAX.sub(r"\\\1", unhide(text))
    text = _LINE_START.sub(r"\1\\\2", text)
    text = _NUMBERED.sub(r"\1\\\2", text)
    return defuse(text)


def plain(text: str) -> str:
    """Text for the attachment fields Mattermost shows as plain text: no pings, nothing hidden.

    The server rewrites Slack's ``<!channel>`` into ``@channel`` and ``<@U…>`` into ``@name``
    in an attachment's title too, so a word joiner also goes after each ``<`` before ``!`` or ``@``.
    """
    return _SLACK_SPECIAL.sub("<" + WORD_JOINER, defuse(unhide(text)))


def code(text: str, limit: int = 300) -> str:
    """Inline code: look-alikes for what would close the span or be translated as a link."""
    return "`" + fit(defuse(unhide(text).translate(_CODE_LOOKALIKES)), limit) + "`"


def fit(escaped: str, limit: int, marker: str = ELLIPSIS) -> str:
    """Cut escaped Markdown to ``limit`` UTF-16 units, never inside an escape or one of our links."""
    return _fit(escaped, limit, marker, atoms=outside_markup)


def outside_markup(text: str, cut: int) -> int:
    """Move ``cut`` back so it splits neither a backslash escape nor a ``[label](url)`` link."""
    backslashes = 0
    while cut - backslashes > 0 and text[cut - backslashes - 1] == "\\":
        backslashes += 1
    if backslashes % 2:
        cut -= 1
    opening = _last_unescaped(text, "[", cut)
    if opening != -1:
        link = _LINK.search(text, opening)  # a link that starts right at the bracket, or none
        if link is None or link.start() != opening or link.end() > cut:
            cut = opening
    return cut


def _last_unescaped(text: str, char: str, end: int) -> int:
    index = text.rfind(char, 0, end)
    while index != -1:
        backslashes = 0
        while index - backslashes > 0 and text[index - backslashes - 1] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return index
        index = text.rfind(char, 0, index)
    return -1
