"""Render: a :class:`PipelineNotice` becomes one chat message, in either dialect. Pure: no I/O.

Anatomy (the same attachment format as push and pull-request messages)::

    text         the notification line: "✗ web-deploy failed at Build / Build"
    attachment
      color      one per kind (KIND_STYLES)
      title      the pipeline's name, linked to this execution in the console
      text       what this kind needs: the revision (short commit linked, its subject, branch) and
                 who or which push started it; the duration; the failing stage and action, the
                 error summary and a link to the build's logs; the approval's summary and link
      footer     "AWS CodePipeline · <region> · <execution id>"
    attachment   (Slack, approval gates only) Approve / Reject buttons whose values carry ids only

Every piece of text that a person or a repository wrote (commit subjects, branch names, error
summaries, approval comments, names) goes through the dialect's escaping
(:mod:`handler.render.markup`), so none of it can ping, link or format. Nobody is mentioned.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from handler.render.links import CONSOLE_DOMAINS
from handler.render.markup import SLACK, URL_LIMIT, Markup
from handler.render.mrkdwn import scrub
from handler.runs import Approval, Failure, NoticeKind, PipelineNotice, Revision, Trigger
from handler.settings import RenderSettings

__all__ = [
    "APPROVAL_BLOCK_ID",
    "APPROVE_DEPLOY",
    "REJECT_DEPLOY",
    "Approval",
    "Failure",
    "GateTarget",
    "NoticeKind",
    "PipelineNotice",
    "Revision",
    "Trigger",
    "approval_buttons",
    "decided_line",
    "execution_url",
    "parse_gate_value",
    "partition_of",
    "render_pipeline_notice",
]

SHORT_ID = 7
_LINE_LIMIT = 300
_SUMMARY_LIMIT = 600
#: The buttons' block and action ids (the chat table registers the two actions under them).
APPROVAL_BLOCK_ID = "codepipeline_approval"
APPROVE_DEPLOY = "codepipeline_approve"
REJECT_DEPLOY = "codepipeline_reject"
_VALUE_LIMIT = 2_000
_ID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.@_-")


@dataclass(frozen=True)
class Style:
    color: str
    mark: str
    label: str


KIND_STYLES: dict[NoticeKind, Style] = {
    NoticeKind.STARTED: Style("#439FE0", "▶", "started"),
    NoticeKind.SUCCEEDED: Style("#2EB886", "✓", "succeeded"),
    NoticeKind.FIXED: Style("#2EB886", "✓", "fixed"),
    NoticeKind.FAILED: Style("#D00000", "✗", "failed"),
    NoticeKind.STOPPED: Style("#A0A0A0", "■", "stopped"),
    NoticeKind.SUPERSEDED: Style("#A0A0A0", "↷", "superseded"),
    NoticeKind.APPROVAL: Style("#DAA038", "⏸", "waiting for approval"),
}


def partition_of(region: str) -> str:
    """The partition a region is in (``cn-north-1`` → ``aws-cn``)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def execution_url(region: str, pipeline: str, execution_id: str | None = None) -> str | None:
    """The console page of an execution (or of the pipeline); None for a console we cannot name."""
    domain = CONSOLE_DOMAINS.get(partition_of(region))
    if domain is None or not region:
        return None
    base = f"https://{quote(scrub(region), safe='')}.{domain}/codesuite/codepipeline/pipelines/"
    base += quote(scrub(pipeline), safe="")
    region_query = f"?region={quote(scrub(region), safe='')}"
    if execution_id:
        return f"{base}/executions/{quote(scrub(execution_id), safe='')}/timeline{region_query}"
    return f"{base}/view{region_query}"


