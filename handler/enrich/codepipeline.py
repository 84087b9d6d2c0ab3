"""Enrich: what a pipeline event does not say, read from CodePipeline (and CodeCommit).

* :meth:`PipelineReader.execution`: GetPipelineExecution's ``artifactRevisions`` (which commit,
  its subject) and ``trigger`` (who or what started it);
* :meth:`PipelineReader.source`: GetPipeline's first source action (its provider, repository and
  branch) and the pipeline type (V1 or V2), and a manual approval's ``CustomData`` and link;
* :meth:`PipelineReader.failure`: GetPipelineState's failed action for an execution (stage,
  action, summary, error, the provider's link and run id);
* :meth:`PipelineReader.pull_request_at`: the open pull request whose source branch's tip is a
  commit (ListPullRequests + GetPullRequest), so a build result can be told in its thread.

Every read is optional: a read that fails (a permission missing, the pipeline deleted, time
running out) is logged and answered with None, and the message says what the event says. A
message with less detail beats no message; botocore's own retry mode handles throttling.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from handler.runs import Approval, Failure, Revision, Trigger

log = logging.getLogger(__name__)

#: Open pull requests looked at when matching a run to one (each costs a GetPullRequest).
MAX_PULL_REQUESTS_READ = 25


@dataclass(frozen=True)
class SourceAction:
    """A pipeline's first source action, from GetPipeline.

    Attributes:
        name: the action's name (what ``sourceRevisions`` overrides name).
        provider: ``CodeCommit``, ``CodeStarSourceConnection``, ``S3``, ``ECR``, …
        repository: the CodeCommit repository (``RepositoryName``), or ``FullRepositoryId``.
        branch: ``BranchName`` from its configuration.
    """

    name: str
    provider: str
    repository: str = ""
    branch: str = ""


@dataclass(frozen=True)
class PipelineFacts:
    """What GetPipeline says that the messages and the chat actions need."""

    pipeline_type: str  #: ``V1`` or ``V2``
    source: SourceAction | None
    stages: tuple[str, ...]
    #: (stage, action) → (CustomData, ExternalEntityLink) of each manual approval.
    approvals: Mapping[tuple[str, str], tuple[str, str]]


@dataclass(frozen=True)
class ExecutionFacts:
    """What GetPipelineExecution says about one execution."""

    status: str
    revision: Revision | None
    trigger: Trigger | None


@dataclass(frozen=True)
class FailedAction:
    """The failed action of an execution (GetPipelineState), and the provider's run id."""

    failure: Failure
    external_id: str = ""


def who_of(arn_or_name: str) -> str:
    """A person's name from an ARN: the session of an assumed role, the user of an IAM user."""
    if not arn_or_name.startswith("arn:"):
        return arn_or_name
    return arn_or_name.rsplit("/", 1)[-1] if "/" in arn_or_name else ""


def subject_of(summary: str) -> str:
    """A revision summary's first line; a CodeStar connection's JSON summary gives its message."""
    text = summary.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, dict) and isinstance(document.get("CommitMessage"), str):
            text = document["CommitMessage"]
    return text.splitlines()[0] if text else ""


def _guarded(what: str, read: Callable[[], Any]) -> Any:
    """Run one read; None (logged) when it fails for any reason but a bug in this module."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return read()
    except (BotoCoreError, ClientError) as error:
        log.warning("could not read %s: %s: %s", what, type(error).__name__, error)
        return None


class PipelineReader:
    """Reads CodePipeline (and CodeCommit for pull requests) with the notifier's own clients."""

    def __init__(self, codepipeline: Any, codecommit: Callable[[], Any] | None = None) -> None:
        self._codepipeline = codepipeline
        self._codecommit = codecommit

    def pipeline(self, name: str) -> PipelineFacts | None:
        """GetPipeline, reduced to :class:`PipelineFacts`."""
        answer = _guarded(f"pipeline {name}", lambda: self._codepipeline.get_pipeline(name=name))
        return facts_of_declaration(answer["pipeline"]) if answer else None

    def execution(self, name: str, execution_id: str, branch: str = "") -> ExecutionFacts | None:
        """GetPipelineExecution: the revision it runs and what started it."""
        answer = _guarded(
            f"execution {execution_id} of {name}",
            lambda: self._codepipeline.get_pipeline_execution(
                pipelineName=name, pipelineExecutionId=execution_id
            ),
        )
        if not answer:
            return None
        execution = answer.get("pipelineExecution", {})
        revisions = execution.get("artifactRevisions") or []
        revision = None
        if revisions:
            first = revisions[0]
            revision = Revision(
                commit_id=str(first.get("revisionId", "")),
                subject=subject_of(str(first.get("revisionSummary", ""))),
                branch=branch,
                url=first.get("revisionUrl"),
            )
        trigger = execution.get("trigger")
        started = (
            Trigger(str(trigger.get("triggerType", "")), who_of(str(trigger.get("triggerDetail", ""))))
            if isinstance(trigger, dict)
            else None
        )
        return ExecutionFacts(str(execution.get("status", "")), revision, started)

    def state(self, name: str) -> list[dict[str, Any]] | None:
        """GetPipelineState's ``stageStates``."""
        answer = _guarded(f"state of {name}", lambda: self._codepipeline.get_pipeline_state(name=name))
        return list(answer.get("stageStates", [])) if answer else None

    def failure(self, name: str, execution_id: str) -> FailedAction | None:
        """The action of ``execution_id`` that failed, from GetPipelineState."""
        stages = self.state(name)
        return failed_action(stages, execution_id) if stages is not None else None

    def executions(self, name: str, limit: int = 20) -> list[dict[str, Any]] | None:
        """ListPipelineExecutions' summaries, newest first."""
        answer = _guarded(
            f"executions of {name}",
            lambda: self._codepipeline.list_pipeline_executions(pipelineName=name, maxResults=limit),
        )
        return list(answer.get("pipelineExecutionSummaries", [])) if answer else None

    def pull_request_at(self, repository: str, branch: str, commit_id: str) -> str | None:
        """The open pull request from ``branch`` whose source commit is ``commit_id``, if any."""
        if self._codecommit is None or not (repository and branch and commit_id):
            return None
        codecommit = self._codecommit()
        listed = _guarded(
            f"open pull requests of {repository}",
            lambda: codecommit.list_pull_requests(repositoryName=repository, pullRequestStatus="OPEN"),
        )
        for pull_request_id in (listed or {}).get("pullRequestIds", [])[:MAX_PULL_REQUESTS_READ]:
            answer = _guarded(
                f"pull request {pull_request_id}",
                partial(codecommit.get_pull_request, pullRequestId=pull_request_id),
            )
            for target in (answer or {}).get("pullRequest", {}).get("pullRequestTargets", []):
                if (
                    target.get("repositoryName") == repository
                    and target.get("sourceReference") in (branch, f"refs/heads/{branch}")
                    and target.get("sourceCommit") == commit_id
                ):
                    return str(pull_request_id)
        return None


