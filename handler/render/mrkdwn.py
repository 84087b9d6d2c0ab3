"""Make git-controlled text safe for Slack mrkdwn, and make any text fit a length limit.

Slack treats ``&``, ``<`` and ``>`` as control characters: ``<!channel>``, ``<!here>``,
``<@U123>`` and ``<https://evil|click>`` are parsed wherever mrkdwn is. Every piece of text that
comes from git (commit messages, names, e-mails, paths, ref names) goes through :func:`escape`
before it meets the message, so it is always shown and never obeyed.

:func:`escape` also does three things Slack does not require but readers benefit from:

* a word joiner (U+2060) goes after ``@`` in ``@here``, ``@channel``, ``@everyone`` and ``@all``,
  so the words still read the same but cannot ping through ``link_names`` or in Mattermost, which
  parses plain ``@channel`` in webhook text;
* control characters (C0, DEL and C1) become U+FFFD, so a hostile commit cannot smuggle terminal
  escapes or NULs into the channel, nor break a one-line field (a headline, a ref name, a
  title, a name) in two: ``release\n@here fix`` stays one line. Newline and tab are kept only
  in the multi-line bodies meant to have them (a commit message's body, a pull request's
  description, a comment), which ask for it with ``multiline=True``;
* lone surrogates (possible in JSON input) become U+FFFD, so the payload is always valid UTF-8;
* characters that reorder or hide text become U+FFFD, a visible marker: bidirectional controls
  (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C), which could make a headline read
  backwards; line and paragraph separators (U+2028, U+2029), which could break a headline in
  two; and zero-width characters (U+200B, U+2060, U+FEFF, U+180E, U+00AD), which could make
  ``ma<ZWSP>in`` look like ``main``. The zero-width joiner and non-joiner (U+200D, U+200C) are
  kept where scripts and emoji need them, after a non-ASCII character, and marked after an ASCII
  one, where they only serve to disguise a name.

Lengths are counted in UTF-16 code units, the stricter of the ways Slack may count "characters":
an emoji outside the Basic Multilingual Plane counts as two.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

ELLIPSIS = "…"
REPLACEMENT = "\ufffd"
_BROADCAST = re.compile(r"@(here|channel|everyone|all)\b", re.IGNORECASE)
#: Characters no text from outside may carry anywhere (values, URLs, logs): controls other than
#: tab and newline, and lone surrogates (which cannot be encoded as UTF-8).
_UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
#: Characters that reorder or hide displayed text (see the module docstring).
HIDDEN_CHARS = (
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    "\u2028\u2029\u200b\u2060\ufeff\u180e\u00ad"
)
_HIDDEN = re.compile(f"[{HIDDEN_CHARS}]|(?<=[\\x00-\\x7f])[\u200c\u200d]|^[\u200c\u200d]")
#: The controls :func:`scrub` keeps (for multi-line bodies); a one-line field marks them too.
_LINE_BREAKING = re.compile(r"[\t\n]")
_ZWJ = "\u200d"


def scrub(text: str) -> str:
    """``text`` with control characters and lone surrogates replaced by U+FFFD.

    Safe to encode as UTF-8, to log and to put in a URL. The parser applies it to every string
    field of an event, so nothing downstream meets such characters.
    """
    return _UNSAFE_CHARS.sub(REPLACEMENT, text)


def unhide(text: str, *, multiline: bool = False) -> str:
    """``text`` scrubbed, with every character that reorders or hides text made visible (U+FFFD).

    The first step of every dialect's escaping (Slack's here, Mattermost's in
    :mod:`handler.render.markdown`).

    Args:
        multiline: keep newlines and tabs, for a body meant to have several lines; otherwise
            (every one-line field) they become U+FFFD too, so every C0 and C1 control does.
    """
    text = _HIDDEN.sub(REPLACEMENT, scrub(text))
    return text if multiline else _LINE_BREAKING.sub(REPLACEMENT, text)


def escape(text: str, *, multiline: bool = False) -> str:
    """Escape git-controlled text for mrkdwn (see the module docstring).

    Args:
        multiline: a body that may keep its newlines and tabs (a commit message's body, a pull
            request's description, a comment); False for every one-line field.
    """
    text = unhide(text, multiline=multiline)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@\u2060\\1", text)


def code(text: str, limit: int = 300) -> str:
    """Escaped inline code, e.g. a path or branch name; or, for a name with a backtick (which
    would end the span, and mrkdwn has no escape for it), the escaped name outside a span, so
    copying it gives the name, not a look-alike."""
    if "`" in text:
        return fit(escape(text), limit)
    return "`" + fit(escape(text), limit) + "`"


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def fit(
    escaped: str, limit: int, marker: str = ELLIPSIS, *, atoms: Callable[[str, int], int] | None = None
) -> str:
    """Cut already-escaped mrkdwn to at most ``limit`` UTF-16 units, ending with ``marker``.

    The cut never splits a code point, an HTML entity (``&amp;``), a ``<link|label>``, an
    emoji sequence (ZWJ, skin tones, flags, variation selectors) or a base letter from its
    combining marks. Text that already fits is returned unchanged.

    ``atoms`` moves a cut out of the dialect's own indivisible markup; the default knows Slack's
    (entities and ``<link|label>``); :func:`handler.render.markdown.outside_markup` knows
    Mattermost's.
    """
    outside = atoms or _outside_markup
    if utf16_len(escaped) <= limit:
        return escaped
    room = limit - utf16_len(marker)
    if room <= 0:
        return marker if utf16_len(marker) <= limit else ""
    cut = _prefix_within(escaped, room)
    # Each step only moves the cut back, so alternating them until none moves it ends, at a cut
    # that satisfies all three (moving out of a grapheme can land inside an entity, and back;
    # dropping trailing white space can leave a joiner dangling at the end).
    while True:
        moved = _at_grapheme_boundary(escaped, outside(escaped, cut))
        moved = len(escaped[:moved].rstrip())
        if moved == cut:
            break
        cut = moved
    return escaped[:cut] + marker


def _prefix_within(text: str, units: int) -> int:
    """The largest index whose prefix is at most ``units`` UTF-16 code units long."""
    if text.isascii():
        return min(len(text), units)
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return index
    return len(text)


def _outside_markup(text: str, cut: int) -> int:
    """Move ``cut`` back so it does not fall inside an entity or an angle-bracket link."""
    amp = text.rfind("&", max(0, cut - 5), cut)
    if amp != -1 and text.find(";", amp, cut) == -1:
        cut = amp
    opening = text.rfind("<", 0, cut)
    if opening != -1 and text.rfind(">", 0, cut) < opening:
        cut = opening
    return cut


def _is_extender(char: str) -> bool:
    code_point = ord(char)
    return (
        unicodedata.combining(char) != 0
        or char == _ZWJ
        or 0xFE00 <= code_point <= 0xFE0F
        or 0x1F3FB <= code_point <= 0x1F3FF
        or 0xE0020 <= code_point <= 0xE007F
        or 0xE0100 <= code_point <= 0xE01EF
        or unicodedata.category(char) in ("Mn", "Me", "Mc")
    )


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _at_grapheme_boundary(text: str, cut: int) -> int:
    """Move ``cut`` back until it does not split a user-perceived character."""
    while 0 < cut < len(text):
        if _is_extender(text[cut]) or text[cut - 1] == _ZWJ or (text[cut - 1] == "\r" and text[cut] == "\n"):
            cut -= 1
        elif _is_regional_indicator(text[cut]) and _is_regional_indicator(text[cut - 1]):
            run = 0
            while cut - run - 1 >= 0 and _is_regional_indicator(text[cut - run - 1]):
                run += 1
            if run % 2 == 0:
                break
            cut -= 1
        else:
            break
    return cut
