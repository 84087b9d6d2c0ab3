"""Render: a :class:`~handler.pull_requests.model.Notice` becomes one chat message. Pure: no I/O.

Anatomy (the same attachment format as push messages)::

    text         the notification line, mentions first: "<@U1> <@U2> review requested: alice opened #12 …"
    attachment
      color      one per kind (see KIND_STYLES), so kinds tell apart at a glance
      pretext    emoji and what happened: ":tada: *Merged*"
      author     who acted
      title      "#12 Title", linked to the pull request (or the comment) in the console
      text       `source` → `destination` · repository, then what this kind needs: description
                 excerpt, approvals needed and reviewers; "1 of 2 approvals"; merge option; the
                 comment quoted with its file and line; the commits pushed with a compare link
      footer, ts "AWS CodeCommit · <region> · <repository>", event time

Mentions follow one rule: a mapped person is mentioned only where the message is about them
(reviewers on "opened", "ready for review", ``/re-review`` and ``/ping-reviewers``; the author on
``/review-done``, approvals and merges), and never for their own action. Everyone else is shown by
name, escaped. All user-written text (titles, descriptions, comments, names, branches) goes
through the dialect's escaping (:mod:`handler.render.markup`), exactly like commit text, and every
part has a limit. Mentions are written in the destination's product only: a person mapped to a
Slack id is shown by name in Mattermost, and the other way round.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from handler.model import Repository
from handler.pull_requests.model import (
    ActivityKind,
    BuildResult,
    Identity,
    Notice,
    PullRequestSnapshot,
    ReviewCommand,
)
from handler.pull_requests.people import Person, UserMap, identity_from_arn, person, reviewers
from handler.pull_requests.settings import PullRequestSettings
from handler.render.markup import SLACK, Markup
from handler.render.mrkdwn import utf16_len
from handler.render.pull_request_links import (
    comment_url,
    commit_comment_url,
    compare_link,
    is_commit_id,
    pull_request_url,
)
from handler.settings import RenderSettings

SHORT_ID = 7
_LINE_LIMIT = 300
_TITLE_LIMIT = 250
_HEADLINE_LIMIT = 3_000
_MAX_MENTIONS = 20
_MAX_REVIEWERS_LISTED = 25

#: ``@alice`` or ``@alice.kim`` in a comment: a name to look up in ``USER_MAP`` for a direct message.
_NAMED = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9._-]{0,63})")

DRAFT_MARKERS = ("draft:", "[draft]", "wip:")


def is_draft_title(title: str) -> bool:
    """``Draft:``, ``[Draft]`` or ``WIP:`` at the start of the title, in any case."""
    return title.lstrip().casefold().startswith(DRAFT_MARKERS)


@dataclass(frozen=True)
class Style:
    """How a kind looks: bar colour, emoji and the word for what happened."""

    color: str
    emoji: str
    label: str


KIND_STYLES = {
    ActivityKind.OPENED: Style("#1F6FEB", ":twisted_rightwards_arrows:", "Pull request opened"),
    ActivityKind.SOURCE_UPDATED: Style("#8C959F", ":arrow_up:", "New commits pushed"),
    ActivityKind.APPROVED: Style("#2EB67D", ":white_check_mark:", "Approved"),
    ActivityKind.APPROVAL_REVOKED: Style("#E8912D", ":leftwards_arrow_with_hook:", "Approval revoked"),
    ActivityKind.OVERRIDDEN: Style("#E8912D", ":warning:", "Approval rules overridden"),
    ActivityKind.OVERRIDE_REVOKED: Style("#8C959F", ":arrows_counterclockwise:", "Override revoked"),
    ActivityKind.MERGED: Style("#8250DF", ":tada:", "Merged"),
    ActivityKind.CLOSED: Style("#CF222E", ":no_entry_sign:", "Closed"),
    ActivityKind.REOPENED: Style("#1F6FEB", ":recycle:", "Reopened"),
    ActivityKind.RULE_CHANGED: Style("#8C959F", ":scroll:", "Approval rule changed"),
    ActivityKind.COMMENT: Style("#D0D7DE", ":speech_balloon:", "Comment"),
    ActivityKind.COMMENT_EDITED: Style("#D0D7DE", ":pencil2:", "Comment edited"),
    ActivityKind.COMMIT_COMMENT: Style("#D0D7DE", ":memo:", "Comment on a commit"),
}
READY_STYLE = Style("#1F6FEB", ":eyes:", "Ready for review")
COMMAND_STYLES = {
    ReviewCommand.REVIEW_DONE: Style("#2EB67D", ":ballot_box_with_check:", "Review finished"),
    ReviewCommand.RE_REVIEW: Style("#1F6FEB", ":repeat:", "Another review requested"),
    ReviewCommand.PING_REVIEWERS: Style("#ECB22E", ":bell:", "Question for the reviewers"),
}
APPROVAL_KINDS = frozenset(
    {
        ActivityKind.APPROVED,
        ActivityKind.APPROVAL_REVOKED,
        ActivityKind.OVERRIDDEN,
        ActivityKind.OVERRIDE_REVOKED,
    }
)
MERGE_OPTIONS = {
    "FAST_FORWARD_MERGE": "a fast-forward merge",
    "SQUASH_MERGE": "a squash merge",
    "THREE_WAY_MERGE": "a three-way merge",
}


@dataclass(frozen=True)
class Cast:
    """The people a message names, resolved through ``USER_MAP``."""

    actor: Person
    author: Person | None
    reviewers: tuple[Person, ...]
    actor_is_author: bool
    actor_is_reviewer: bool
    #: False when the pull request could not be read: then nobody is called "not a reviewer".
    roles_known: bool = True


def cast_of(notice: Notice, user_map: UserMap) -> Cast:
    """Resolve the actor, the author and the reviewers (pool members other than the author)."""
    actor = person(notice.activity.actor, user_map)
    snapshot = notice.pull_request
    author = None
    if snapshot is not None and snapshot.author_arn:
        author = person(identity_from_arn(snapshot.author_arn), user_map)
    pool = notice.details.pool_members if notice.details else ()
    found = reviewers(pool, author, user_map) if author else reviewers(pool, Person(""), user_map)
    actor_is_author = author is not None and _same(actor, author)
    actor_is_reviewer = any(_same(actor, reviewer) for reviewer in found) or any(
        fnmatch.fnmatchcase(actor.arn, member) for member in pool if member.startswith("arn:")
    )
    return Cast(actor, author, found, actor_is_author, actor_is_reviewer, notice.details is not None)


def _same(one: Person, other: Person) -> bool:
    if one.chat is not None and one.chat == other.chat:
        return True
    return bool(one.arn) and one.arn == other.arn


def _name(someone: Person, m: Markup, *, mention: bool) -> str:
    shown = m.mention(someone.chat) if mention and someone.chat is not None else None
    return shown or m.fit(m.escape(someone.label or "someone"), 120)


def _mentions(people: list[Person], actor: Person, m: Markup) -> list[str]:
    """Mentions for the people the message is about who have a handle in this product, never the
    actor, each once."""
    seen: list[str] = []
    for someone in people:
        if someone.chat is None or _same(someone, actor):
            continue
        mention = m.mention(someone.chat)
        if mention is not None and mention not in seen:
            seen.append(mention)
    return seen[:_MAX_MENTIONS]


def render_notice(
    notice: Notice, settings: PullRequestSettings, limits: RenderSettings, markup: Markup = SLACK
) -> dict[str, Any]:
    """The payload for one notice in ``markup``'s dialect, within its message limit.

    Each fact once: the headline says who did what to which pull request (its title linked), whom
    it is for (their mentions, in place) and the approval count; the attachment adds only what the
    headline did not say.
    """
    m = markup
    cast = cast_of(notice, settings.user_map)
    style = _style(notice)
    top = _headline(notice, cast, _Words.marked(notice, m))
    if utf16_len(top) > _HEADLINE_LIMIT:  # a huge title: the same line, unlinked, then cut
        top = m.fit(_headline(notice, cast, _Words.marked(notice, m.unlinked())), _HEADLINE_LIMIT)
    limit = m.message_limit(limits.message_limit)
    text_limit = max(200, min(limits.section_limit, limit - utf16_len(top) - 2 * 1_200))
    repository = notice.activity.repository
    attachment: dict[str, Any] = {
        "color": style.color,
        "fallback": m.fit(m.plain(_headline(notice, cast, _Words.plain(notice))), _LINE_LIMIT),
        "pretext": f"{style.emoji} {m.bold(style.label)}",
    }
    text = m.fit("\n".join(_lines(notice, cast, settings, m)), text_limit).rstrip("\n")
    if text:
        attachment["text"] = text
    attachment["footer"] = _footer(repository, m)
    finished = m.attachment(attachment, markdown_in=["pretext", "text"], at=notice.activity.event_time)
    return m.payload(top, [finished])


def _style(notice: Notice) -> Style:
    if notice.command is not None:
        return COMMAND_STYLES[notice.command]
    if notice.ready_for_review:
        return READY_STYLE
    return KIND_STYLES[notice.activity.kind]


def _targets(notice: Notice, cast: Cast) -> list[Person]:
    """Who the message is about (and so who may be mentioned)."""
    if notice.command in (ReviewCommand.RE_REVIEW, ReviewCommand.PING_REVIEWERS):
        return list(cast.reviewers)
    if notice.command is ReviewCommand.REVIEW_DONE:
        return [cast.author] if cast.author else []
    if notice.command is None and (notice.ready_for_review or notice.activity.kind is ActivityKind.OPENED):
        return list(cast.reviewers)
    if notice.command is None and notice.activity.kind in (ActivityKind.APPROVED, ActivityKind.MERGED):
        return [cast.author] if cast.author else []
    return []


def _pr_name(notice: Notice) -> str:
    snapshot = notice.pull_request
    number = f"#{notice.activity.pull_request_id}"
    return f"{number} {snapshot.title}" if snapshot and snapshot.title else number


@dataclass(frozen=True)
class _Words:
    """How a headline names things: marked up (escaped, the pull request linked, mentions), or
    plain (the notification's ``fallback``: names only, escaped by the caller)."""

    text: Callable[[str], str]
    what: str
    name: Callable[[Person, bool], str]
    code: Callable[[str], str]

    @classmethod
    def marked(cls, notice: Notice, m: Markup) -> _Words:
        title = m.fit(m.label(_pr_name(notice)), _TITLE_LIMIT)
        if notice.activity.pull_request_id is None:
            title = m.escape(_commented_commit(notice))
        return cls(
            text=m.escape,
            what=m.link(_link(notice), title),
            name=lambda someone, mention: _name(someone, m, mention=mention),
            code=lambda name: m.code(name, 120),
        )

    @classmethod
    def plain(cls, notice: Notice) -> _Words:
        what = _pr_name(notice) if notice.activity.pull_request_id else _commented_commit(notice)
        return cls(
            text=lambda text: text,
            what=what,
            name=lambda someone, _mention: someone.label or "someone",
            code=lambda name: name,
        )


def _headline(notice: Notice, cast: Cast, words: _Words) -> str:
    """Who did what to which pull request, for whom: the message's one line."""
    who, what = words.name(cast.actor, False), words.what
    repo = words.text(notice.activity.repository.name)
    if notice.command is not None:
        return _command_headline(notice, cast, words)
    if notice.ready_for_review:
        return f"{what} in {repo} is ready for review{_requested(notice, cast, words)}"
    snapshot = notice.pull_request
    destination = _short(snapshot.destination_reference) if snapshot else ""
    into = f" into {words.code(destination)}" if destination else ""
    by_author = _by_author(cast, words, mention=notice.activity.kind in _AUTHOR_TARGETED)
    count = _count_suffix(notice, words)
    rule = words.text(notice.activity.approval_rule_name or "")
    headlines = {
        ActivityKind.OPENED: f"{who} opened {what} in {repo}{_requested(notice, cast, words)}",
        ActivityKind.SOURCE_UPDATED: f"{who} pushed new commits to {what} in {repo}",
        ActivityKind.APPROVED: f"{who} approved {what}{by_author}{count}",
        ActivityKind.APPROVAL_REVOKED: f"{who} revoked their approval of {what}{by_author}{count}",
        ActivityKind.OVERRIDDEN: f"{who} overrode the approval rules of {what}{by_author}",
        ActivityKind.OVERRIDE_REVOKED: f"{who} revoked the override of the approval rules of {what}",
        ActivityKind.MERGED: f"{who} merged {what}{by_author}{into}",
        ActivityKind.CLOSED: f"{who} closed {what}{by_author} without merging",
        ActivityKind.REOPENED: f"{who} reopened {what}{by_author}",
        ActivityKind.RULE_CHANGED: f"{who} changed approval rule {rule} of {what}",
        ActivityKind.COMMENT: f"{who} {'replied' if _is_reply(notice) else 'commented'} on {what}",
        ActivityKind.COMMENT_EDITED: f"{who} edited a comment on "
        + (what if notice.activity.pull_request_id else f"commit {what} in {repo}"),
        ActivityKind.COMMIT_COMMENT: f"{who} commented on commit {what} in {repo}",
    }
    return headlines[notice.activity.kind]


#: Kinds whose message is for the pull request's author: they are mentioned where they are named.
_AUTHOR_TARGETED = frozenset({ActivityKind.APPROVED, ActivityKind.MERGED})


def _by_author(cast: Cast, words: _Words, *, mention: bool) -> str:
    """``by <author>`` when the author is not the one acting (their own action names them once)."""
    if cast.author is None or cast.actor_is_author:
        return ""
    return f" by {words.name(cast.author, mention and not _same(cast.author, cast.actor))}"


def _requested(notice: Notice, cast: Cast, words: _Words) -> str:
    """``; review requested from <reviewers>``, or nothing when nobody is known to review."""
    if not cast.reviewers:
        return ""
    return "; review requested from " + _people_named(cast.reviewers, cast.actor, words)


def _people_named(people: tuple[Person, ...], actor: Person, words: _Words) -> str:
    shown = [words.name(someone, not _same(someone, actor)) for someone in people]
    more = len(shown) - _MAX_REVIEWERS_LISTED
    return ", ".join(shown[:_MAX_REVIEWERS_LISTED]) + (f" and {more} more" if more > 0 else "")


def _command_headline(notice: Notice, cast: Cast, words: _Words) -> str:
    who, what = words.name(cast.actor, False), words.what
    command = notice.command
    if command is ReviewCommand.REVIEW_DONE:
        count = _count_suffix(notice, words)
        if cast.actor_is_author:
            return f"review finished on {what}, says its author {who}{count}"
        role = "" if cast.actor_is_reviewer or not cast.roles_known else " (not a reviewer of it)"
        author = _by_author(cast, words, mention=True).removeprefix(" by ")
        over_to = f"; over to {author}" if author else ""
        return f"{who}{role} finished reviewing {what}{over_to}{count}"
    role = "" if cast.actor_is_author or not cast.roles_known else " (not its author)"
    reviewers = _people_named(cast.reviewers, cast.actor, words) if cast.reviewers else ""
    if command is ReviewCommand.RE_REVIEW:
        return f"{who}{role} asks {reviewers or 'the reviewers'} for another review of {what}"
    asked = f": {reviewers}" if reviewers else ""
    return f"{who}{role} has a question for the reviewers of {what}{asked}"


def _count_suffix(notice: Notice, words: _Words) -> str:
    count = _approval_count(notice)
    return f": {words.text(count)}" if count else ""


def _approval_count(notice: Notice) -> str | None:
    """``1 of 2 approvals`` (``2 approvals`` with no rule) when the state was read."""
    if notice.approvals is None:
        return None
    have = len(notice.approvals.approver_arns)
    needed = notice.details.approvals_needed if notice.details else 0
    plural = "s" if (needed or have) != 1 else ""
    count = f"{have} of {needed} approval{plural}" if needed else f"{have} approval{plural}"
    if notice.approvals.approved:
        count += ", rules met"
    return count


def _is_reply(notice: Notice) -> bool:
    reference = notice.activity.comment
    return bool((notice.comment and notice.comment.in_reply_to) or (reference and reference.in_reply_to))


def _commented_commit(notice: Notice) -> str:
    reference = notice.activity.comment
    commit = reference.after_commit_id if reference else None
    return commit[:SHORT_ID] if commit else "(unknown)"


def _short(reference: str) -> str:
    return reference.removeprefix("refs/heads/")


def _footer(repository: Repository, m: Markup) -> str:
    return m.fit(m.plain(f"{repository.source_label} · {repository.name}"), _LINE_LIMIT)


def _title(notice: Notice, m: Markup, *, linked: bool) -> str:
    """The attachment's title. A linked title is shown as plain text (Mattermost renders only an
    unlinked one as Markdown, so backslash escapes would show); Slack escapes both the same way."""
    if notice.activity.pull_request_id is None:
        name, limit = f"[{notice.activity.repository.name}] commit {_commented_commit(notice)}", _LINE_LIMIT
    else:
        name, limit = _pr_name(notice), _TITLE_LIMIT
    return m.fit(m.plain(name) if linked else m.escape(name), limit)


def _link(notice: Notice) -> str | None:
    activity = notice.activity
    repository = activity.repository
    if activity.pull_request_id is None:
        commit = activity.comment.after_commit_id if activity.comment else None
        return commit_comment_url(repository, commit, activity.comment.comment_id if activity.comment else "")
    if activity.comment is not None:
        return comment_url(repository, activity.pull_request_id, activity.comment.comment_id)
    return pull_request_url(repository, activity.pull_request_id)


def _lines(notice: Notice, cast: Cast, settings: PullRequestSettings, m: Markup) -> list[str]:
    lines = []
    snapshot = notice.pull_request
    if snapshot is not None and (snapshot.source_reference or snapshot.destination_reference):
        lines.append(_branches(snapshot, notice, m))
    if notice.details_error:
        lines.append(
            m.italic(
                f"The pull request could not be read ({m.escape(notice.details_error)}), "
                "so this shows what the event says."
            )
        )
    lines.extend(_kind_lines(notice, cast, settings, m))
    return lines


def _branches(snapshot: PullRequestSnapshot, notice: Notice, m: Markup) -> str:
    source = m.code(_short(snapshot.source_reference) or "?", 120)
    destination = m.code(_short(snapshot.destination_reference) or "?", 120)
    return f"{source} → {destination} · {m.escape(notice.activity.repository.name)}"


def _kind_lines(notice: Notice, cast: Cast, settings: PullRequestSettings, m: Markup) -> list[str]:
    kind = notice.activity.kind
    if notice.command is not None:
        return _command_lines(notice, cast, settings, m)
    if notice.ready_for_review or kind is ActivityKind.OPENED:
        return _opened_lines(notice, cast, settings, m, mention=True)
    if kind is ActivityKind.SOURCE_UPDATED:
        return _pushed_lines(notice, m)
    if kind in APPROVAL_KINDS or kind is ActivityKind.MERGED:
        return _approval_lines(notice, cast, m)
    if kind in (ActivityKind.CLOSED, ActivityKind.REOPENED, ActivityKind.RULE_CHANGED):
        named = kind is not ActivityKind.RULE_CHANGED  # closing and reopening name the author
        return [f"Author: {_name(cast.author, m, mention=False)}"] if cast.author and not named else []
    return _comment_lines(notice, settings, m)


def _shortened(what: str, m: Markup) -> str:
    return "… " + m.italic(f"({what} shortened)")


def _opened_lines(
    notice: Notice, cast: Cast, settings: PullRequestSettings, m: Markup, *, mention: bool
) -> list[str]:
    lines = []
    snapshot = notice.pull_request
    if snapshot is not None and snapshot.description.strip():
        excerpt = m.fit(
            m.escape_body(snapshot.description.strip()),
            settings.description_chars,
            marker=_shortened("description", m),
        )
        lines.append(m.quote(excerpt))
    if cast.author is not None and not cast.actor_is_author:
        lines.append(f"Author: {_name(cast.author, m, mention=False)}")
    if notice.details is not None:
        rules = notice.details.approval_rules
        if rules and notice.details.approvals_needed:  # GitLab's requested reviewers need no count
            names = ", ".join(m.escape(rule.name) for rule in rules[:5])
            needed = notice.details.approvals_needed
            lines.append(f"Needs {needed} approval{'s' if needed != 1 else ''} ({m.fit(names, 300)})")
        elif not rules:
            lines.append("No approval rule: anyone may merge")
    return lines


def _pushed_lines(notice: Notice, m: Markup) -> list[str]:
    snapshot = notice.pull_request
    if snapshot is None:
        return []
    repository = notice.activity.repository
    new = snapshot.source_commit
    old = notice.previous_source_commit
    if old and old != new and is_commit_id(old) and is_commit_id(new):
        link = compare_link(repository, old, new)
        moved = f"Source moved {m.code(old[:SHORT_ID])} → {m.code(new[:SHORT_ID])}"
        return [f"{moved}: {m.link(link, 'compare')}" if link else moved]
    lines = [f"Source is now at {m.code(new[:SHORT_ID])}" if new else "The source branch moved"]
    link = compare_link(repository, snapshot.destination_commit, new)
    if link:
        against = m.code(_short(snapshot.destination_reference) or "destination", 120)
        lines.append(m.link(link, f"Compare with {against}"))
    return lines


def _approval_lines(notice: Notice, cast: Cast, m: Markup) -> list[str]:
    """Approvals, revocations, overrides and merges: what the headline did not say."""
    snapshot = notice.pull_request
    if notice.activity.kind is not ActivityKind.MERGED:
        return []  # the count and the author are in the headline
    lines = []
    count = _approval_count(notice)
    if count:
        lines.append(m.bold(count))
    if snapshot is not None and snapshot.merge_option:
        option = MERGE_OPTIONS.get(snapshot.merge_option, m.escape(snapshot.merge_option.lower()))
        lines.append(f"With {option}")
    if snapshot is not None and snapshot.merge_commit_id and is_commit_id(snapshot.merge_commit_id):
        lines.append(f"Merge commit {m.code(snapshot.merge_commit_id[:SHORT_ID])}")
    return lines


def _comment_lines(notice: Notice, settings: PullRequestSettings, m: Markup) -> list[str]:
    lines = []
    comment = notice.comment
    if comment is None:
        reason = m.escape(notice.comment_error or "unknown reason")
        return [m.italic(f"The comment could not be read ({reason}).")]
    if comment.file_path:
        where = f":page_facing_up: {m.code(comment.file_path)}"
        if comment.file_position is not None:
            where += f" line {comment.file_position}"
        if comment.relative_file_version == "BEFORE":
            where += " (before the change)"
        lines.append(where)
    if _is_reply(notice):
        lines.append(m.italic("In reply to a comment"))
    body = comment.content.strip()
    if body:
        lines.append(
            m.quote(m.fit(m.escape_body(body), settings.comment_chars, marker=_shortened("comment", m)))
        )
    return lines


def _command_lines(notice: Notice, cast: Cast, settings: PullRequestSettings, m: Markup) -> list[str]:
    """What the headline did not say: why nobody is asked, and the words after the command."""
    lines = []
    if notice.command is not ReviewCommand.REVIEW_DONE and not cast.reviewers:
        if notice.details is None:
            lines.append(m.italic("The reviewers are unknown: their approval rules could not be read."))
        else:
            lines.append(m.italic("No reviewers: the pull request has no approval rule with a pool."))
    if notice.command_rest.strip():
        marker = _shortened("comment", m)
        rest = m.fit(m.escape_body(notice.command_rest.strip()), settings.comment_chars, marker=marker)
        lines.append(m.quote(rest))
    return lines


# --- App mode: the thread's parent, kept current -------------------------------------------------

#: What the parent message of a pull request's thread says it is, by state.
STATE_STYLES = {
    "open": Style("#1F6FEB", ":large_green_circle:", "Open"),
    "approved": Style("#2EB67D", ":white_check_mark:", "Approved"),
    "merged": Style("#8250DF", ":tada:", "Merged"),
    "closed": Style("#CF222E", ":no_entry_sign:", "Closed"),
}


def pull_request_state(notice: Notice) -> str:
    """``open``, ``approved``, ``merged`` or ``closed``, from what the notice knows."""
    snapshot = notice.pull_request
    if (snapshot is not None and snapshot.is_merged) or notice.activity.kind is ActivityKind.MERGED:
        return "merged"
    if (
        snapshot is not None and snapshot.status.upper() == "CLOSED"
    ) or notice.activity.kind is ActivityKind.CLOSED:
        return "closed"
    if notice.approvals is not None and notice.approvals.approved:
        return "approved"
    return "open"


#: How the build line of a thread's parent starts, by result (:func:`build_line`).
BUILD_PASSED, BUILD_FAILED = "✓ build passed", "✗ build failed"


def build_line(build: BuildResult, markup: Markup = SLACK) -> str:
    """``✓ build passed`` / ``✗ build failed``, with the pipeline and the commit it built."""
    mark = BUILD_PASSED if build.passed else BUILD_FAILED
    return f"{markup.bold(mark)} ({markup.escape(build.pipeline)}, {markup.code(build.commit_id[:7])})"


def with_build_line(text: str, line: str) -> str:
    """``text`` (a parent's attachment text) with its build line replaced by ``line``, or added."""
    kept = [row for row in text.split("\n") if BUILD_PASSED not in row and BUILD_FAILED not in row]
    return "\n".join([*kept, line])


def render_card(
    notice: Notice,
    settings: PullRequestSettings,
    limits: RenderSettings,
    markup: Markup = SLACK,
    *,
    build: BuildResult | None = None,
) -> dict[str, Any]:
    """The parent of a pull request's thread (app mode): what it is and where it stands now.

    Posted when a pull request is first seen in the middle of its life, and written over the
    first message (``chat.update``) after every later event. No mentions: an edit notifies nobody,
    and the events in the thread already did. ``build`` adds the build line while the commit it
    built is still the source tip (a later push makes it stale, so it is left out).
    """
    m = markup
    cast = cast_of(notice, settings.user_map)
    style = STATE_STYLES[pull_request_state(notice)]
    repository = notice.activity.repository
    sentence = f"Pull request {_pr_name(notice)} in {repository.name}: {style.label.lower()}"
    lines = []
    snapshot = notice.pull_request
    if snapshot is not None and (snapshot.source_reference or snapshot.destination_reference):
        lines.append(_branches(snapshot, notice, m))
    if cast.author is not None:
        lines.append(f"Author: {_name(cast.author, m, mention=False)}")
    count = _approval_count(notice)
    if count:
        lines.append(m.bold(count))
    if build is not None and snapshot is not None and build.commit_id == snapshot.source_commit:
        lines.append(build_line(build, m))
    attachment: dict[str, Any] = {
        "color": style.color,
        "fallback": m.fit(m.plain(sentence), _LINE_LIMIT),
        "pretext": f"{style.emoji} {m.bold(style.label)}",
        "text": m.fit("\n".join(lines), limits.section_limit),
        "footer": _footer(repository, m),
    }
    link = pull_request_url(repository, notice.activity.pull_request_id or "")
    title = m.fit(m.label(_pr_name(notice)), _TITLE_LIMIT)
    # the title once, linked in the first line; the state once, in the pretext
    linked = m.link(link if notice.activity.pull_request_id else None, title)
    top = f"Pull request {linked} in {m.escape(repository.name)}"
    finished = m.attachment(attachment, markdown_in=["pretext", "text"], at=None)
    return m.payload(top, [finished])


def people_to_notify(notice: Notice, user_map: UserMap) -> list[Person]:
    """Who may get a direct message about this notice (app mode, ``direct_messages``): the people a
    review command is about, and the mapped people a comment names as ``@name``; never the actor."""
    cast = cast_of(notice, user_map)
    people: list[Person] = []
    if notice.command is not None:
        people.extend(_targets(notice, cast))
    comment = notice.comment
    if notice.activity.kind in (ActivityKind.COMMENT, ActivityKind.COMMIT_COMMENT) and comment is not None:
        for name in dict.fromkeys(_NAMED.findall(comment.content)):
            named = person(Identity(arn="", name=name), user_map)
            if named.chat is not None:
                people.append(named)
    found: list[Person] = []
    for someone in people:
        if (
            someone.chat is not None
            and not _same(someone, cast.actor)
            and all(not _same(someone, f) for f in found)
        ):
            found.append(someone)
    return found[:_MAX_MENTIONS]
