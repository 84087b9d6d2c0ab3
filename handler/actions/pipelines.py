"""Pipelines from chat: ``deploy``, ``status``, ``rollback`` and the approval gates' buttons.

The chat table registers these plain functions (``handler/actions/context.py`` says the shape):

==================================================  ==============================================
sub-command or button                               what it does, as the person
==================================================  ==============================================
``deploy <pipeline> [<branch or commit>]``          StartPipelineExecution; a V2 pipeline whose
                                                    source is CodeCommit runs the commit the ref
                                                    resolves to (a ``sourceRevisions`` override)
``deploy <github target> [<version>]``              GitHub's ``repository_dispatch``
``status <pipeline>``                               the latest executions and each stage's state
``rollback <pipeline> <stage>``                     RollbackStage to the stage's last success
button ``codepipeline_approve`` / ``_reject``       PutApprovalResult with GetPipelineState's token
==================================================  ==============================================

Every refusal is decided before anything starts and is a private answer that says why and what to
do: a pipeline not in ``PIPELINES`` (unknown to the stack), one CodePipeline does not have, a stage
it does not have, a ref its repository does not have, a rollback with no earlier success, a person
not allowed (``CHAT_PERMISSIONS``: ``deploy``, ``rollback``, ``approve_deploy``), a gate that no
longer waits, and a person approving a run they started themselves.

AWS is reached only through ``context.client``, which acts as the person (an assumed role with
their ``SourceIdentity``), so CodePipeline and CloudTrail record them, never the bot.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from handler.actions.context import ActionContext, Actor, Reply
from handler.deliver.webhook import is_loopback_host
from handler.enrich.codepipeline import (
    PipelineFacts,
    facts_of_declaration,
    subject_of,
    waiting_approval,
    who_of,
)
from handler.render.mrkdwn import escape
from handler.render.pipeline import GateTarget, execution_url, parse_gate_value
from handler.settings import GitHubDispatchTarget

log = logging.getLogger(__name__)

__all__ = [
    "GateReply",
    "GitHubDispatch",
    "PipelineActions",
    "glob_permit",
]

#: What a refused or failed AWS call raises (told in words; anything else is a bug and raises).
AWS_ERRORS = (BotoCoreError, ClientError)
#: Executions listed by ``status`` and read to find a rollback target.
STATUS_EXECUTIONS = 5
ROLLBACK_SEARCH = 50
_FULL_COMMIT = re.compile(r"[0-9a-f]{40}")
_SHORT_COMMIT = re.compile(r"[0-9a-f]{7,39}")
_TIMEOUT_SECONDS = 10

#: ``permit(actor, action)``: None when allowed, else the refusal to show. The chat side's
#: ``handler.actions.permissions.decide`` fits through a one-line adapter (see :func:`glob_permit`).
Permit = Callable[[Actor, str], str | None]


def glob_permit(grants: Mapping[str, Sequence[str]]) -> Permit:
    """A permission check over ``CHAT_PERMISSIONS``' shape (action → identity globs, any case).

    The chat helper's ``handler.actions.permissions.decide`` is the one the deployed function
    uses; this pure stand-in decides the same way for the three pipeline actions::

        permit = lambda actor, action: (lambda d: None if d.allowed else d.reason)(
            decide(actor, action, None, permissions))
    """
    import fnmatch

    def permit(actor: Actor, action: str) -> str | None:
        names = (actor.person.casefold(), actor.session_name.casefold())
        globs = [glob.casefold() for glob in grants.get(action, ())]
        if any(fnmatch.fnmatchcase(name, glob) for glob in globs for name in names):
            return None
        return (
            f"You may not {action.replace('_', ' ')} from chat. CHAT_PERMISSIONS decides who may; "
            f'ask whoever runs the notifier to add {actor.person} under "{action}".'
        )

    return permit


@dataclass(frozen=True)
class GateReply(Reply):
    """A button's answer, and the line that replaces the buttons on the gate's message.

    Attributes:
        decided: "✓ Approved by alice" / "✗ Rejected by alice" when the gate was answered (the chat
            side rewrites the message: its attachments as they were, the buttons replaced by this
            line); "" when nothing changed (the buttons stay, or go if the gate no longer waits).
        gate_closed: the gate no longer waits (answered now or before, or expired): the buttons go.
    """

    decided: str = ""
    gate_closed: bool = False


# -- GitHub's repository_dispatch -----------------------------------------------------------------


@dataclass(frozen=True)
class GitHubDispatch:
    """Sends ``repository_dispatch`` for ``github-dispatch`` targets.

    Attributes:
        api_url: GitHub's REST API base (``GITHUB_API_URL``); https unless loopback (tests).
        token: reads the token (secret key ``github-token``) when a dispatch is sent.
    """

    api_url: str
    token: Callable[[], str]

    def send(self, target: GitHubDispatchTarget, version: str, requester: str) -> Reply:
        """POST ``/repos/{owner}/{repo}/dispatches``; every answer told in words."""
        parts = urlsplit(self.api_url)
        if parts.scheme != "https" and not (
            parts.scheme == "http" and is_loopback_host(parts.hostname or "")
        ):
            return Reply("GITHUB_API_URL must use https; nothing was sent.", ok=False)
        url = f"{self.api_url.rstrip('/')}/repos/{quote(target.repository, safe='/')}/dispatches"
        body = {
            "event_type": target.event_type,
            "client_payload": {"version": version, "requester": requester},
        }
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self.token()}",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
                "User-Agent": "codecommit-notifier",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as answer:
                status = answer.status
        except urllib.error.HTTPError as error:
            return Reply(_github_refusal(error.code, _github_message(error), target), ok=False)
        except (urllib.error.URLError, TimeoutError) as error:
            return Reply(f"GitHub could not be reached ({error}); nothing was sent. Try again.", ok=False)
        if status not in (200, 201, 202, 204):
            return Reply(f"GitHub answered {status}; the deploy may not have started.", ok=False)
        what = f" {escape(version)}" if version else ""
        return Reply(
            f"{escape(requester)} asked GitHub to deploy {escape(target.repository)}{what} "
            f"(repository_dispatch {escape(repr(target.event_type))}); its workflow takes it from here.",
            public=True,
        )


def _github_message(error: urllib.error.HTTPError) -> str:
    try:
        document = json.loads(error.read() or b"{}")
    except ValueError:
        return ""
    return escape(str(document.get("message", ""))[:200]) if isinstance(document, dict) else ""


def _github_refusal(status: int, message: str, target: GitHubDispatchTarget) -> str:
    said = f" GitHub said: {message}" if message else ""
    if status == 401:
        return (
            "GitHub refused the token (401): it is wrong, expired or revoked. Whoever runs the notifier "
            f"must put a valid token under github-token in the secret. Nothing was sent.{said}"
        )
    if status in (403, 404):
        return (
            f"GitHub says {target.repository} does not exist or the token may not see it ({status}). "
            f"The token needs write access to that repository's contents (or the repo scope). "
            f"Nothing was sent.{said}"
        )
    if status == 422:
        return (
            f"GitHub refused the dispatch as invalid (422); check the event type {target.event_type!r}.{said}"
        )
    return f"GitHub answered {status}; nothing was deployed.{said}"


# -- CodePipeline as the person -----------------------------------------------------------------


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _aws_refusal(error: Exception, what: str) -> Reply:
    """A CodePipeline or CodeCommit refusal in words; nothing else happened."""
    code = _error_code(error)
    if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
        return Reply(
            f"The role you act as may not {what}. Whoever runs the notifier grants it per pipeline "
            "(context pipelines, cdk/pipelines.py).",
            ok=False,
        )
    if code in ("ConflictException", "ConcurrentPipelineExecutionsLimitExceededException"):
        return Reply(
            f"CodePipeline could not {what} now ({code}); try again when the current run is done.", ok=False
        )
    return Reply(
        f"CodePipeline could not {what}: {code or type(error).__name__}. Nothing was started.", ok=False
    )


@dataclass(frozen=True)
class PipelineActions:
    """The pipeline commands and buttons, over the stack's pipelines.

    Attributes:
        pipelines: ``PIPELINES``: the only pipelines any command may name.
        region: the pipelines' region (the stack's).
        permit: who may ``deploy``, ``rollback`` and ``approve_deploy``.
        github_targets: ``DEPLOY_TARGETS``: deploy names that are GitHub repositories.
        github: how to send their dispatch (None: no token configured).
    """

    pipelines: frozenset[str]
    region: str
    permit: Permit
    github_targets: Mapping[str, GitHubDispatchTarget]
    github: GitHubDispatch | None = None

    # -- deploy -------------------------------------------------------------------------------

    def deploy(self, context: ActionContext, args: Sequence[str]) -> Reply:  # noqa: PLR0911 (one answer per refusal)
        """``deploy <pipeline> [<branch or commit>]``."""
        if not 1 <= len(args) <= 2:
            return Reply("Usage: deploy <pipeline> [<branch or commit id>]", ok=False)
        name, ref = args[0], (args[1] if len(args) == 2 else "")
        refused = self._unknown(name, also=tuple(self.github_targets)) or self.permit(context.actor, "deploy")
        if refused:
            return Reply(refused, ok=False)
        if name in self.github_targets:
            if self.github is None:
                return Reply(
                    "No GitHub token is configured (secret key github-token); nothing was sent.", ok=False
                )
            return self.github.send(self.github_targets[name], ref, context.actor.person)
        client = context.client("codepipeline", self.region)
        facts, refusal = self._facts(client, name)
        if facts is None:
            return refusal
        overrides: list[dict[str, str]] = []
        pinned = ""
        if ref:
            resolved = self._resolve(context, facts, name, ref)
            if isinstance(resolved, Reply):
                return resolved
            pinned = resolved
            action = facts.source.name if facts.source is not None else ""
            overrides = [{"actionName": action, "revisionType": "COMMIT_ID", "revisionValue": resolved}]
        try:
            started = client.start_pipeline_execution(
                name=name, **({"sourceRevisions": overrides} if overrides else {})
            )
        except AWS_ERRORS as error:
            return _aws_refusal(error, f"start {name}")
        execution_id = str(started.get("pipelineExecutionId", ""))
        link = execution_url(self.region, name, execution_id)
        revision = f" at {escape(pinned[:7])} ({escape(ref)})" if pinned else " at its source's latest change"
        short = escape(execution_id[:8])
        where = f" <{link}|{short}>" if link else f" {short}"
        return Reply(
            f"{escape(context.actor.person)} started {escape(name)}{revision}: execution{where}", public=True
        )

    def _unknown(self, name: str, also: tuple[str, ...] = ()) -> str | None:
        if name in self.pipelines or name in also:
            return None
        known = ", ".join(escape(each) for each in sorted({*self.pipelines, *also})) or "none"
        return (
            f"I don't know a pipeline called {escape(repr(name))}: the notifier acts only on the "
            f"pipelines in its context (pipelines). Those are: {known}. Nothing was started."
        )

    def _facts(self, client: Any, name: str) -> tuple[PipelineFacts | None, Reply]:
        try:
            declaration = client.get_pipeline(name=name)["pipeline"]
        except AWS_ERRORS as error:
            if _error_code(error) == "PipelineNotFoundException":
                return None, Reply(
                    f"CodePipeline has no pipeline called {name!r} in {self.region}, though the notifier "
                    "lists it (context pipelines); it may have been deleted or renamed. Nothing was started.",
                    ok=False,
                )
            return None, _aws_refusal(error, f"read {name}")
        return facts_of_declaration(declaration), Reply("")

    def _resolve(  # noqa: PLR0911 (one answer per refusal)
        self, context: ActionContext, facts: PipelineFacts, name: str, ref: str
    ) -> str | Reply:
        """The commit id ``ref`` names in the pipeline's CodeCommit repository, or the refusal."""
        source = facts.source
        if facts.pipeline_type != "V2":
            return Reply(
                f"{name} is a {facts.pipeline_type} pipeline: it runs its source's latest change only. "
                f"Run `deploy {name}` without a revision, or make it a V2 pipeline to pin one. "
                "Nothing was started.",
                ok=False,
            )
        if source is None or source.provider != "CodeCommit":
            provider = source.provider if source is not None else "no source action"
            return Reply(
                f"{name}'s source is {provider}: deploy pins a branch or commit only for a CodeCommit "
                f"source. Run `deploy {name}` to run its latest change. Nothing was started.",
                ok=False,
            )
        codecommit = context.client("codecommit", self.region)
        repository = source.repository
        try:
            if _FULL_COMMIT.fullmatch(ref):
                return str(
                    codecommit.get_commit(repositoryName=repository, commitId=ref)["commit"]["commitId"]
                )
            return str(codecommit.get_branch(repositoryName=repository, branchName=ref)["branch"]["commitId"])
        except AWS_ERRORS as error:
            code = _error_code(error)
            if code in ("BranchDoesNotExistException", "InvalidBranchNameException"):
                hint = (
                    " It looks like a short commit id: give all 40 characters."
                    if _SHORT_COMMIT.fullmatch(ref)
                    else " Tags can't be read through CodeCommit's API: give a branch or a full commit id."
                )
                return Reply(
                    f"{escape(repository)} has no branch {escape(repr(ref))}.{hint} Nothing was started.",
                    ok=False,
                )
            if code in (
                "CommitIdDoesNotExistException",
                "CommitDoesNotExistException",
                "InvalidCommitIdException",
            ):
                return Reply(
                    f"{escape(repository)} has no commit {escape(ref)}. Nothing was started.", ok=False
                )
            return _aws_refusal(error, f"read {escape(repr(ref))} in {escape(repository)}")

    # -- status -------------------------------------------------------------------------------

    def status(self, context: ActionContext, args: Sequence[str]) -> Reply:
        """``status <pipeline>``: the latest executions (who, which commit) and each stage's state."""
        if len(args) != 1:
            return Reply("Usage: status <pipeline>", ok=False)
        name = args[0]
        refused = self._unknown(name)
        if refused:
            return Reply(refused.replace("Nothing was started.", ""), ok=False)
        client = context.client("codepipeline", self.region)
        try:
            executions = client.list_pipeline_executions(pipelineName=name, maxResults=STATUS_EXECUTIONS)
            state = client.get_pipeline_state(name=name)
        except AWS_ERRORS as error:
            if _error_code(error) == "PipelineNotFoundException":
                return Reply(f"CodePipeline has no pipeline called {name!r} in {self.region}.", ok=False)
            return _aws_refusal(error, f"read {name}")
        lines = [f"*{escape(name)}*, latest runs:"]
        for summary in executions.get("pipelineExecutionSummaries", []):
            lines.append("• " + _execution_line(summary))
        if len(lines) == 1:
            lines.append("• no runs yet")
        lines.append("Stages:")
        for stage in state.get("stageStates", []):
            latest = stage.get("latestExecution") or {}
            status = escape(str(latest.get("status", "not run")))
            run = escape(str(latest.get("pipelineExecutionId", ""))[:8])
            lines.append(f"• {escape(str(stage.get('stageName', '?')))}: {status} ({run})")
        return Reply("\n".join(lines))

    # -- rollback -------------------------------------------------------------------------------

    def rollback(self, context: ActionContext, args: Sequence[str]) -> Reply:  # noqa: PLR0911 (one answer per refusal)
        """``rollback <pipeline> <stage>``: RollbackStage to the stage's last successful execution."""
        if len(args) != 2:
            return Reply("Usage: rollback <pipeline> <stage>", ok=False)
        name, stage = args
        refused = self._unknown(name) or self.permit(context.actor, "rollback")
        if refused:
            return Reply(refused, ok=False)
        client = context.client("codepipeline", self.region)
        facts, refusal = self._facts(client, name)
        if facts is None:
            return refusal
        if stage not in facts.stages:
            return Reply(
                f"{escape(name)} has no stage {escape(repr(stage))}; its stages are "
                f"{', '.join(escape(each) for each in facts.stages)}. "
                "Nothing was rolled back.",
                ok=False,
            )
        try:
            state = client.get_pipeline_state(name=name)
            summaries = client.list_pipeline_executions(pipelineName=name, maxResults=ROLLBACK_SEARCH)
        except AWS_ERRORS as error:
            return _aws_refusal(error, f"read {name}")
        current = next(
            (
                str((item.get("latestExecution") or {}).get("pipelineExecutionId", ""))
                for item in state.get("stageStates", [])
                if item.get("stageName") == stage
            ),
            "",
        )
        target = next(
            (
                item
                for item in summaries.get("pipelineExecutionSummaries", [])
                if item.get("status") == "Succeeded" and item.get("pipelineExecutionId") != current
            ),
            None,
        )
        if target is None:
            return Reply(
                f"{name} has no earlier successful run to roll {stage} back to (of its last "
                f"{ROLLBACK_SEARCH}). Nothing was rolled back.",
                ok=False,
            )
        target_id = str(target["pipelineExecutionId"])
        try:
            client.rollback_stage(pipelineName=name, stageName=stage, targetPipelineExecutionId=target_id)
        except AWS_ERRORS as error:
            return _aws_refusal(error, f"roll {stage} of {name} back")
        return Reply(
            f"{escape(context.actor.person)} rolled {escape(stage)} of {escape(name)} back to the last "
            "successful run: " + _execution_line(target),
            public=True,
        )

    # -- approval gates ---------------------------------------------------------------------------

    def approve(self, context: ActionContext, value: str) -> GateReply:
        """The Approve button."""
        return self._answer_gate(context, value, approved=True)

    def reject(self, context: ActionContext, value: str) -> GateReply:
        """The Reject button."""
        return self._answer_gate(context, value, approved=False)

    def _answer_gate(  # noqa: PLR0911 (one answer per refusal)
        self, context: ActionContext, value: str, *, approved: bool
    ) -> GateReply:
        target = parse_gate_value(value)
        if target is None:
            return GateReply("This button is not one the notifier made; nothing was done.", ok=False)
        refused = self._unknown(target.pipeline) or self.permit(context.actor, "approve_deploy")
        if refused:
            return GateReply(refused.replace("Nothing was started.", "Nothing was done."), ok=False)
        client = context.client("codepipeline", self.region)
        try:
            stages = client.get_pipeline_state(name=target.pipeline).get("stageStates", [])
        except AWS_ERRORS as error:
            reply = _aws_refusal(error, f"read {target.pipeline}")
            return GateReply(reply.text, ok=False)
        waiting = waiting_approval(stages, target.stage, target.action)
        if waiting is None:
            return GateReply(
                f"{_gate(target)} no longer waits: it was answered already, or it expired. Nothing was done.",
                ok=False,
                gate_closed=True,
            )
        token, execution_id = waiting
        if execution_id and execution_id != target.execution_id:
            return GateReply(
                f"This gate was for an earlier run of {target.pipeline}; it now waits for run "
                f"{execution_id[:8]}, whose own message has the buttons. Nothing was done.",
                ok=False,
                gate_closed=True,
            )
        started = self._started_it(client, target.pipeline, target.execution_id, context.actor)
        if started is None:
            return GateReply(
                f"Could not read who started this run of {escape(target.pipeline)}, so nobody can be sure "
                "it is not yours; try again in a minute. Nothing was done.",
                ok=False,
            )
        if started:
            return GateReply(
                f"You started this run of {target.pipeline}, so you may not approve or reject its gate; "
                "ask someone else who may approve deploys.",
                ok=False,
            )
        verdict = "Approved" if approved else "Rejected"
        try:
            client.put_approval_result(
                pipelineName=target.pipeline,
                stageName=target.stage,
                actionName=target.action,
                result={"summary": f"{verdict} by {context.actor.person} from chat", "status": verdict},
                token=token,
            )
        except AWS_ERRORS as error:
            if _error_code(error) in ("ApprovalAlreadyCompletedException", "InvalidApprovalTokenException"):
                return GateReply(
                    f"{_gate(target)} was answered already, or it expired. Nothing was done.",
                    ok=False,
                    gate_closed=True,
                )
            return GateReply(_aws_refusal(error, f"answer the gate of {target.pipeline}").text, ok=False)
        mark = "✓" if approved else "✗"
        return GateReply(
            f"You {verdict.lower()} {_gate(target)}.",
            decided=f"{mark} {verdict} by {context.actor.person}",
            gate_closed=True,
        )

    def _started_it(self, client: Any, pipeline: str, execution_id: str, actor: Actor) -> bool | None:
        """The run was started by hand by this person (their session, or their key's last part);
        None when that can't be read. CodePipeline itself lets anyone allowed PutApprovalResult
        answer any gate, so an unreadable starter fails closed: the gate is not answered."""
        try:
            execution = client.get_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=execution_id)
        except AWS_ERRORS as error:
            log.warning(
                "could not read who started %s %s: %s", pipeline, execution_id[:64], _error_code(error)
            )
            return None
        trigger = execution.get("pipelineExecution", {}).get("trigger") or {}
        if trigger.get("triggerType") not in ("StartPipelineExecution", "ManualRollback"):
            return False
        starter = who_of(str(trigger.get("triggerDetail", ""))).casefold()
        return bool(starter) and starter in (actor.session_name.casefold(), who_of(actor.person).casefold())


def _gate(target: GateTarget) -> str:
    """``Deploy / Approve of web-deploy``, inert (the names come from a button's value)."""
    return f"{escape(target.stage)} / {escape(target.action)} of {escape(target.pipeline)}"


def _execution_line(summary: Mapping[str, Any]) -> str:
    """``Succeeded · 3776ce0b · abc1234 Fix the login · by alice``."""
    parts = [str(summary.get("status", "?")), str(summary.get("pipelineExecutionId", ""))[:8]]
    revisions = summary.get("sourceRevisions") or []
    if revisions:
        first = revisions[0]
        commit = str(first.get("revisionId", ""))[:7]
        parts.append(f"{commit} {subject_of(str(first.get('revisionSummary', '')))}".strip())
    trigger = summary.get("trigger") or {}
    who = who_of(str(trigger.get("triggerDetail", "")))
    if trigger.get("triggerType") in ("StartPipelineExecution", "ManualRollback") and who:
        parts.append(f"by {who}")
    elif trigger.get("triggerType"):
        parts.append(f"by {trigger['triggerType']}")
    return " · ".join(escape(part) for part in parts if part)
