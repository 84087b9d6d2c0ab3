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
  (``\\ ` * _ { } [ ] ( ) < > # ! ~ & $``; ``|`` becomes ``&#124;``, which no server-side
  translation reads), and a ``+``, ``-`` or ``=`` that starts a line,
  and the ``.`` or ``)`` after a line's leading number, so no list, heading, table, emphasis,
  image or link can be made. A ``<url|label>`` in the text is still turned into
  ``\\[label\\](url\\)`` by the server, but with its first bracket escaped it stays text.
* **Code spans** (branch names, paths) cannot hold escapes (Markdown shows them verbatim): a
  name with backticks gets a longer run of backticks around it, so it stays exact; a name with
  ``<`` or ``>`` (which the server's link translation would read) is shown escaped, outside a
  span; mentions get the word joiner.
* **URLs** in the text become autolinks, ``<url>``, unescaped inside: Mattermost links bare URLs
  anyway, and a backslash escape after one would be taken into its link.
* **Plain fields** (``fallback``, ``author_name``, ``footer``, and a title with a link) are not
  Markdown: they get the word joiner (after ``@``, ``~``, and a ``<`` that starts Slack's
  ``<!channel>`` or ``<@U…>``, which the server rewrites in titles) and the hidden-character
  rules, no backslashes.

Every dialect shares the first step, :func:`handler.render.mrkdwn.unhide`: control, bidirectional
and zero-width characters become a visible U+FFFD; newline and tab too, except in the multi-line
bodies that ask to keep them (``escape(..., multiline=True)``). Plain fields and code spans are
always one line. Lengths are counted in UTF-16 code units
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
_BACKTICKS = re.compile(r"`+")
#: A URL as Mattermost's autolinker finds one in prose (it stops at white space and ``<>|``).
#: A URL in git text ends at white space, a character Markdown would read, or U+FFFD (what a
#: newline or another control in a one-line field became): a link never runs across it.
_URL = re.compile(r"(?:(?:https?|ftp)://|www\.)[^\s<>|`\\\"\u2060\ufffd]+")
#: How a URL may start (what :data:`_URL` finds always starts with one of these).
_URL_STARTS = ("http://", "https://", "ftp://", "www.")
_URL_TRAILING = frozenset("?!.,:;*_~'\"")
_URL_CLOSERS = {")": "(", "]": "["}
#: One of our own links, ``[label](url)``; the label may hold escapes and code spans (which bind
#: tighter than brackets, so a ``]`` in a branch name's code span does not end the label).
_LINK = re.compile(r"\[(?:(`+)(?!`).*?(?<!`)\1(?!`)|\\.|[^\]\\`])*\]\([^)\s]*\)", re.DOTALL)


def defuse(text: str) -> str:
    """A word joiner after each ``@`` or ``~`` that starts a word: no mention, no channel link."""
    return _MENTION.sub("\\1" + WORD_JOINER, text)


def escape(text: str, *, autolinks: bool = True, multiline: bool = False) -> str:
    """Git- or user-written text as inert Mattermost Markdown (see the module docstring).

    A URL in the text becomes an autolink, ``<url>``, its characters unescaped: Mattermost links
    bare URLs itself, and a backslash escape right after one (``http://host/a\\)``) would end up
    inside its link. The link's text is its address, so nothing is disguised. ``autolinks=False``
    is for the label of one of our own links, where a link inside would break the outer one
    (Mattermost links no URL inside a label).

    Args:
        multiline: a body that may keep its newlines and tabs; False for a one-line field, where
            they become U+FFFD like every other control (:func:`handler.render.mrkdwn.unhide`).
    """
    text = unhide(text, multiline=multiline)
    if not autolinks:
        return _escape_outside_urls(text)
    parts: list[str] = []
    done = 0
    for found in _URL.finditer(text):
        url = _trimmed_url(found.group())
        if any(url == start for start in _URL_STARTS):  # a scheme alone is no link
            continue
        parts.append(_escape_outside_urls(text[done : found.start()]))
        if url.startswith("www."):  # no scheme: an autolink needs one, so a link showing the text
            parts.append(f"[{_escape_outside_urls(url)}](<http://{defuse(url)}>)")
        else:
            parts.append("<" + defuse(url) + ">")
        done = found.start() + len(url)
    parts.append(_escape_outside_urls(text[done:]))
    return "".join(parts)


def _escape_outside_urls(text: str) -> str:
    # ``|`` as a character reference: the server turns ``<a|b>`` into a link before any Markdown
    # is read, and only a text with no ``|`` at all is sure never to form one with an autolink
    text = _SYNTAX.sub(r"\\\1", text).replace("\\|", "&#124;")
    text = _LINE_START.sub(r"\1\\\2", text)
    text = _NUMBERED.sub(r"\1\\\2", text)
    return defuse(text)


def _trimmed_url(url: str) -> str:
    """Where a URL in prose ends: without trailing punctuation or an unmatched closing bracket."""
    def dangling(last: str) -> bool:
        return last in _URL_TRAILING or (
            last in _URL_CLOSERS and url.count(last) > url.count(_URL_CLOSERS[last])
        )

    while url and dangling(url[-1]):
        url = url[:-1]
    return url


def plain(text: str) -> str:
    """Text for the attachment fields Mattermost shows as plain text: no pings, nothing hidden.

    The server rewrites Slack's ``<!channel>`` into ``@channel`` and ``<@U…>`` into ``@name``
    in an attachment's title too, so a word joiner also goes after each ``<`` before ``!`` or ``@``.
    """
    return _SLACK_SPECIAL.sub("<" + WORD_JOINER, defuse(unhide(text)))


def code(text: str, limit: int = 300) -> str:
    """Inline code that keeps ``text`` exact, or, where no code span can hold it, escaped text.

    A backtick is held by a longer run of backticks around the span (CommonMark); ``<`` and ``>``
    can't be held (the server would read ``<a|b>`` as a Slack link before any Markdown), so a
    name with either is shown escaped, outside a span: copied, it is still the name.
    """
    clean = defuse(unhide(text))
    if "<" in clean or ">" in clean:
        return fit(escape(text), limit)
    clean = fit(clean, limit)
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(clean)), default=0) + 1)
    pad = " " if clean.startswith(("`", " ")) or clean.endswith(("`", " ")) else ""
    return f"{fence}{pad}{clean}{pad}{fence}"


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
    reference = text.rfind("&#", max(0, cut - 5), cut)
    if reference != -1 and text.find(";", reference, cut) == -1:
        cut = reference  # inside our ``&#124;``
    autolink = _last_unescaped(text, "<", cut)
    if autolink != -1 and text.find(">", autolink, cut) == -1:
        cut = autolink  # inside one of the text's autolinks: keep it whole or leave it out
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
