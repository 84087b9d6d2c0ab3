"""Render: a :class:`~handler.model.Notification` becomes one Slack message. Pure: no I/O, no clock.

The message says who did what where once, in the line a reader sees first, then the commits,
then the detail (the shape of the GitHub and GitLab chat integrations)::

    text          alice pushed <compare|3 new commits> to branch <browse|`main`> in <repo|payments-service>
    attachments   one per reference, with the branch's colour bar:
      text        (a push of several references: the line above for this reference, without "alice")
                  <commit|`9f2c1e4`> Fix rounding in refunds — Ana Núñez      one line per commit,
                  <commit|`41d07aa`> Add refund endpoint — Ana Núñez          newest first, up to
                  … and 2 more commits                                         ``max_commits``
                  *3 files changed* by `9f2c1e4`: 1 added, 2 modified         the newest commit's
                  _Added_ • `src/refund.py` …                                  files, per parent
      footer, ts  "AWS CodeCommit · eu-west-1", the event time (on the last attachment only)

A branch seen for the first time (no recorded history) shows its newest commit instead of a list:
subject in bold, body, files. A new branch lists what it brings against the default branch; a
force push is flagged (":warning: … *force-pushed*") with the commits it dropped; a tag shows the
commit it names (an annotated tag's commit, peeled by enrich); a deleted reference shows the commit
it pointed at, once. A second parent of a merge is listed only when its diff has something in it.

Every piece of git-controlled text passes through :func:`handler.mrkdwn.escape` (via ``code`` and
``fit``) and every link comes from :mod:`handler.render.links`. Limits: the whole message stays within
``message_limit`` and each attachment's text within ``section_limit`` (UTF-16 code units); lists
keep whole lines and say how many were left out; the renderer shrinks text budgets until the
message fits and, as a last resort, falls back to a one-attachment summary that always fits.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from handler.model import (
    TAG_OBJECT_UNREADABLE,
    BranchHistory,
    ChangeType,
    Commit,
    EntryKind,
    FileChange,
    HistoryRelation,
    Notification,
    ParentDiff,
    Push,
    RefAction,
    RefChange,
    RefKind,
    RefReport,
    Repository,
    TagAnnotation,
)
from handler.render.links import commit_url, compare_url, ref_url, repository_url
from handler.render.markup import SLACK, Markup
from handler.render.mrkdwn import utf16_len
from handler.settings import RenderSettings

OVERFLOW_COLOR = "#9E9E9E"
SHORT_ID = 7
_SUBJECT_LIMIT = 250  # the subject of a commit shown on its own
_LIST_SUBJECT_LIMIT = 100  # a subject in a list of commits
_NAME_LIMIT = 80  # an author's name
_REF_LIMIT = 2_000  # a reference's name: never cut (CodeCommit allows 256 characters, escapes add more)
_LINE_LIMIT = 300  # plain lines: fallback, footer
_TOP_LIMIT = 1_500  # the message's first line, links included
_MORE_RESERVE = 60  # room kept for a "… and N more" line
_MIN_TEXT = 200
#: What CodeCommit and git say when an id names no commit. The reader adds a hint that fits only
#: tags ("it may be an annotated tag's object id"), so the renderer words that case by ref kind.
_NO_SUCH_COMMIT = "no commit has this id"
_CHANGE_LABELS = {
    ChangeType.ADDED: "added",
    ChangeType.MODIFIED: "modified",
    ChangeType.RENAMED: "renamed",
    ChangeType.DELETED: "deleted",
}
_ORDER = {ChangeType.ADDED: 0, ChangeType.MODIFIED: 1, ChangeType.RENAMED: 2, ChangeType.DELETED: 3}
_VERBS = {
    (RefKind.BRANCH, RefAction.CREATED): "created branch",
    (RefKind.BRANCH, RefAction.UPDATED): "pushed to branch",
    (RefKind.BRANCH, RefAction.DELETED): "deleted branch",
    (RefKind.TAG, RefAction.CREATED): "created tag",
    (RefKind.TAG, RefAction.UPDATED): "moved tag",
    (RefKind.TAG, RefAction.DELETED): "deleted tag",
    (RefKind.OTHER, RefAction.CREATED): "created reference",
    (RefKind.OTHER, RefAction.UPDATED): "updated reference",
    (RefKind.OTHER, RefAction.DELETED): "deleted reference",
}
#: How several references changed by one push are counted in the first line, in this order.
_GROUP_VERBS = {
    (RefAction.CREATED, RefKind.BRANCH): "created",
    (RefAction.CREATED, RefKind.TAG): "created",
    (RefAction.CREATED, RefKind.OTHER): "created",
    (RefAction.UPDATED, RefKind.BRANCH): "pushed to",
    (RefAction.UPDATED, RefKind.TAG): "moved",
    (RefAction.UPDATED, RefKind.OTHER): "updated",
    (RefAction.DELETED, RefKind.BRANCH): "deleted",
    (RefAction.DELETED, RefKind.TAG): "deleted",
    (RefAction.DELETED, RefKind.OTHER): "deleted",
}
_KIND_PLURALS = {RefKind.BRANCH: "branches", RefKind.TAG: "tags", RefKind.OTHER: "references"}


class Detail(enum.IntEnum):
    """How much each reference shows. A message over its limit steps down one level at a time.

    The order is what a reader loses first: the file lists (their count line stays), then the
    commit bodies, then every commit line past the newest ("… and N more commits" counts them).
    Past the last level, whole references move, from the last, into a closing "… and N more"
    list that names each whole while it fits and counts the rest. A reference's name, the
    pusher and the repository are never cut: where a link would not fit, the name goes unlinked.
    """

    FULL = 0
    FILE_COUNTS = 1
    NO_BODIES = 2
    FIRST_COMMIT = 3


def render(notification: Notification, settings: RenderSettings, markup: Markup = SLACK) -> dict[str, Any]:
    """The payload for one push in ``markup``'s dialect, within its message limit (see :class:`Detail`)."""
    m = markup
    limit = m.message_limit(settings.message_limit)
    top = _top_text(notification, m)
    every = len(notification.reports)
    counts = _full_payload(notification, settings, top, m, detail=Detail.FILE_COUNTS, shown=every)
    spare = limit - payload_length(counts)
    if spare >= 0:
        # the file lists share what the counts leave: less room never shows more files
        file_room = spare // max(1, every) - _MORE_RESERVE
        payload = _full_payload(
            notification, settings, top, m, detail=Detail.FULL, shown=every, files=file_room
        )
        return payload if file_room > 0 and payload_length(payload) <= limit else counts
    for detail in (Detail.NO_BODIES, Detail.FIRST_COMMIT):
        payload = _full_payload(notification, settings, top, m, detail=detail, shown=every)
        if payload_length(payload) <= limit:
            return payload
    for shown in range(every - 1, 0, -1):
        payload = _full_payload(notification, settings, top, m, detail=Detail.FIRST_COMMIT, shown=shown)
        if payload_length(payload) <= limit:
            return payload
    return _summary_payload(notification, settings, m)