class PipelineRunRuntime:
    """The notifier's own CodePipeline and CodeCommit clients, per region, for pipeline events.

    ``codepipeline(region)`` and ``codecommit(region)`` return botocore clients (created the
    ordinary way, so ``AWS_ENDPOINT_URL_CODEPIPELINE`` / ``..._CODECOMMIT`` point them elsewhere).
    Without one (local previews) nothing is read and messages say what the event says.
    """

    def __init__(
        self,
        codepipeline: Callable[[str], Any],
        codecommit: Callable[[str], Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._codepipeline = codepipeline
        self._codecommit = codecommit
        self.clock = clock

    def reader(self, region: str) -> PipelineReader:
        """The reader for pipelines in ``region``."""
        codecommit = self._codecommit
        return PipelineReader(
            self._codepipeline(region),
            (lambda: codecommit(region)) if codecommit is not None else None,
        )


def facts_of_declaration(declaration: Mapping[str, Any]) -> PipelineFacts:
    """:class:`PipelineFacts` from GetPipeline's ``pipeline`` (a declaration)."""
    stages = [stage for stage in declaration.get("stages", []) if isinstance(stage, dict)]
    source: SourceAction | None = None
    approvals: dict[tuple[str, str], tuple[str, str]] = {}
    for stage in stages:
        for action in stage.get("actions", []):
            kind = action.get("actionTypeId", {})
            configuration = action.get("configuration", {}) or {}
            if kind.get("category") == "Source" and source is None:
                source = SourceAction(
                    name=str(action.get("name", "")),
                    provider=str(kind.get("provider", "")),
                    repository=str(
                        configuration.get("RepositoryName") or configuration.get("FullRepositoryId") or ""
                    ),
                    branch=str(configuration.get("BranchName", "")),
                )
            if kind.get("category") == "Approval" and kind.get("provider") == "Manual":
                approvals[(str(stage.get("name", "")), str(action.get("name", "")))] = (
                    str(configuration.get("CustomData", "")),
                    str(configuration.get("ExternalEntityLink", "")),
                )
    return PipelineFacts(
        pipeline_type=str(declaration.get("pipelineType") or "V1"),
        source=source,
        stages=tuple(str(stage.get("name", "")) for stage in stages),
        approvals=approvals,
    )


def failed_action(stages: Iterable[Mapping[str, Any]], execution_id: str) -> FailedAction | None:
    """The first action whose latest execution failed, in a stage that ran ``execution_id``."""
    for stage in stages:
        latest = stage.get("latestExecution") or {}
        if latest.get("pipelineExecutionId") != execution_id:
            continue
        for action in stage.get("actionStates", []):
            run = action.get("latestExecution") or {}
            if run.get("status") != "Failed":
                continue
            error = run.get("errorDetails") or {}
            summary = str(run.get("summary") or error.get("message") or "")
            return FailedAction(
                Failure(
                    stage=str(stage.get("stageName", "")),
                    action=str(action.get("actionName", "")),
                    summary=summary,
                    error_code=str(error.get("code", "")),
                    logs_url=run.get("externalExecutionUrl"),
                ),
                external_id=str(run.get("externalExecutionId", "")),
            )
    return None


def waiting_approval(
    stages: Iterable[Mapping[str, Any]], stage_name: str, action_name: str
) -> tuple[str, str] | None:
    """``(token, pipelineExecutionId)`` of a manual approval that waits now, or None."""
    for stage in stages:
        if stage.get("stageName") != stage_name:
            continue
        execution_id = str((stage.get("latestExecution") or {}).get("pipelineExecutionId", ""))
        for action in stage.get("actionStates", []):
            run = action.get("latestExecution") or {}
            if (
                action.get("actionName") == action_name
                and run.get("status") == "InProgress"
                and run.get("token")
            ):
                return str(run["token"]), execution_id
    return None


def approval_of(facts: PipelineFacts | None, stage: str, action: str) -> Approval:
    """The approval's summary and link, from the pipeline's declaration when it was read."""
    custom, link = facts.approvals.get((stage, action), ("", "")) if facts is not None else ("", "")
    return Approval(stage, action, custom, link or None)
