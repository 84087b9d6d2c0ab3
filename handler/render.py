"""Render: a :class:`~handler.model.Notification` becomes one Slack message. Pure: no I/O, no clock.

The message uses Slack's attachment format, which is the only way to get a colour bar and
renders in Mattermost too::

    text          one plain line for notifications: "alice pushed to branch main in my-repo"
    attachments   one per reference, coloured by branch:
      pretext     :new: / :x: banners for created and deleted references, and for Test triggers
      author_name who pushed (assumed-role session names, IAM users, root, federated users)
      title       "[my-repo] feature/login-v2", linked to the branch or tag in the console
      text        commit subject (bold) and body, then changed files against each parent,
                  grouped as added / modified / deleted with counts and "… and N more files"
      fields      commit (linked), author, committer when different, parents of a merge
      footer, ts  "AWS CodeCommit · us-east-1 · trigger <name>", event time

Every piece of git-controlled text passes through :func:`handler.mrkdwn.escape`. Limits: the whole
message stays within ``message_limit`` and each attachment's text within ``section_limit``
(UTF-16 code units); the renderer shrinks text budgets until the message fits and, as a last
resort, falls back to a one-attachment summary that always fits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from handler.links import commit_url, ref_url, repository_url
from handler.model import (
    ChangeType,
    EntryKind,
    FileChange,
    Notification,
    ParentDiff,
    Person,
    Push,
    RefAction,
    RefChange,
    RefKind,
    RefReport,
)
from handler.mrkdwn import code, escape, fit, utf16_len
from handler.settings import RenderSettings

OVERFLOW_COLOR = "#9E9E9E"
SHORT_ID = 7
_SUBJECT_LIMIT = 250
_LINE_LIMIT = 300
_FIELD_LIMIT = 300
_PARENTS_LIMIT = 1_200
_CHANGE_LABELS = {
    ChangeType.ADDED: "Added",
    ChangeType.MODIFIED: "Modified",
    ChangeType.DELETED: "Deleted",
}
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


def render(notification: Notification, settings: RenderSettings) -> dict[str, Any]:
    """The Slack payload for one push, within ``settings.message_limit``."""
    attachment_count = len(notification.reports) + (1 if notification.omitted else 0)
    share = (settings.message_limit - 1_000) // max(1, attachment_count) - 1_500
    text_limit = max(200, min(settings.section_limit, share))
    while True:
        payload = _full_payload(notification, settings, text_limit)
        if payload_length(payload) <= settings.message_limit:
            return payload
        if text_limit <= 200:
            return _summary_payload(notification, settings)
        text_limit = max(200, text_limit // 2)


def payload_length(payload: Any) -> int:
    """Total UTF-16 length of every string in the payload: what Slack's limits are measured on."""
    if isinstance(payload, str):
        return utf16_len(payload)
    if isinstance(payload, dict):
        return sum(payload_length(value) for value in payload.values())
    if isinstance(payload, list):
        return sum(payload_length(item) for item in payload)
    return 0


def headline(push: Push, ref_changes: tuple[RefChange, ...]) -> str:
    """The plain one-line summary shown in notifications (escaped, unformatted)."""
    who, repo = push.pusher.label, push.repository.name
    prefix = "[Test trigger] " if push.is_test else ""
    if len(ref_changes) == 1:
        sentence = _sentence(who, ref_changes[0], repo)
    else:
        names = ", ".join(ref.short_name for ref in ref_changes[:5])
        more = f" and {len(ref_changes) - 5} more" if len(ref_changes) > 5 else ""
        sentence = f"{who} updated {len(ref_changes)} references in {repo}: {names}{more}"
    return fit(escape(prefix + sentence), _LINE_LIMIT)


def _sentence(who: str, ref_change: RefChange, repo: str) -> str:
    verb = _VERBS[(ref_change.kind, ref_change.action)]
    return f"{who} {verb} {ref_change.short_name} in {repo}"


def _full_payload(notification: Notification, settings: RenderSettings, text_limit: int) -> dict[str, Any]:
    push = notification.push
    attachments = [_attachment(report, push, settings, text_limit) for report in notification.reports]
    if notification.omitted:
        attachments.append(_overflow_attachment(notification.omitted, text_limit))
    return _payload(headline(push, push.ref_changes), attachments)


