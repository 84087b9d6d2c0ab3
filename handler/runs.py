"""What a pipeline run is, as the messages about it tell it: the notifier's model of CodePipeline.

A base module: the enrich stage fills these in (``handler/enrich/codepipeline.py``), the
renderer reads them (``handler/render/pipeline.py``), the event path moves them between the two
(``handler/pipelines/pipeline_run.py``). All frozen; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class NoticeKind(StrEnum):
    """The messages a pipeline posts; the values are what ``PIPELINE_EVENTS`` names."""

    STARTED = "started"
    SUCCEEDED = "succeeded"
    FIXED = "fixed"  #: a success after the pipeline's previous run failed
    FAILED = "failed"
    STOPPED = "stopped"
    SUPERSEDED = "superseded"
    APPROVAL = "approval"  #: a manual approval waits


@dataclass(frozen=True)
class Revision:
    """The source revision an execution runs (GetPipelineExecution's ``artifactRevisions[0]``).

    Attributes:
        commit_id: the commit (``revisionId``).
        subject: the first line of its message (``revisionSummary``).
        branch: the source action's branch, when known.
        url: a link to the commit (the CodeCommit console's, or the provider's ``revisionUrl``).
    """

    commit_id: str
    subject: str = ""
    branch: str = ""
    url: str | None = None


@dataclass(frozen=True)
class Trigger:
    """What started an execution (GetPipelineExecution's ``trigger``, or the event's).

    Attributes:
        trigger_type: ``StartPipelineExecution``, ``CloudWatchEvent``, ``Webhook``, ``WebhookV2``,
            ``PollForSourceChanges``, ``ManualRollback``, ``AutomatedRollback``, ``CreatePipeline``…
        who: the person, for a start or rollback by hand (their session or user name).
    """

    trigger_type: str
    who: str = ""


@dataclass(frozen=True)
class Failure:
    """Where an execution failed and why (GetPipelineState's failed action).

    Attributes:
        logs_url: the build's logs (CodeBuild's deep link, or the action's external link).
    """

    stage: str
    action: str
    summary: str = ""
    error_code: str = ""
    logs_url: str | None = None


@dataclass(frozen=True)
class Approval:
    """A manual approval that waits: where it is and what the pipeline's author wrote for it."""

    stage: str
    action: str
    summary: str = ""
    review_url: str | None = None


@dataclass(frozen=True)
class PipelineNotice:
    """One pipeline message, with everything the renderer shows."""

    kind: NoticeKind
    pipeline: str
    execution_id: str
    region: str
    revision: Revision | None = None
    trigger: Trigger | None = None
    duration_seconds: float | None = None
    failure: Failure | None = None
    approval: Approval | None = None
    at: datetime | None = None
    #: Slack app destinations get Approve / Reject buttons on an approval (webhooks cannot take clicks).
    interactive: bool = False