def duration_words(seconds: float) -> str:
    """``45 s``, ``4 min 12 s``, ``1 h 3 min``."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def _safe_url(url: str | None) -> str | None:
    """Only https links leave the notifier (a ``javascript:`` revision URL stays text)."""
    return url if url and url.startswith("https://") and not any(c in url for c in "<>| \n") else None


#: How a trigger type reads: with the person's name, without one, and with the branch pushed to.
_SOURCE_CHANGES = frozenset(
    {"CloudWatchEvent", "Webhook", "WebhookV2", "PollForSourceChanges", "PutActionRevision"}
)
_BY_HAND = {
    "StartPipelineExecution": ("started by {who}", "started by hand"),
    "ManualRollback": ("a rollback by {who}", "a rollback by hand"),
    "AutomatedRollback": ("an automatic rollback", "an automatic rollback"),
    "CreatePipeline": ("started when the pipeline was created", "started when the pipeline was created"),
}


def _trigger_words(trigger: Trigger | None, revision: Revision | None) -> str:
    """Plain words for who or what started the run (escaped by the caller)."""
    if trigger is None or not trigger.trigger_type:
        return ""
    kind = trigger.trigger_type
    if kind in _SOURCE_CHANGES:
        branch = revision.branch if revision is not None else ""
        return f"started by a push to {branch}" if branch else "started by a change in its source"
    with_who, without = _BY_HAND.get(kind, (f"started by {kind}", f"started by {kind}"))
    return with_who.format(who=trigger.who) if trigger.who else without


def _revision_line(revision: Revision, m: Markup) -> str:
    label = m.code(revision.commit_id[:SHORT_ID]) if revision.commit_id else "?"
    line = m.link(_safe_url(revision.url), label)
    if revision.subject:
        line += " " + m.fit(m.escape(revision.subject), _LINE_LIMIT)
    if revision.branch:
        line += f" on {m.code(revision.branch, 100)}"
    return line


def _headline(notice: PipelineNotice) -> str:
    """The plain notification line (escaped by the caller)."""
    mark, name = KIND_STYLES[notice.kind].mark, notice.pipeline
    if notice.kind is NoticeKind.FAILED and notice.failure is not None:
        return f"{mark} {name} failed at {notice.failure.stage} / {notice.failure.action}"
    if notice.kind is NoticeKind.APPROVAL and notice.approval is not None:
        return f"{mark} {name} waits for approval at {notice.approval.stage} / {notice.approval.action}"
    if notice.kind is NoticeKind.SUPERSEDED:
        return f"{mark} {name}: a run was superseded by a newer one"
    return f"{mark} {name} {KIND_STYLES[notice.kind].label}"


def _success_lines(notice: PipelineNotice, m: Markup) -> list[str]:
    took = f" in {duration_words(notice.duration_seconds)}" if notice.duration_seconds is not None else ""
    if notice.kind is NoticeKind.FIXED:
        return [f"{m.bold('Fixed')}: succeeded{took}, after a failure"]
    return [f"Succeeded{took}"] if took else []


def _failure_lines(notice: PipelineNotice, m: Markup) -> list[str]:
    failure = notice.failure
    if failure is None:
        return ["Failed (the failing action could not be read)"]
    where = f"{m.bold(m.escape(failure.stage))} / {m.bold(m.escape(failure.action))}"
    lines = [f"Failed at {where}" + (f" ({m.escape(failure.error_code)})" if failure.error_code else "")]
    if failure.summary:
        lines.append(m.quote(m.fit(m.escape(failure.summary), _SUMMARY_LIMIT)))
    logs = _safe_url(failure.logs_url)
    if logs is not None:
        lines.append(m.link(logs, "Build logs"))
    return lines


def _approval_lines(notice: PipelineNotice, m: Markup) -> list[str]:
    approval = notice.approval
    if approval is None:
        return []
    lines = [f"Waiting at {m.bold(m.escape(approval.stage))} / {m.bold(m.escape(approval.action))}"]
    if approval.summary:
        lines.append(m.quote(m.fit(m.escape(approval.summary), _SUMMARY_LIMIT)))
    review = _safe_url(approval.review_url)
    if review is not None:
        lines.append(m.link(review, "What to review"))
    return lines


_RESULT_LINES = {
    NoticeKind.STARTED: lambda notice, m: [],
    NoticeKind.SUCCEEDED: _success_lines,
    NoticeKind.FIXED: _success_lines,
    NoticeKind.FAILED: _failure_lines,
    NoticeKind.STOPPED: lambda notice, m: ["Stopped before it finished"],
    NoticeKind.SUPERSEDED: lambda notice, m: [
        "A newer run went ahead through the pipeline instead of this one"
    ],
    NoticeKind.APPROVAL: _approval_lines,
}
#: The kinds whose message says who or what started the run.
_SAYS_WHO = frozenset({NoticeKind.STARTED, NoticeKind.FAILED, NoticeKind.APPROVAL})


def _lines(notice: PipelineNotice, m: Markup) -> list[str]:
    lines: list[str] = list(_RESULT_LINES[notice.kind](notice, m))
    if notice.revision is not None:
        lines.append(_revision_line(notice.revision, m))
    started = _trigger_words(notice.trigger, notice.revision)
    if started and notice.kind in _SAYS_WHO:
        lines.append(m.fit(m.escape(started[0].upper() + started[1:]), _LINE_LIMIT))
    return lines


def render_pipeline_notice(
    notice: PipelineNotice, limits: RenderSettings | None = None, markup: Markup = SLACK
) -> dict[str, Any]:
    """The payload for one notice in ``markup``'s dialect, within its message limit."""
    m = markup
    limits = limits or RenderSettings()
    style = KIND_STYLES[notice.kind]
    headline = m.fit(m.escape(_headline(notice)), _LINE_LIMIT)
    text_limit = max(200, min(limits.section_limit, m.message_limit(limits.message_limit) - 2_000))
    attachment: dict[str, Any] = {
        "color": style.color,
        "fallback": m.fit(m.plain(_headline(notice)), _LINE_LIMIT),
        "title": "",
        "text": m.fit("\n".join(_lines(notice, m)), text_limit),
        "footer": m.fit(m.plain(f"AWS CodePipeline · {notice.region} · {notice.execution_id}"), _LINE_LIMIT),
    }
    link = execution_url(notice.region, notice.pipeline, notice.execution_id)
    linked = link is not None and len(link) <= URL_LIMIT
    if linked:
        attachment["title_link"] = link
    # A linked title is shown as plain text (Mattermost renders only an unlinked one as Markdown).
    attachment["title"] = m.fit(m.plain(notice.pipeline) if linked else m.escape(notice.pipeline), 200)
    attachments = [m.attachment(attachment, markdown_in=["text"], at=notice.at)]
    if (
        notice.kind is NoticeKind.APPROVAL
        and notice.approval is not None
        and notice.interactive
        and m is SLACK
    ):
        target = GateTarget(
            notice.pipeline, notice.approval.stage, notice.approval.action, notice.execution_id
        )
        if parse_gate_value(target.value()) == target:  # ids only: names CodePipeline would accept
            attachments.append(approval_buttons(target))
    return m.payload(headline, attachments)