def payload_length(payload: Any) -> int:
    """Total UTF-16 length of every string in the payload: what Slack's limits are measured on."""
    if isinstance(payload, str):
        return utf16_len(payload)
    if isinstance(payload, dict):
        return sum(payload_length(value) for value in payload.values())
    if isinstance(payload, list):
        return sum(payload_length(item) for item in payload)
    return 0


def headline(
    push: Push, ref_changes: tuple[RefChange, ...], m: Markup = SLACK, *, formatted: bool = False
) -> str:
    """The one-line summary, unformatted, escaped for the field it goes in.

    Args:
        formatted: False for a field shown as plain text (``fallback``: only pings are defused,
            :meth:`Markup.plain`); True for one the destination renders (a payload's ``text``:
            :meth:`Markup.escape`, so in Mattermost a ``_ci_bot_`` stays a name, not italics).
    """
    who, repo = push.pusher.label, push.repository.name
    if push.is_test:
        sentence = f"{who} sent a test notification for {repo}; nothing was pushed"
    elif len(ref_changes) == 1:
        sentence = _sentence(who, ref_changes[0], repo)
    else:
        sentence = f"{who} {_group_counts(ref_changes)} in {repo}"
    return m.fit(m.escape(sentence) if formatted else m.plain(sentence), _TOP_LIMIT)


