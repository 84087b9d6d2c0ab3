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

from handler.deliver.destinations import Flavor
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


def _outside(text: str, m: Markup) -> str:
    """Outside text for the digest, before the dialect escapes it.

    Mattermost's server turns Slack's ``<url|label>`` into a Markdown link before it renders, and
    its pattern may span what were separate pieces of outside text (a ``<`` in one name, a ``|`` in
    the next title, a ``>`` in a reviewer's name), cutting through the links between them. So in
    Mattermost no ``|`` from outside reaches the digest: it is shown as ``∣`` (U+2223), and the
    digest itself writes none, so that translation never applies.
    """
    return text.replace("|", "\u2223") if m.flavor is Flavor.MATTERMOST else text


def _shown(text: str, limit: int, m: Markup) -> str:
    """Outside text escaped and fitted to ``limit``; only what can be shown is escaped (twice the
    limit, so the cut and its marker still come from :meth:`Markup.fit`)."""
    return m.fit(m.escape(_outside(text[: 2 * limit], m)), limit)


def _name(someone: Person, m: Markup, *, mention: bool) -> str:
    shown = m.mention(someone.chat) if mention and someone.chat is not None else None
    return shown or _shown(someone.label or "someone", _NAME_LIMIT, m)


def _short(reference: str) -> str:
    return reference.removeprefix("refs/heads/")


def entry_lines(entry: QueueEntry, now: datetime, m: Markup, *, mention: bool) -> str:
    """One pull request: its linked title, repository and branches, then age, approvals, reviewers."""
    label = _shown(f"#{entry.pull_request_id} {entry.title}", _TITLE_LIMIT, m)
    title = m.link(pull_request_url(entry.repository, entry.pull_request_id), label)
    where = _shown(entry.repository.name, _NAME_LIMIT, m)
    first = f"• {title} · {where}"
    if entry.source_reference or entry.destination_reference:
        source = m.code(
            _outside(_short(entry.source_reference)[: 2 * _BRANCH_LIMIT] or "?", m), _BRANCH_LIMIT
        )
        destination = m.code(
            _outside(_short(entry.destination_reference)[: 2 * _BRANCH_LIMIT] or "?", m), _BRANCH_LIMIT
        )
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


def _listed(
    entries: Sequence[QueueEntry], now: datetime, m: Markup, *, mention: bool, limit: int
) -> tuple[str, int]:
    """As many entries as fit in ``limit`` UTF-16 units, then how many were left out; and how many
    were shown. Entries past the limit are not rendered at all."""
    kept: list[str] = []
    used = 0
    for index, entry in enumerate(entries):
        block = entry_lines(entry, now, m, mention=mention)
        size = utf16_len(block) + 1
        room = limit - (_MORE_ROOM if index < len(entries) - 1 else 0)
        if used + size > room:
            left = len(entries) - index
            kept.append(f"… and {left} more pull request{'s' if left != 1 else ''}")
            return "\n".join(kept), index
        kept.append(block)
        used += size
    return "\n".join(kept), len(entries)


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
    headline = _headline(len(entries))
    # Room for the top line's mentions (at most _MAX_MENTIONS) is kept before the entries are laid out.
    limit = min(limits.section_limit, m.message_limit(limits.message_limit) - 1_000)
    text, shown = _listed(entries, now, m, mention=True, limit=limit)
    top = " ".join([*_mentions(entries[:shown], m), headline])
    regions = sorted({entry.repository.region for entry in entries})
    attachment = {
        "color": COLOR,
        "fallback": headline,
        "pretext": f"{EMOJI} {m.bold('Waiting for review')}",
        "text": text,
        "footer": m.plain("AWS CodeCommit · " + ", ".join(regions)),
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
        text = (
            m.bold(_headline(len(entries))) + "\n" + _listed(entries, now, m, mention=False, limit=2_800)[0]
        )
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
            listed = _listed(entries, now, m, mention=False, limit=budget)[0]
            parts.append(f"{m.bold(f'{heading} ({len(entries)})')}\n{listed}")
        else:
            parts.append(f"{m.bold(heading)}: nothing")
    return "\n\n".join(parts) + _skipped(skipped, m)


def _skipped(skipped: Sequence[str], m: Markup) -> str:
    if not skipped:
        return ""
    return "\n" + m.italic("Not read: " + m.fit(m.escape(_outside("; ".join(skipped), m)), 300))