# -- approval gates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateTarget:
    """What an Approve / Reject button acts on: ids only (the token is read again on each click)."""

    pipeline: str
    stage: str
    action: str
    execution_id: str

    def value(self) -> str:
        """The button's ``value``: compact JSON of the four ids."""
        document = {"p": self.pipeline, "s": self.stage, "a": self.action, "e": self.execution_id}
        return json.dumps(document, separators=(",", ":"))


def parse_gate_value(value: object) -> GateTarget | None:
    """The gate a button value names; None when it is not one of ours (or is not ids)."""
    if not isinstance(value, str) or len(value) > _VALUE_LIMIT:
        return None
    try:
        document = json.loads(value)
    except ValueError:
        return None
    if not isinstance(document, dict) or set(document) != {"p", "s", "a", "e"}:
        return None
    fields = [document["p"], document["s"], document["a"], document["e"]]
    if not all(isinstance(f, str) and 0 < len(f) <= 100 and set(f) <= _ID_CHARS for f in fields):
        return None
    return GateTarget(*fields)


def approval_buttons(target: GateTarget) -> dict[str, Any]:
    """The attachment that holds Approve / Reject (Block Kit buttons, ids in their values)."""
    value = target.value()
    elements = [
        {
            "type": "button",
            "action_id": APPROVE_DEPLOY,
            "text": {"type": "plain_text", "text": "Approve"},
            "style": "primary",
            "value": value,
        },
        {
            "type": "button",
            "action_id": REJECT_DEPLOY,
            "text": {"type": "plain_text", "text": "Reject"},
            "style": "danger",
            "value": value,
        },
    ]
    return {
        "fallback": "Approve or Reject from Slack",
        "blocks": [{"type": "actions", "block_id": APPROVAL_BLOCK_ID, "elements": elements}],
    }


def decided_line(who: str, approved: bool, markup: Markup = SLACK) -> str:
    """The line that replaces the buttons once someone decided: "✓ Approved by alice"."""
    verb = "✓ Approved" if approved else "✗ Rejected"
    return f"{verb} by {markup.escape(who)}"


def after_gate(message: Mapping[str, Any], line: str, markup: Markup = SLACK) -> dict[str, Any]:
    """The gate's message once it no longer waits: its own attachments as they were, the buttons
    replaced by ``line`` (who decided), or just gone when ``line`` is empty (answered elsewhere,
    or expired). For ``chat.update`` of the clicked message."""
    kept = [
        attachment
        for attachment in message.get("attachments", [])
        if not (
            isinstance(attachment, Mapping)
            and any(
                isinstance(block, Mapping) and block.get("block_id") == APPROVAL_BLOCK_ID
                for block in attachment.get("blocks", [])
            )
        )
    ]
    if line:
        kept.append({"fallback": line, "text": markup.escape(line), "mrkdwn_in": ["text"]})
    return {"text": message.get("text", ""), "attachments": kept}