def _sentence(who: str, ref_change: RefChange, repo: str) -> str:
    verb = _VERBS[(ref_change.kind, ref_change.action)]
    return f"{who} {verb} {ref_change.short_name} in {repo}"


def _group_counts(ref_changes: Iterable[RefChange]) -> str:
    """``created 2 branches and 1 tag, deleted 1 branch``: what the references were, counted."""
    counts: dict[tuple[RefAction, RefKind], int] = {}
    for ref_change in ref_changes:
        key = (ref_change.action, ref_change.kind)
        counts[key] = counts.get(key, 0) + 1
    clauses: list[str] = []
    previous_verb = None
    for (action, kind), verb in _GROUP_VERBS.items():
        count = counts.get((action, kind))
        if not count:
            continue
        noun = f"{count:,} {kind.value if count == 1 else _KIND_PLURALS[kind]}"
        if verb == previous_verb:
            clauses[-1] += f" and {noun}"
        else:
            clauses.append(f"{verb} {noun}")
        previous_verb = verb
    return _join(clauses)


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# --- The first line: who, what, where ------------------------------------------------------------


@dataclass(frozen=True)
class _Phrase:
    """What happened to one reference, marked up, so it reads both after a name and on its own.

    ``alice {verb} {target} in repo: {note}`` is the message's first line for one reference;
    ``{Verb} {target}: {note}`` opens the reference's attachment when a push has several. The
    verb is plain words; ``loud`` puts it in bold in both places (a force push).
    """

    verb: str
    target: str
    note: str = ""
    flag: str = ""
    loud: bool = False


def _top_text(notification: Notification, m: Markup) -> str:
    """Who did what where; without its links when they would make it too long (nothing is cut)."""
    text = _top_sentence(notification, m)
    if utf16_len(text) > _TOP_LIMIT:
        text = _top_sentence(notification, m.unlinked())
    return m.fit(text, _TOP_LIMIT)


def _top_sentence(notification: Notification, m: Markup) -> str:
    push = notification.push
    repository = push.repository
    who = m.escape(push.pusher.label)
    repo = m.link(repository_url(repository), m.escape(repository.name))
    if push.is_test:
        return f":test_tube: {who} sent a test notification for {repo}; nothing was pushed."
    if len(push.ref_changes) == 1 and len(notification.reports) == 1:
        phrase = _phrase(notification.reports[0], repository, m)
        verb = m.bold(phrase.verb) if phrase.loud else phrase.verb
        text = f"{phrase.flag}{who} {verb} {phrase.target} in {repo}"
        return text + (f": {phrase.note}" if phrase.note else "")
    forced = any(report.history is not None and report.history.forced for report in notification.reports)
    text = f"{':warning: ' if forced else ''}{who} {_group_counts(push.ref_changes)} in {repo}"
    return text + (f", with a {m.bold('force push')}" if forced else "")


def _standalone(phrase: _Phrase, m: Markup) -> str:
    verb = m.bold(phrase.verb[:1].upper() + phrase.verb[1:])
    return f"{phrase.flag}{verb} {phrase.target}" + (f": {phrase.note}" if phrase.note else "")


def _phrase(report: RefReport, repository: Repository, m: Markup) -> _Phrase:
    ref_change = report.ref_change
    verb = _VERBS[(ref_change.kind, ref_change.action)]
    name = m.code(ref_change.short_name, _REF_LIMIT)
    if ref_change.action is RefAction.DELETED or ref_change.kind is RefKind.OTHER:
        return _Phrase(verb, name)
    linked = m.link(ref_url(repository, ref_change.full_name), name)
    history = report.history
    if ref_change.kind is RefKind.BRANCH and history is not None and report.commit is not None:
        return _history_phrase(history, linked, report.commit.commit_id, repository, m)
    return _Phrase(verb, linked)


def _history_phrase(
    history: BranchHistory, linked: str, head_id: str, repository: Repository, m: Markup
) -> _Phrase:
    def compared(base_id: str | None, label: str) -> str:
        return m.link(compare_url(repository, base_id, head_id), label) if base_id else label

    head = _commit_link(repository, head_id, m)
    if history.relation in (HistoryRelation.FAST_FORWARD, HistoryRelation.FORCED):
        return _update_phrase(history, linked, compared(history.previous_id, _new_commits(history)), head)
    return _new_branch_phrase(history, linked, compared(history.base_id, _commits(history)), head, m)


