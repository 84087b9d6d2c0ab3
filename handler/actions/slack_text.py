"""A Slack message's text as a CodeCommit comment says it. Pure.

Slack sends a message's text in its own markup: ``&amp;``, ``&lt;`` and ``&gt;`` for the three
characters it reserves, links as ``<https://x|label>`` or ``<https://x>``, people as ``<@U…>``,
channels as ``<#C…|name>``, and ``<!here>``-style specials. CodeCommit shows comments as Markdown,
where none of that means anything, so a thread reply is turned back into what its author typed:
``label (https://x)``, ``@U…`` (CodeCommit knows no Slack members), ``#name``, ``@here``.
"""

from __future__ import annotations

import re

_ANGLED = re.compile(r"<([^<>]*)>")


def comment_text(slack_text: str) -> str:
    """``slack_text`` (a message's ``text``) as plain Markdown for a CodeCommit comment."""
    return _ANGLED.sub(_one, slack_text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _one(match: re.Match[str]) -> str:
    inside = match.group(1)
    target, _, label = inside.partition("|")
    if target.startswith("@"):
        return f"@{label or target[1:]}"
    if target.startswith("#"):
        return f"#{label or target[1:]}"
    if target.startswith("!"):
        return "@" + (label or target[1:].split("^", 1)[0])
    if label and label != target:
        return f"{label} ({target})"
    return target
