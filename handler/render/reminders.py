"""Render the review queue: the reminder digest (a channel message) and the ``prs`` answer. Pure.

The digest, one per destination::

    text         "<@U1> <@U2> 3 pull requests wait for review"  (mapped reviewers it waits for)
    attachment
      pretext    ":hourglass_flowing_sand: *Waiting for review*"
      text       one entry per pull request, oldest first:
                 • <link|#12 Add login> · payments · `feature/login` → `main`
                   opened 3 days ago by alice · 1 of 2 approvals · waiting for <@U1>, bob
      footer     "AWS CodeCommit · eu-west-1"

Every title, branch, repository and name is outside text, escaped by the destination's dialect
(:mod:`handler.render.markup`); only the mentions of people ``USER_MAP`` maps ping, and the private
texts (``prs``, ``remind``) mention nobody. Entries that do not fit the section limit are counted
("… and 4 more pull requests").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from handler.render.markup import Markup
from handler.render.mrkdwn import utf16_len
from handler.render.pull_request_links import pull_request_url
from handler.settings import RenderSettings

if TYPE_CHECKING:
    from handler.pull_requests.people import Person
    from handler.pull_requests.queue import QueueEntry

COLOR = "#ECB22E"
EMOJI = ":hourglass_flowing_sand:"
_TITLE_LIMIT = 150
_BRANCH_LIMIT = 80
_NAME_LIMIT = 80
_MAX_MENTIONS = 30
_MAX_REVIEWERS_SHOWN = 8
#: Room kept in a text for the "… and N more" line.
_MORE_ROOM = 80


def age_text(age: timedelta) -> str:
    """``40 minutes``, ``5 hours``, ``3 days``: the coarsest unit that is at least 2 (1 for minutes)."""
    minutes = max(0, int(age.total_seconds() // 60))
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hours"
    return f"{hours // 24} days"


def _name(someone: Person, m: Markup, *, mention: bool) -> str:
    shown = m.mention(someone.chat) if mention and someone.chat is not None else None
    return shown or m.fit(m.escape(someone.label or "someone"), _NAME_LIMIT)


def _short(reference: str) -> str:
    return reference.removeprefix("refs/heads/")


def entry_lines(entry: QueueEntry, now: datetime, m: Markup, *, mention: bool) -> str:
    """One pull request: its linked title, repository and branches, then age, approvals, reviewers."""
    label = m.fit(m.escape(f"#{entry.pull_request_id} {entry.title}"), _TITLE_LIMIT)
    title = m.link(pull_request_url(entry.repository, entry.pull_request_id), label)
    where = m.fit(m.escape(entry.repository.name), _NAME_LIMIT)
    first = f"• {title} · {where}"
    if entry.source_reference or entry.destination_reference:
        source = m.code(_short(entry.source_reference) or "?", _BRANCH_LIMIT)
        destination = m.code(_short(entry.destination_reference) or "?", _BRANCH_LIMIT)
        first += f" · {source} → {destination}"
    facts = [
        f"opened {age_text(now - entry.created)} ago by {_name(entry.author, m, mention=False)}",
        f"{entry.approvals} of {entry.approvals_needed} approval{'s' if entry.approvals_needed != 1 else ''}",
    ]
    if entry.waiting_for:
        shown = [_name(r, m, mention=mention) for r in entry.waiting_for[:_MAX_REVIEWERS_SHOWN]]
        more = len(entry.waiting_for) - len(shown)
        facts.append("waiting for " + ", ".join(shown) + (f" and {more} more" if more > 0 else ""))
    return first + "\n    " + " · ".join(facts)


def _within(blocks: Sequence[str], limit: int) -> str:
    """As many blocks as fit in ``limit`` UTF-16 units, then how many were left out."""
    kept: list[str] = []
    used = 0
    for index, block in enumerate(blocks):
        size = utf16_len(block) + 1
        room = limit - (_MORE_ROOM if index < len(blocks) - 1 else 0)
        if used + size > room:
            left = len(blocks) - index
            kept.append(f"… and {left} more pull request{'s' if left != 1 else ''}")
            break
        kept.append(block)
        used += size
    return "\n".join(kept)


def _mentions(entries: Sequence[QueueEntry], m: Markup) -> list[str]:
    seen: list[str] = []
    for entry in entries:
        for reviewer in entry.waiting_for:
            mention = m.mention(reviewer.chat) if reviewer.chat is not None else None
            if mention is not None and mention not in seen:
                seen.append(mention)
    return seen[:_MAX_MENTIONS]


def _headline(count: int) -> str:
    return f"{count} pull request{'s' if count != 1 else ''} wait{'s' if count == 1 else ''} for review"


def render_digest(
    entries: Sequence[QueueEntry], now: datetime, limits: RenderSettings, markup: Markup
) -> dict[str, Any]:
    """The digest payload for one destination: ``entries`` oldest first, reviewers mentioned.

    Args:
        entries: the pull requests to remind about, already ordered (oldest first).
        now: the time the ages are counted to.
        limits: the message and section limits.
        markup: the destination's dialect.
    """
    m = markup
    mentions = _mentions(entries, m)
    headline = _headline(len(entries))
    top = " ".join([*mentions, headline])
    limit = min(limits.section_limit, m.message_limit(limits.message_limit) - utf16_len(top) - 400)
    blocks = [entry_lines(entry, now, m, mention=True) for entry in entries]
    repositories = sorted({entry.repository.region for entry in entries})
    attachment = {
        "color": COLOR,
        "fallback": headline,
        "pretext": f"{EMOJI} {m.bold('Waiting for review')}",
        "text": _within(blocks, max(200, limit)),
        "footer": m.plain("AWS CodeCommit · " + ", ".join(repositories)),
    }
    return m.payload(top, [m.attachment(attachment, markdown_in=["pretext", "text"], at=now)])


def digest_text(
    entries: Sequence[QueueEntry], now: datetime, markup: Markup, *, skipped: Sequence[str] = ()
) -> str:
    """The digest as one private text (``remind``): the same entries, nobody mentioned."""
    m = markup
    if not entries:
        text = "Nothing waits for review: no open pull request is short of approvals past its age limit."
    else:
        blocks = [entry_lines(entry, now, m, mention=False) for entry in entries]
        text = m.bold(_headline(len(entries))) + "\n" + _within(blocks, 2_800)
    return text + _skipped(skipped, m)


def queue_text(
    mine: Sequence[QueueEntry],
    others: Sequence[QueueEntry],
    now: datetime,
    markup: Markup,
    *,
    skipped: Sequence[str] = (),
) -> str:
    """The ``prs`` answer: what waits on the person asking, then what waits on others."""
    m = markup
    if not mine and not others:
        return (
            "Nothing waits for review: every open pull request is approved, a draft, or has no approval rule."
            + (_skipped(skipped, m))
        )
    parts = []
    for heading, entries, budget in (("Waiting on you", mine, 1_400), ("Waiting on others", others, 1_400)):
        if entries:
            blocks = [entry_lines(entry, now, m, mention=False) for entry in entries]
            parts.append(f"{m.bold(f'{heading} ({len(entries)})')}\n{_within(blocks, budget)}")
        else:
            parts.append(f"{m.bold(heading)}: nothing")
    return "\n\n".join(parts) + _skipped(skipped, m)


def _skipped(skipped: Sequence[str], m: Markup) -> str:
    if not skipped:
        return ""
    return "\n" + m.italic("Not read: " + m.fit(m.escape("; ".join(skipped)), 300))