def _update_phrase(history: BranchHistory, linked: str, new_commits: str, head: str) -> _Phrase:
    """A push to a branch whose previous head was recorded: a fast forward or a force push."""
    added = new_commits if history.total else f"no new commits, now at {head}"
    if history.relation is HistoryRelation.FAST_FORWARD:
        if not history.total:
            return _Phrase("pushed to branch", linked, added)
        return _Phrase("pushed", f"{added} to {linked}")
    if history.dropped is None:
        dropped = "commits were dropped"
    else:
        dropped = _count(history.dropped, history.dropped_exact, "commit") + " dropped"
    return _Phrase("force-pushed", linked, f"{dropped}, {added}", flag=":warning: ", loud=True)


def _new_branch_phrase(history: BranchHistory, linked: str, commits: str, head: str, m: Markup) -> _Phrase:
    """A created branch, measured against the default branch."""
    default = m.code(history.base_ref, _REF_LIMIT) if history.base_ref else ""
    if history.relation is HistoryRelation.BRANCHED:
        base = default or "the default branch"
        if not history.total:
            return _Phrase("created branch", linked, f"at {head}, a commit already on {base}")
        return _Phrase("created branch", linked, f"{commits} not on {base}")
    if history.relation is HistoryRelation.DEFAULT_BRANCH:
        return _Phrase("created branch", linked, f"the default branch, with {_commits(history)}")
    base = f"the default branch {default}" if default else "the default branch"
    return _Phrase("created branch", linked, f"{_commits(history)}, sharing no history with {base}")


def _new_commits(history: BranchHistory) -> str:
    return _count(history.total, history.total_exact, "new commit")


def _commits(history: BranchHistory) -> str:
    return _count(history.total, history.total_exact, "commit")


def _count(number: int, exact: bool, noun: str) -> str:
    return f"{'' if exact else 'at least '}{number:,} {noun}{'' if number == 1 else 's'}"


# --- Attachments ---------------------------------------------------------------------------------


def _full_payload(
    notification: Notification,
    settings: RenderSettings,
    top: str,
    m: Markup,
    *,
    detail: Detail,
    shown: int,
    files: int = 0,
) -> dict[str, Any]:
    """Every report up to ``shown`` at ``detail``; the rest, and the references not read, named.

    ``files`` is the room each reference's file lists may take (at ``Detail.FULL``).
    """
    push = notification.push
    hidden = tuple(report.ref_change for report in notification.reports[shown:]) + notification.omitted
    attachment_count = shown + (1 if hidden else 0)
    room = m.message_limit(settings.message_limit) - utf16_len(top) - 200
    share = room // max(1, attachment_count) - 800  # colour, fallback, footer and keys
    standalone = attachment_count > 1
    attachments = []
    shown_before: set[str] = set()  # commits an earlier attachment showed: said once
    for report in notification.reports[:shown]:
        attachment = _attachment(
            report, push, settings, m, detail=detail, files=files, standalone=standalone, shown=shown_before
        )
        shown_before |= _commits_shown(report)
        if "text" in attachment:  # one with nothing to say would be only a footer
            attachments.append(attachment)
    if hidden:
        read = len(notification.reports) - shown
        overflow_limit = min(settings.section_limit, max(share, _MIN_TEXT))
        attachments.append(_overflow_attachment(hidden, read, overflow_limit, m))
    return m.payload(top, _finished(attachments, push, m))


def _finished(attachments: list[dict[str, Any]], push: Push, m: Markup) -> list[dict[str, Any]]:
    """Each attachment in the dialect's form; the last one carries the footer and the event time."""
    if attachments:
        attachments[-1]["footer"] = _footer(push, m)
    last = len(attachments) - 1
    return [
        m.attachment(fields, markdown_in=["text"], at=push.event_time if index == last else None)
        for index, fields in enumerate(attachments)
    ]


def _commits_shown(report: RefReport) -> set[str]:
    """The commits a report's attachment shows in full (its tip, or its listed commits)."""
    history = report.history
    if history is not None and report.ref_change.kind is RefKind.BRANCH and history.total:
        return {commit.commit_id for commit in history.commits}
    return {report.commit.commit_id} if report.commit is not None else set()