def _payload(text: str, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    return {"text": text, "attachments": attachments, "unfurl_links": False, "unfurl_media": False}


def _summary_payload(notification: Notification, settings: RenderSettings) -> dict[str, Any]:
    """The last resort: every reference named in one attachment that is cut to fit."""
    push = notification.push
    top = headline(push, push.ref_changes)
    room = settings.message_limit - utf16_len(top) - 2 * _LINE_LIMIT - 100
    lines = [_ref_line(ref) for ref in push.ref_changes]
    text = fit("\n".join(lines), min(room, settings.section_limit))
    attachment = {"color": OVERFLOW_COLOR, "fallback": top, "text": text, "mrkdwn_in": ["text"]}
    return _payload(top, [attachment])


def _ref_line(ref_change: RefChange) -> str:
    verb = _VERBS[(ref_change.kind, ref_change.action)]
    commit = f" at `{escape(ref_change.commit_id[:SHORT_ID])}`" if ref_change.commit_id else ""
    return f"• {escape(verb)} {code(ref_change.short_name, 120)}{commit}"


def _overflow_attachment(omitted: tuple[RefChange, ...], text_limit: int) -> dict[str, Any]:
    heading = (
        f"*… and {len(omitted)} more reference{'s' if len(omitted) != 1 else ''}* "
        "(listed, not read, to keep this message short):"
    )
    body = fit("\n".join([heading, *(_ref_line(ref) for ref in omitted)]), text_limit)
    return {
        "color": OVERFLOW_COLOR,
        "fallback": f"… and {len(omitted)} more references",
        "text": body,
        "mrkdwn_in": ["text"],
    }


def _attachment(report: RefReport, push: Push, settings: RenderSettings, text_limit: int) -> dict[str, Any]:
    ref_change = report.ref_change
    repository = push.repository
    prefix = "[Test trigger] " if push.is_test else ""
    attachment: dict[str, Any] = {
        "color": settings.color_for(ref_change.full_name, ref_change.short_name),
        "fallback": fit(
            escape(prefix + _sentence(push.pusher.label, ref_change, repository.name)), _LINE_LIMIT
        ),
        "author_name": fit(escape(push.pusher.label), _LINE_LIMIT),
    }
    banner = _banner(ref_change, push.is_test)
    if banner:
        attachment["pretext"] = banner
    title_name = (
        ref_change.short_name
        if ref_change.kind is RefKind.BRANCH
        else (f"{ref_change.kind.value} {ref_change.short_name}")
    )
    attachment["title"] = fit(escape(f"[{repository.name}] {title_name}"), _LINE_LIMIT)
    if ref_change.action is not RefAction.DELETED and ref_change.kind is not RefKind.OTHER:
        title_link = ref_url(repository, ref_change.full_name)
    elif report.commit is not None:
        title_link = commit_url(repository, report.commit.commit_id)
    else:
        title_link = repository_url(repository)
    if title_link is not None:  # None: no console we can name for this partition
        attachment["title_link"] = title_link
    attachment["text"] = _text(report, settings, text_limit)
    attachment["fields"] = _fields(report, push)
    attachment["footer"] = _footer(push)
    if push.event_time is not None:
        attachment["ts"] = int(push.event_time.timestamp())
    attachment["mrkdwn_in"] = ["pretext", "text", "fields"]
    return attachment


def _banner(ref_change: RefChange, is_test: bool) -> str | None:
    if is_test:
        return (
            ":test_tube: *Test trigger*: sent by the CodeCommit console or "
            "`aws codecommit test-repository-triggers`; nothing was pushed."
        )
    kind = ref_change.kind.value
    if ref_change.action is RefAction.DELETED:
        return f":x: *{kind.upper()} DELETED*: {code(ref_change.short_name)}"
    if ref_change.action is RefAction.CREATED:
        return f":new: *New {kind}* {code(ref_change.short_name)}"
    return None


def _text(report: RefReport, settings: RenderSettings, text_limit: int) -> str:
    ref_change, commit = report.ref_change, report.commit
    lines: list[str] = []
    if ref_change.action is RefAction.DELETED:
        where = f" `{escape(ref_change.commit_id[:SHORT_ID])}`" if ref_change.commit_id else ""
        lines.append(
            f"The {ref_change.kind.value} pointed at{where or ' an unknown commit'} when it was deleted."
        )
    if commit is None:
        short = escape((ref_change.commit_id or "unknown")[:SHORT_ID])
        reason = escape(report.commit_error or "unknown reason")
        lines.append(f"_Commit details for `{short}` are unavailable: {reason}._")
        return fit("\n".join(lines), text_limit)
    lines.append(
        f"*{fit(escape(commit.subject), _SUBJECT_LIMIT)}*" if commit.subject else "_(no commit message)_"
    )
    if commit.body and settings.max_body_chars:
        lines.append(fit(escape(commit.body), settings.max_body_chars, marker="… _(message shortened)_"))
    head = "\n".join(lines)
    room = text_limit - utf16_len(head)
    sections = list(_diff_sections(report.parent_diffs, settings.max_files, room))
    return fit("\n\n".join([head, *sections]) if sections else head, text_limit)


def _diff_sections(diffs: tuple[ParentDiff, ...], max_files: int, room: int) -> Iterator[str]:
    """One block per parent; file lines are added only while they fit in ``room``."""
    share = room // max(1, len(diffs)) - 4
    for index, diff in enumerate(diffs, start=1):
        header = _diff_header(diff, index, len(diffs))
        if diff.error:
            yield f"{header}\n_{escape(diff.error)}_"
            continue
        ordered = sorted(diff.changes, key=lambda change: (_ORDER[change.change_type], change.path))
        lines, used, shown, group = [header], utf16_len(header), 0, None
        reserve = 40  # room kept for the "… and N more files" line
        for change in ordered[:max_files]:
            new_lines = []
            if change.change_type is not group:
                count = sum(1 for item in ordered if item.change_type is change.change_type)
                new_lines.append(f"*{_CHANGE_LABELS[change.change_type]}* ({count})")
            new_lines.append(_file_line(change))
            cost = sum(utf16_len(line) + 1 for line in new_lines)
            if used + cost + reserve > share:
                break
            lines.extend(new_lines)
            used += cost
            shown += 1
            group = change.change_type
        if shown < len(ordered):
            remaining = len(ordered) - shown
            lines.append(f"… and {remaining} more file{'s' if remaining != 1 else ''}")
        yield "\n".join(lines)


_ORDER = {ChangeType.ADDED: 0, ChangeType.MODIFIED: 1, ChangeType.DELETED: 2}


def _diff_header(diff: ParentDiff, index: int, parent_count: int) -> str:
    counts = _counts(diff.changes)
    if diff.parent_id is None:
        against = "root commit"
    elif parent_count > 1:
        against = f"against parent {index} `{escape(diff.parent_id[:SHORT_ID])}`"
    else:
        against = f"against `{escape(diff.parent_id[:SHORT_ID])}`"
    return f":page_facing_up: *Changed files* ({against}): {counts}"


def _counts(changes: Iterable[FileChange]) -> str:
    changes = list(changes)
    if not changes:
        return "no file changes"
    parts = []
    for change_type, label in _CHANGE_LABELS.items():
        count = sum(1 for change in changes if change.change_type is change_type)
        if count:
            parts.append(f"{count} {label.lower()}")
    total = len(changes)
    return f"{total} file{'s' if total != 1 else ''}: " + ", ".join(parts)


def _file_line(change: FileChange) -> str:
    note = ""
    if change.old_kind is not None and change.old_kind is not change.kind:
        note = f" _({change.old_kind.value} → {change.kind.value})_"
    elif change.kind in (EntryKind.SYMLINK, EntryKind.SUBMODULE):
        note = f" _({change.kind.value})_"
    return f"• {code(change.path)}{note}"


def _linked(url: str | None, label: str) -> str:
    """``<url|label>``, or the label alone when there is no link (see handler/links.py)."""
    return label if url is None else f"<{url}|{label}>"


def _fields(report: RefReport, push: Push) -> list[dict[str, Any]]:
    commit = report.commit
    repository = push.repository
    if commit is None:
        if not report.ref_change.commit_id:
            return []
        return [_field("Commit", f"`{escape(report.ref_change.commit_id[:40])}`")]
    link = _linked(commit_url(repository, commit.commit_id), f"`{escape(commit.commit_id[:SHORT_ID])}`")
    if len(commit.parent_ids) > 1:
        link += f" (merge of {len(commit.parent_ids)} parents)"
    fields = [_field("Commit", link), _field("Author", _person(commit.author))]
    if (commit.committer.name, commit.committer.email) != (commit.author.name, commit.author.email):
        fields.append(_field("Committer", _person(commit.committer)))
    if len(commit.parent_ids) > 1:
        parents = ", ".join(
            _linked(commit_url(repository, parent), f"`{escape(parent[:SHORT_ID])}`")
            for parent in commit.parent_ids[:8]
        )
        fields.append(_field("Parents", parents, short=False, limit=_PARENTS_LIMIT))
    return fields


def _field(title: str, value: str, *, short: bool = True, limit: int = _FIELD_LIMIT) -> dict[str, Any]:
    return {"title": title, "value": fit(value, limit), "short": short}


def _person(person: Person) -> str:
    who = escape(person.name or "unknown")
    if person.email:
        who += f" {escape('<' + person.email + '>')}"
    if person.date is not None:
        who += f"\n{person.date.strftime('%Y-%m-%d %H:%M %z')}"
    return who


def _footer(push: Push) -> str:
    parts = ["AWS CodeCommit", push.repository.region]
    if push.trigger_name:
        parts.append(f"trigger {push.trigger_name}")
    if push.custom_data:
        parts.append(push.custom_data)
    return fit(escape(" · ".join(parts)), _LINE_LIMIT)