def _attachment(
    report: RefReport,
    push: Push,
    settings: RenderSettings,
    m: Markup,
    *,
    detail: Detail,
    files: int,
    standalone: bool,
    shown: set[str],
) -> dict[str, Any]:
    ref_change = report.ref_change
    attachment: dict[str, Any] = {
        "color": settings.color_for(ref_change.full_name, ref_change.short_name),
        "fallback": _fallback(push, ref_change, m),
    }
    lead = None
    if push.is_test:
        name = m.code(ref_change.short_name, _REF_LIMIT)
        lead = f"{m.bold('Example')} from {ref_change.kind.value} {name}:"
    elif standalone:
        lead = _standalone(_phrase(report, push.repository, m), m)
        if utf16_len(lead) > settings.section_limit // 2:  # the name whole, without the links around it
            lead = _standalone(_phrase(report, push.repository, m.unlinked()), m)
    text = _text(report, push, settings, lead, m, detail=detail, files=files, shown=shown)
    if text:
        attachment["text"] = text
    return attachment


def _fallback(push: Push, ref_change: RefChange, m: Markup) -> str:
    who, repo = push.pusher.label, push.repository.name
    if push.is_test:
        sentence = (
            f"Test notification for {repo}, example from {ref_change.kind.value} {ref_change.short_name}"
        )
    else:
        sentence = _sentence(who, ref_change, repo)
    return m.fit(m.plain(sentence), _TOP_LIMIT)


def _footer(push: Push, m: Markup) -> str:
    parts = [push.repository.source_label]
    if push.custom_data:
        parts.append(push.custom_data)
    return m.fit(m.plain(" · ".join(parts)), _LINE_LIMIT)


def _text(
    report: RefReport,
    push: Push,
    settings: RenderSettings,
    lead: str | None,
    m: Markup,
    *,
    detail: Detail,
    files: int,
    shown: set[str],
) -> str:
    """The attachment's text: the reference line whole, then commits, then files in ``files``.

    A tip an earlier attachment already showed (two tags on one commit) is named, not shown again.
    """
    ref_change, commit, repository = report.ref_change, report.commit, push.repository
    lead_line = lead + "\n" if lead else ""
    blocks: list[str] = []
    # commit lines and a body may use the attachment's whole room; file lists what they are given
    whole = max(_MIN_TEXT // 2, settings.section_limit - utf16_len(lead_line))
    history = None if push.is_test else report.history
    settings = _at_detail(settings, detail)
    listed = detail < Detail.FIRST_COMMIT
    if ref_change.action is RefAction.DELETED:
        blocks.append(_deleted_line(report, repository, m))
    elif commit is None:
        blocks.append(_unreadable_line(report, m))
    elif history is not None and ref_change.kind is RefKind.BRANCH:
        if not history.total and not history.dropped_commits:
            return lead_line.rstrip("\n")  # nothing new: the first line says where the branch points
        if history.total:
            blocks.append(_commit_list(history, repository, max(settings.max_commits, 1), whole, m))
        if history.dropped_commits and listed:
            room = whole - _used(blocks)
            blocks.append(_dropped_list(history, repository, max(settings.max_commits, 1), room, m))
        if listed:
            blocks.extend(_history_files(report, history, settings, min(files, whole - _used(blocks)), m))
    elif commit.commit_id in shown:
        blocks.append(f"At {_commit_link(repository, commit.commit_id, m)}, shown above.")
    else:
        tag = _tag_line(report.tag, m) + "\n" if report.tag is not None else ""
        blocks.append(tag + _tip(commit, repository, settings, m))
        if listed:
            room = min(files, whole - _used(blocks))
            merge = len(commit.parent_ids) > 1
            blocks.extend(_tip_files(report.parent_diffs, settings, room, m, by=None, merge=merge))
    body = m.fit("\n\n".join(block for block in blocks if block), whole)
    return (lead_line + body).rstrip("\n")


def _at_detail(settings: RenderSettings, detail: Detail) -> RenderSettings:
    """The settings a level of detail leaves: no file lists, then no bodies, then one commit."""
    if detail >= Detail.FILE_COUNTS:
        settings = dataclasses.replace(settings, max_files=0)
    if detail >= Detail.NO_BODIES:
        settings = dataclasses.replace(settings, max_body_chars=0)
    if detail >= Detail.FIRST_COMMIT:
        settings = dataclasses.replace(settings, max_commits=1)
    return settings


def _used(blocks: list[str]) -> int:
    return sum(utf16_len(block) + 2 for block in blocks)


def _short(commit_id: str, m: Markup) -> str:
    return m.code(commit_id[:SHORT_ID])


def _commit_link(repository: Repository, commit_id: str, m: Markup) -> str:
    return m.link(commit_url(repository, commit_id), _short(commit_id, m))


def _author(commit: Commit, m: Markup, *, committer: bool) -> str:
    author = commit.author
    who = m.fit(m.escape(author.name or author.email or "unknown"), _NAME_LIMIT)
    other = commit.committer
    if committer and (other.name, other.email) != (author.name, author.email) and (other.name or other.email):
        who += f", committed by {m.fit(m.escape(other.name or other.email), _NAME_LIMIT)}"
    return who


def _no_message(m: Markup) -> str:
    return m.italic("(no commit message)")


def _tip(commit: Commit, repository: Repository, settings: RenderSettings, m: Markup) -> str:
    """One commit on its own: linked id, subject in bold, author, then the body."""
    subject = m.bold(m.fit(m.escape(commit.subject), _SUBJECT_LIMIT)) if commit.subject else _no_message(m)
    line = f"{_commit_link(repository, commit.commit_id, m)} {subject} — {_author(commit, m, committer=True)}"
    if commit.body and settings.max_body_chars:
        marker = "… " + m.italic("(message shortened)")
        line += "\n" + m.fit(m.escape_body(commit.body), settings.max_body_chars, marker=marker)
    return line


def _tag_line(tag: TagAnnotation, m: Markup) -> str:
    """An annotated tag's own message (its first line) and who tagged, above the commit it names."""
    subject = m.bold(m.fit(m.escape(tag.subject), _SUBJECT_LIMIT)) if tag.subject else _no_message(m)
    tagger = tag.tagger.name or tag.tagger.email
    by = f" — tagged by {m.fit(m.escape(tagger), _NAME_LIMIT)}" if tagger else ""
    return f":label: {subject}{by}"


def _commit_line(commit: Commit, repository: Repository, m: Markup) -> str:
    subject = m.fit(m.escape(commit.subject), _LIST_SUBJECT_LIMIT) if commit.subject else _no_message(m)
    author = _author(commit, m, committer=False)
    return f"{_commit_link(repository, commit.commit_id, m)} {subject} — {author}"


def _commit_list(
    history: BranchHistory, repository: Repository, max_commits: int, room: int, m: Markup
) -> str:
    """One line per commit, newest first, whole lines only, then how many were left out."""
    lines: list[str] = []
    used = 0
    for commit in history.commits[:max_commits]:
        line = _commit_line(commit, repository, m)
        if used + utf16_len(line) + 1 + _MORE_RESERVE > room:
            break
        lines.append(line)
        used += utf16_len(line) + 1
    rest = max(0, history.total - len(lines))
    if rest:
        more = _count(rest, history.total_exact, "more commit")
        lines.append(f"… and {more}")
    return "\n".join(lines)


def _dropped_list(
    history: BranchHistory, repository: Repository, max_commits: int, room: int, m: Markup
) -> str:
    """A force push's dropped commits, newest first, whole lines only, then how many more."""
    heading = f"{m.bold('Dropped')} (no longer on the branch):"
    lines: list[str] = [heading]
    used = utf16_len(heading) + 1
    for commit in history.dropped_commits[:max_commits]:
        line = _commit_line(commit, repository, m)
        if used + utf16_len(line) + 1 + _MORE_RESERVE > room:
            break
        lines.append(line)
        used += utf16_len(line) + 1
    dropped = history.dropped if history.dropped is not None else len(history.dropped_commits)
    rest = max(0, dropped - (len(lines) - 1))
    if rest:
        lines.append(f"… and {_count(rest, history.dropped_exact, 'more dropped commit')}")
    return "\n".join(lines)


def _deleted_line(report: RefReport, repository: Repository, m: Markup) -> str:
    """The commit a deleted reference pointed at, said once; nothing when the trigger gave none."""
    if report.commit is not None:
        return f"Its last commit: {_commit_line(report.commit, repository, m)}"
    commit_id = report.ref_change.commit_id
    if not commit_id:
        return ""
    line = f"It pointed at {_short(commit_id, m)}."
    reason = report.commit_error or ""
    if reason and not reason.startswith(_NO_SUCH_COMMIT):
        line += " " + m.italic(f"(Commit not read: {m.escape(reason)}.)")
    return line


def _unreadable_line(report: RefReport, m: Markup) -> str:
    """A created or updated reference whose commit could not be read: short, true for its kind."""
    commit_id = report.ref_change.commit_id
    reason = report.commit_error or "unknown reason"
    if not commit_id:
        return m.italic(f"No commit to show: {m.escape(reason)}.")
    if reason == TAG_OBJECT_UNREADABLE:
        return f"It was pushed at {_short(commit_id, m)}, which can no longer be read."
    if reason.startswith(_NO_SUCH_COMMIT):
        if report.ref_change.kind is RefKind.TAG:
            return f"It points at {_short(commit_id, m)}, which could not be read as a commit."
        reason = _NO_SUCH_COMMIT
    return m.italic(f"Commit {_short(commit_id, m)} could not be read: {m.escape(reason)}.")


# --- Changed files -------------------------------------------------------------------------------


def _history_files(
    report: RefReport, history: BranchHistory, settings: RenderSettings, room: int, m: Markup
) -> list[str]:
    """What the push changed as a whole when enrich read it; otherwise the newest commit's files."""
    if history.combined_changes is not None or history.combined_error:
        if history.relation in (HistoryRelation.FAST_FORWARD, HistoryRelation.FORCED):
            where = " by this push"
        elif history.relation is HistoryRelation.BRANCHED and history.base_ref:
            where = f" on this branch, against {m.code(history.base_ref, _REF_LIMIT)}"
        elif history.relation is HistoryRelation.BRANCHED and history.base_id:
            where = f" on this branch, against {_short(history.base_id, m)}"
        else:
            where = " on this branch"
        if history.combined_changes is None:
            return [_unread_files(where, history.combined_error or "", m)]
        return [_file_section(history.combined_changes, where, settings.max_files, room, m)]
    by = report.commit.commit_id if report.commit is not None and history.total > 1 else None
    merge = report.commit is not None and len(report.commit.parent_ids) > 1
    return _tip_files(report.parent_diffs, settings, room, m, by=by, merge=merge)


def _unread_files(where: str, error: str, m: Markup) -> str:
    return f"{m.bold('Files changed')}{where} could not be read: {m.italic(m.escape(error))}"


def _tip_files(
    diffs: tuple[ParentDiff, ...],
    settings: RenderSettings,
    room: int,
    m: Markup,
    *,
    by: str | None,
    merge: bool,
) -> list[str]:
    """The tip's change against its first parent: for a merge, what it brought into the branch.

    Enrich reads only the first parent's diff (a merge's other parents' lists said what the branch
    gained meanwhile: noise); a report that still carries more shows the first alone.
    """
    sections = []
    for diff in diffs[:1]:
        where = f" by {_short(by, m)}" if by else ""
        if diff.parent_id is None:
            where += " (root commit)"
        elif merge:
            where += f" by this merge, against its first parent {_short(diff.parent_id, m)}"
        if diff.error:
            sections.append(_unread_files(where, diff.error, m))
        else:
            sections.append(_file_section(diff.changes, where, settings.max_files, room - 4, m))
    return sections


def _file_section(changes: tuple[FileChange, ...], where: str, max_files: int, room: int, m: Markup) -> str:
    """A count line, then paths grouped by change type while they fit, then how many were left out."""
    ordered = sorted(changes, key=lambda change: (_ORDER[change.change_type], change.path))
    types = [
        change_type for change_type in _CHANGE_LABELS if any(c.change_type is change_type for c in ordered)
    ]
    header = _files_header(ordered, types, where, m)
    if max_files == 0:
        return header
    lines, used, shown, group = [header], 0, 0, None
    for change in ordered[:max_files]:
        new_lines = []
        if len(types) > 1 and change.change_type is not group:
            new_lines.append(m.italic(_CHANGE_LABELS[change.change_type].capitalize()))
        new_lines.append(_file_line(change, m))
        cost = sum(utf16_len(line) + 1 for line in new_lines)
        if used + cost + _MORE_RESERVE > room:
            break
        lines.extend(new_lines)
        used += cost
        shown += 1
        group = change.change_type
    if not shown:
        return header  # the count says it: no "… and N more files" under no file
    if shown < len(ordered):
        remaining = len(ordered) - shown
        lines.append(f"… and {remaining:,} more file{'s' if remaining != 1 else ''}")
    return "\n".join(lines)


def _files_header(ordered: list[FileChange], types: list[ChangeType], where: str, m: Markup) -> str:
    total = len(ordered)
    files = f"{total:,} file{'' if total == 1 else 's'}"
    if not ordered:
        return f"{m.bold('No files changed')}{where}"
    if len(types) == 1:
        return f"{m.bold(f'{files} {_CHANGE_LABELS[types[0]]}')}{where}"
    counts = ", ".join(
        f"{sum(1 for change in ordered if change.change_type is change_type):,} {_CHANGE_LABELS[change_type]}"
        for change_type in types
    )
    return f"{m.bold(f'{files} changed')}{where}: {counts}"


def _file_line(change: FileChange, m: Markup) -> str:
    note = ""
    if change.old_kind is not None and change.old_kind is not change.kind:
        note = " " + m.italic(f"({change.old_kind.value} → {change.kind.value})")
    elif change.kind in (EntryKind.SYMLINK, EntryKind.SUBMODULE):
        note = " " + m.italic(f"({change.kind.value})")
    if change.old_path is not None:
        return f"• {m.code(change.old_path)} → {m.code(change.path)}{note}"
    return f"• {m.code(change.path)}{note}"


# --- When there is too much ----------------------------------------------------------------------


def _ref_line(ref_change: RefChange, m: Markup) -> str:
    verb = _VERBS[(ref_change.kind, ref_change.action)]
    commit = f" at {_short(ref_change.commit_id, m)}" if ref_change.commit_id else ""
    return f"• {verb} {m.code(ref_change.short_name, _REF_LIMIT)}{commit}"


def _whole_lines(lines: list[str], room: int) -> tuple[list[str], int]:
    """As many whole lines as fit in ``room`` with a "… and N more" line kept free; how many fit."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        cost = utf16_len(line) + 1
        reserve = 0 if index == len(lines) - 1 else _MORE_RESERVE
        if used + cost + reserve > room:
            break
        kept.append(line)
        used += cost
    return kept, len(kept)


def _overflow_attachment(
    hidden: tuple[RefChange, ...], read: int, text_limit: int, m: Markup
) -> dict[str, Any]:
    """The references past the message's room, each named whole while they fit, the rest counted.

    ``read`` of them (the first) were read and left out for room; the others were never read
    (past ``max_refs``).
    """
    count = len(hidden)
    references = f"{count:,} more reference{'s' if count != 1 else ''}"
    why = "named without detail" if read else "listed but not read"
    heading = f"{m.bold(references)}, {why}, to keep this message short"
    lines, shown = _whole_lines([_ref_line(ref, m) for ref in hidden], text_limit - utf16_len(heading) - 20)
    heading += ":" if shown == count else f"; the first {shown:,}:"
    body = [heading, *lines]
    if shown < count:
        body.append(f"… and {count - shown:,} more")
    return {
        "color": OVERFLOW_COLOR,
        "fallback": f"… and {references}",
        "text": "\n".join(body),
    }


def _summary_payload(notification: Notification, settings: RenderSettings, m: Markup) -> dict[str, Any]:
    """The last resort: every reference named, whole lines only, in one attachment."""
    push = notification.push
    top = headline(push, push.ref_changes, m, formatted=True)
    fallback = headline(push, push.ref_changes, m)
    limit = m.message_limit(settings.message_limit)
    room = min(limit - utf16_len(top) - 2 * _LINE_LIMIT - 100, settings.section_limit)
    lines, shown = _whole_lines([_ref_line(ref, m) for ref in push.ref_changes], room)
    if shown < len(push.ref_changes):
        lines.append(f"… and {len(push.ref_changes) - shown:,} more")
    attachment = {"color": OVERFLOW_COLOR, "fallback": fallback, "text": m.fit("\n".join(lines), room)}
    return m.payload(top, _finished([attachment], push, m))
