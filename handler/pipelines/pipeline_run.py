"""The pipeline-run path: a CodePipeline or CodeBuild event → at most one message per destination.

::

    event ─parse─► signal ─claim─► enrich ──────────► decide ─────────► render ─► deliver ─► mark
        (sources.   (delivery  (GetPipelineExecution, (PIPELINE_EVENTS, (pure)    (senders)  (ledger,
        codepipeline) ledger)   GetPipeline, GetPipe-  "fixed", ROUTES)                      last result)
                                lineState: bounded)

What each signal becomes (``handler/render/pipeline.py`` says how each reads):

======================================  ==========================================================
signal                                  message
======================================  ==========================================================
run STARTED                             started: revision (short commit linked, subject, branch),
                                        who or which push started it
run SUCCEEDED                           succeeded (duration), or *fixed* when the pipeline's
                                        previous run failed
run FAILED                              failed: stage, action, error summary, a link to the logs
run STOPPED / SUPERSEDED / CANCELED     said once (STOPPING and RESUMED say nothing)
action STARTED, manual approval         the approval gate, with Approve / Reject on Slack apps
action FAILED                           nothing; remembered, so the run's failure names it
build (CodeBuild, started by a          nothing; its logs link and failed phase are remembered
pipeline)                               for the run's failure message
======================================  ==========================================================

State (the one table, each under its own prefix, all with a TTL):

* ``delivered#pipeline#<account>#<execution>#<attempt>#<kind>``: the delivery mark. A message is
  claimed per execution, attempt and kind, not per event id, so one execution says "stopped" or
  "superseded" once whatever EventBridge repeats, while a retried stage that fails again (the
  next attempt) is told again.
* ``pipeline-last#<account>:<region>:<pipeline>``: the last final result (``succeeded`` /
  ``failed``), which makes a success after a failure *fixed*. Written after the delivery, so
  an invocation that raised leaves it as it was and Lambda's retry decides the same.
* ``pipeline-failure#<account>:<region>:<execution>``: the failed action an action event named.
* ``pipeline-build#<account>:<region>:<project>:<uuid>``: a build's logs link and failed phase.
* ``buildstatus#<account>:<region>:<repository>#<pull request>``: the latest result of a run of
  the pull request's source tip, for its thread's parent (see :func:`tell_pull_request`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeGuard

from handler.deliver.senders import AppSender, WebhookSender, to_each
from handler.enrich.codepipeline import PipelineFacts, PipelineReader, PipelineRunRuntime, approval_of
from handler.errors import NotifierError
from handler.logs import Outcome, log_outcome
from handler.pull_requests.model import BuildResult
from handler.render.markup import markup_for
from handler.render.pipeline import render_pipeline_notice
from handler.render.pull_request import build_line, with_build_line
from handler.routing import route, subject_for_pipeline
from handler.runs import Failure, NoticeKind, PipelineNotice, Revision
from handler.sources import Dropped
from handler.sources.codepipeline import ActionChange, BuildChange, RunChange, parse_pipeline_event
from handler.state.ledger import DeliveryLedger, delivery

if TYPE_CHECKING:
    from handler.deadline import Deadline
    from handler.runtime import Runtime
    from handler.settings import Settings
    from handler.state import StateStore

log = logging.getLogger(__name__)

DAY = 24 * 3600
LAST_RESULT_TTL_SECONDS = 400 * DAY
REMEMBERED_TTL_SECONDS = DAY
BUILD_STATUS_TTL_SECONDS = 90 * DAY
#: Reads are skipped when fewer seconds than this are left: the message goes out with what the
#: event says rather than the invocation timing out.
READ_BUDGET_SECONDS = 5.0

#: A run's state → the message it posts; states not here post nothing.
RUN_KINDS = {
    "STARTED": NoticeKind.STARTED,
    "SUCCEEDED": NoticeKind.SUCCEEDED,
    "FAILED": NoticeKind.FAILED,
    "STOPPED": NoticeKind.STOPPED,
    "CANCELED": NoticeKind.STOPPED,
    "SUPERSEDED": NoticeKind.SUPERSEDED,
}


@dataclass(frozen=True)
class Plan:
    """What one signal posts: the notice, where, and the writes that follow its delivery."""

    notice: PipelineNotice
    key: str
    destinations: tuple[str, ...]
    source_repository: str = ""
    after_delivery: tuple[Callable[[], None], ...] = ()


#: Each count's outcome line (``handler.logs``: the keys every source's lines have) and its reason.
_OUTCOME_LINES: dict[str, tuple[Outcome, str]] = {
    "dropped": ("dropped", "not a pipeline this stack knows, or not an event it reports"),
    "remembered": ("filtered", "remembered for the run's failure message; posts nothing itself"),
    "ignored": ("filtered", "a state this notifier does not report"),
    "duplicate": ("duplicate", "delivered before"),
    "filtered": ("filtered", "PIPELINE_EVENTS or ROUTES leave it out"),
}


def process_pipeline_event(
    event: Any, runtime: Runtime, deadline: Deadline, edges: PipelineRunRuntime | None = None
) -> dict[str, int]:
    """Run the path over one event; return counts of what happened (``delivered``, ``dropped``, …).

    Writes the event's one outcome line (and its metrics): ``source`` ``codepipeline`` or
    ``codebuild``, ``kind`` the detail type.
    """
    raw = event if isinstance(event, dict) else {}
    fields: dict[str, Any] = {
        "source": str(raw.get("source", "codepipeline")).removeprefix("aws.")[:40],
        "kind": str(raw.get("detail-type", ""))[:80],
        "event_id": str(raw.get("id", ""))[:200],
        "metrics": runtime.metrics,
    }
    try:
        counts, destinations = _process(event, runtime, deadline, edges)
    except Exception as error:  # said once, with the same keys as every outcome, then raised
        log_outcome(outcome="raised", error_class=type(error).__name__, reason=str(error)[:300], **fields)
        raise
    if counts.get("delivered"):
        log_outcome(outcome="delivered", destinations=destinations, **fields)
    else:
        name = next((name for name in counts if name != "delivered"), "filtered")
        outcome, reason = _OUTCOME_LINES.get(name, ("filtered", name))
        log_outcome(outcome=outcome, reason=reason, **fields)
    return counts


def _process(
    event: Any, runtime: Runtime, deadline: Deadline, edges: PipelineRunRuntime | None
) -> tuple[dict[str, int], tuple[str, ...]]:
    settings = runtime.settings
    if edges is None:
        edges = _edges_of(runtime)
    signal = parse_pipeline_event(event, settings.pipelines) if isinstance(event, dict) else None
    if signal is None or isinstance(signal, Dropped):
        reason = signal.reason if isinstance(signal, Dropped) else "not an EventBridge event object"
        log.info("pipeline event dropped: %s", reason)
        return {"delivered": 0, "dropped": 1}, ()
    store = runtime.state
    now = int((edges.clock if edges else time.time)())
    if not _posts_a_message(signal):
        return _remember_only(signal, store, now), ()
    ledger = DeliveryLedger(store) if store is not None else None
    key = _claim_key(signal)
    with delivery(ledger, key, seconds_left=deadline.seconds_left()) as fresh:
        if not fresh:
            log.info("%s was delivered before: posting nothing", key)
            return {"delivered": 0, "duplicate": 1}, ()
        plan = decide(signal, enrich(signal, edges, deadline, store), runtime, store, now, key)
        if plan is None:
            return {"delivered": 0, "filtered": 1}, ()
        _post_everywhere(plan, runtime, ledger, deadline)
        if edges is not None and store is not None and deadline.seconds_left() >= READ_BUDGET_SECONDS:
            reader = edges.reader(signal.origin.region)
            tell_pull_request(plan, reader, runtime, store, signal.origin.account, deadline)
        for write in plan.after_delivery:  # posted: nothing here may raise
            try:
                write()
            except NotifierError as error:
                log.warning("posted, but could not record its state: %s: %s", type(error).__name__, error)
    return {"delivered": len(plan.destinations)}, plan.destinations


def _edges_of(runtime: Runtime) -> PipelineRunRuntime | None:
    """The runtime's CodePipeline readers (a factory is called once and kept), or None."""
    edges = getattr(runtime, "pipeline_runs", None)
    if callable(edges):  # built on first use, then kept for the container's life
        edges = runtime.pipeline_runs = edges()
    return edges if isinstance(edges, PipelineRunRuntime) else None


def _posts_a_message(signal: RunChange | ActionChange | BuildChange) -> TypeGuard[RunChange | ActionChange]:
    if isinstance(signal, ActionChange):
        return signal.is_manual_approval and signal.state == "STARTED"
    return isinstance(signal, RunChange) and signal.state in RUN_KINDS


def _remember_only(
    signal: RunChange | ActionChange | BuildChange, store: StateStore | None, now: int
) -> dict[str, int]:
    """A signal that posts nothing: a build or a failed action is remembered for the run's failure."""
    if isinstance(signal, BuildChange):
        _remember(
            store, f"pipeline-build#{_scope(signal.origin)}:{signal.build_id}", _build_record(signal), now
        )
        return {"delivered": 0, "remembered": 1}
    if isinstance(signal, ActionChange) and signal.state == "FAILED":
        key = f"pipeline-failure#{_scope(signal.origin)}:{signal.execution_id}"
        _remember(store, key, _failure_record(signal), now)
        return {"delivered": 0, "remembered": 1}
    log.info("%s of %s is %s: not reported", type(signal).__name__, signal.pipeline, signal.state)
    return {"delivered": 0, "ignored": 1}


# -- enrich ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enriched:
    """The notice as far as reads could fill it, and the pipeline's source."""

    notice: PipelineNotice
    facts: PipelineFacts | None = None
    failure_external_id: str = ""


def enrich(
    signal: RunChange | ActionChange,
    edges: PipelineRunRuntime | None,
    deadline: Deadline,
    store: StateStore | None,
) -> Enriched:
    """Read what the message needs, while the time left allows; never raises for a failed read."""
    origin = signal.origin
    kind = (
        RUN_KINDS.get(signal.state, NoticeKind.STARTED)
        if isinstance(signal, RunChange)
        else NoticeKind.APPROVAL
    )
    duration = None
    if isinstance(signal, RunChange) and signal.started_at is not None and origin.time is not None:
        seconds = (origin.time - signal.started_at).total_seconds()
        duration = seconds if seconds >= 0 else None  # clocks that disagree say nothing
    notice = PipelineNotice(
        kind=kind,
        pipeline=signal.pipeline,
        execution_id=signal.execution_id,
        region=origin.region,
        at=origin.time,
        duration_seconds=duration if kind in (NoticeKind.SUCCEEDED, NoticeKind.FAILED) else None,
    )
    if isinstance(signal, ActionChange):
        notice = replace(notice, approval=approval_of(None, signal.stage, signal.action))
    if edges is None or deadline.seconds_left() < READ_BUDGET_SECONDS:
        return Enriched(_with_event_trigger(notice, signal))
    reader = edges.reader(origin.region)
    facts = reader.pipeline(signal.pipeline)
    branch = facts.source.branch if facts is not None and facts.source is not None else ""
    execution = reader.execution(signal.pipeline, signal.execution_id, branch)
    if execution is not None:
        notice = replace(notice, revision=execution.revision, trigger=execution.trigger)
    if isinstance(signal, ActionChange):
        notice = replace(notice, approval=approval_of(facts, signal.stage, signal.action))
    external_id = ""
    if kind is NoticeKind.FAILED:
        notice, external_id = _with_failure(notice, signal, reader, store)
    if notice.revision is not None and facts is not None and facts.source is not None:
        notice = replace(notice, revision=_linked(notice.revision, facts, origin.region, origin.account))
    return Enriched(_with_event_trigger(notice, signal), facts, external_id)


def _with_event_trigger(notice: PipelineNotice, signal: RunChange | ActionChange) -> PipelineNotice:
    """The event's own ``execution-trigger`` when GetPipelineExecution was not read."""
    if notice.trigger is not None or not isinstance(signal, RunChange) or not signal.trigger_type:
        return notice
    from handler.enrich.codepipeline import who_of
    from handler.runs import Trigger

    return replace(notice, trigger=Trigger(signal.trigger_type, who_of(signal.trigger_detail)))


def _with_failure(
    notice: PipelineNotice, signal: RunChange | ActionChange, reader: PipelineReader, store: StateStore | None
) -> tuple[PipelineNotice, str]:
    """The failed action: the one an action event named (remembered), else GetPipelineState's."""
    origin = signal.origin
    failure: Failure | None = None
    external_id = ""
    remembered = store.get(f"pipeline-failure#{_scope(origin)}:{signal.execution_id}") if store else None
    if remembered is not None:
        attributes = remembered.attributes
        failure = Failure(
            stage=str(attributes.get("stage", "")),
            action=str(attributes.get("action", "")),
            summary=str(attributes.get("summary", "")),
            error_code=str(attributes.get("error_code", "")),
            logs_url=str(attributes.get("url", "")) or None,
        )
        external_id = str(attributes.get("external_id", ""))
    else:
        found = reader.failure(signal.pipeline, signal.execution_id)
        if found is not None:
            failure, external_id = found.failure, found.external_id
    if failure is not None and external_id and store is not None:
        build = store.get(f"pipeline-build#{_scope(origin)}:{external_id.rsplit('/', 1)[-1]}")
        if build is not None:
            context = str(build.attributes.get("failed_context", ""))
            failure = replace(
                failure,
                logs_url=str(build.attributes.get("logs_url", "")) or failure.logs_url,
                summary=failure.summary or context,
            )
    return replace(notice, failure=failure), external_id


def _linked(revision: Revision, facts: PipelineFacts, region: str, account: str) -> Revision:
    """A CodeCommit revision links to the commit in the console (the run's region)."""
    source = facts.source
    if revision.url or source is None or source.provider != "CodeCommit" or not revision.commit_id:
        return revision
    from handler.model import Repository
    from handler.render.links import commit_url

    repository = Repository(name=source.repository, region=region, account=account)
    return replace(revision, url=commit_url(repository, revision.commit_id))


# -- decide ---------------------------------------------------------------------------------------


def decide(  # noqa: PLR0917 (one step of the path, its inputs passed along)
    signal: RunChange | ActionChange,
    enriched: Enriched,
    runtime: Runtime,
    store: StateStore | None,
    now: int,
    key: str,
) -> Plan | None:
    """Fixed or not, ``PIPELINE_EVENTS``, ``ROUTES``: the plan, or None (logged) when nothing posts."""
    settings = runtime.settings
    notice = enriched.notice
    writes: list[Callable[[], None]] = []
    last_key = f"pipeline-last#{_scope(signal.origin)}:{signal.pipeline}"
    if notice.kind in (NoticeKind.SUCCEEDED, NoticeKind.FAILED):
        previous = store.get(last_key) if store is not None else None
        if (
            notice.kind is NoticeKind.SUCCEEDED
            and previous is not None
            and previous.attributes.get("result") == "failed"
        ):
            notice = replace(notice, kind=NoticeKind.FIXED)
        result = "failed" if notice.kind is NoticeKind.FAILED else "succeeded"
        writes.append(lambda: _remember(store, last_key, {"result": result}, now, LAST_RESULT_TTL_SECONDS))
    source = enriched.facts.source if enriched.facts is not None else None
    repository = source.repository if source is not None and source.provider == "CodeCommit" else ""
    if notice.kind.value not in settings.pipeline_events:
        log.info("not posting %s of %s: PIPELINE_EVENTS leaves it out", notice.kind.value, signal.pipeline)
        _quietly(writes)
        return None
    routing = settings.routes_in_force
    destinations: tuple[str, ...] = ("default",)
    if routing is not None:
        branch = source.branch if source is not None else ""
        decision = route(
            subject_for_pipeline(signal.pipeline, repository=repository, branch=branch),
            routing,
            has_default=runtime.senders.has_default(),
        )
        if decision.dropped:
            log.info("not posting %s of %s: %s", notice.kind.value, signal.pipeline, decision.reason)
            _quietly(writes)
            return None
        destinations = decision.destinations
    return Plan(notice, key, destinations, repository, tuple(writes))


def _quietly(writes: list[Callable[[], None]]) -> None:
    for write in writes:
        try:
            write()
        except NotifierError as error:
            log.warning("could not record the pipeline's last result: %s", error)


# -- render, deliver ------------------------------------------------------------------------------


def _post_everywhere(plan: Plan, runtime: Runtime, ledger: DeliveryLedger | None, deadline: Deadline) -> None:
    """Post to every destination, each at most once (with several, each is marked on its own)."""
    names = plan.destinations

    def post_one(name: str) -> int:
        marked = f"{plan.key}@{name}" if len(names) > 1 else ""
        with delivery(ledger, marked, seconds_left=deadline.seconds_left()) as fresh:
            if not fresh:
                log.info("%s: already delivered to %s", plan.key, name)
                return 0
            _post(plan, runtime.senders.get(name), runtime.settings, deadline)
        return 1

    to_each(names, post_one)


def _post(plan: Plan, sender: WebhookSender | AppSender, settings: Settings, deadline: Deadline) -> None:
    interactive = isinstance(sender, AppSender) and bool(getattr(sender.destination, "interactive", False))
    notice = replace(plan.notice, interactive=interactive)
    payload = render_pipeline_notice(notice, settings.render, markup_for(sender.flavor))
    sender.post(payload, deadline)
    log.info(
        "delivered %s of %s (execution %s) to %s",
        notice.kind.value,
        notice.pipeline,
        notice.execution_id,
        sender.destination.name,
    )


# -- the pull request's thread ------------------------------------------------------------------


def tell_pull_request(  # noqa: PLR0917 (the step's inputs, passed along)
    plan: Plan,
    reader: PipelineReader,
    runtime: Runtime,
    store: StateStore,
    account: str,
    deadline: Deadline,
) -> str | None:
    """Post a finished run's result in the thread of the pull request whose source tip it built.

    The pull request is the open one whose source branch is the pipeline's CodeCommit source
    branch and whose source commit is the run's revision (ListPullRequests + GetPullRequest).
    The result is recorded under ``buildstatus#<scope>`` for the thread's parent (✓ build passed /
    ✗ build failed), and posted as a reply in every app destination that has a thread for it
    (``thread#<destination>#<scope>``, written by ``handler/pull_requests/threads.py``).
    Returns the pull request's id, or None when no open pull request's tip is this revision.
    """
    notice = plan.notice
    revision = notice.revision
    if notice.kind not in (NoticeKind.SUCCEEDED, NoticeKind.FIXED, NoticeKind.FAILED) or revision is None:
        return None
    if not plan.source_repository or not revision.branch:
        return None
    pull_request_id = reader.pull_request_at(plan.source_repository, revision.branch, revision.commit_id)
    if pull_request_id is None:
        return None
    scope = f"{account}:{notice.region}:{plan.source_repository}#{pull_request_id}"
    passed = notice.kind is not NoticeKind.FAILED
    record = {
        "result": "passed" if passed else "failed",
        "commit": revision.commit_id[:100],
        "pipeline": notice.pipeline,
    }
    _remember(store, f"buildstatus#{scope}", record, int(time.time()), BUILD_STATUS_TTL_SECONDS)
    for name in plan.destinations:
        sender = runtime.senders.get(name)
        thread = store.get(f"thread#{name}#{scope}")
        if not isinstance(sender, AppSender) or thread is None or not thread.attributes.get("ts"):
            continue
        payload = render_pipeline_notice(notice, runtime.settings.render, markup_for(sender.flavor))
        channel, ts = str(thread.attributes.get("channel", "")), str(thread.attributes["ts"])
        build = BuildResult(passed, revision.commit_id, notice.pipeline)
        try:
            sender.post(payload, deadline, thread_ts=ts)
            _show_build_on_parent(sender, channel, ts, build, deadline)
        except NotifierError as error:  # the channel message was posted; this reply is a courtesy
            log.warning("could not tell pull request %s of %s: %s", pull_request_id, notice.pipeline, error)
    return pull_request_id


def _show_build_on_parent(
    sender: AppSender, channel: str, ts: str, build: BuildResult, deadline: Deadline
) -> None:
    """Put the build line on the thread's parent now (✓ build passed / ✗ build failed), so reviewers
    see it beside the buttons before the pull request's next event redraws the parent with it.

    The parent is read back (``conversations.replies``) and only its first attachment's build line
    is replaced, so nothing else the card says changes."""
    answer = sender.app().call(
        "conversations.replies", deadline=deadline, channel=channel, ts=ts, limit=1, inclusive=True
    )
    messages = answer.get("messages") or []
    parent: dict[str, Any] = messages[0] if messages and isinstance(messages[0], dict) else {}
    attachments = parent.get("attachments") if parent.get("ts") == ts else None
    if not isinstance(attachments, list) or not attachments or not isinstance(attachments[0], dict):
        return
    first = dict(attachments[0])
    first["text"] = with_build_line(str(first.get("text", "")), build_line(build))
    update: dict[str, Any] = {"text": parent.get("text", ""), "attachments": [first, *attachments[1:]]}
    if parent.get("blocks"):
        update["blocks"] = parent["blocks"]
    sender.update(channel, ts, update, deadline)


# -- state ----------------------------------------------------------------------------------------


def _scope(origin: Any) -> str:
    return f"{origin.account}:{origin.region}"


def _claim_key(signal: RunChange | ActionChange) -> str:
    origin = signal.origin
    if isinstance(signal, ActionChange):
        return f"pipeline#{origin.account}#{signal.execution_id}#approval#{signal.stage}#{signal.action}"
    return f"pipeline#{origin.account}#{signal.execution_id}#{signal.attempt}#{RUN_KINDS[signal.state].value}"


def _failure_record(signal: ActionChange) -> dict[str, str]:
    return {
        "stage": signal.stage,
        "action": signal.action,
        "summary": signal.summary[:1000],
        "error_code": signal.error_code[:100],
        "url": signal.external_url[:1000],
        "external_id": signal.external_id[:400],
    }


def _build_record(signal: BuildChange) -> dict[str, str]:
    return {
        "pipeline": signal.pipeline,
        "state": signal.state,
        "logs_url": signal.logs_url[:1000],
        "failed_phase": signal.failed_phase[:100],
        "failed_context": signal.failed_context[:1000],
    }


def _remember(
    store: StateStore | None,
    key: str,
    attributes: Mapping[str, str],
    now: int,
    ttl: int = REMEMBERED_TTL_SECONDS,
) -> None:
    """Put or replace one small record (no store: nothing to remember in)."""
    if store is None:
        return
    current = store.get(key)
    if current is None and store.put_new(key, dict(attributes), expires_at=now + ttl) is not None:
        return
    current = current or store.get(key)  # absent: written meanwhile by another invocation
    if current is not None:
        store.replace(current, dict(attributes), expires_at=now + ttl)


# -- the local preview ------------------------------------------------------------------------------


def render_saved_event(event: Any, settings: Settings, flavor: str = "slack") -> dict[str, Any]:
    """The message a saved pipeline or build event would post, read from the event alone.

    For ``python -m handler --event saved.json`` (no AWS, no state): the event's own pipeline
    counts as known, the noise and routing settings are not applied, nothing is remembered.

    Raises:
        UnprocessableEvent: the event is not one to report, with the reason (a build event, for
            example, posts nothing of its own: it lends its logs link to the run's failure).
    """
    from handler.deadline import Deadline
    from handler.errors import UnprocessableEvent

    detail = event.get("detail") if isinstance(event, dict) else None
    named = detail.get("pipeline") if isinstance(detail, dict) else None
    signal = parse_pipeline_event(event, frozenset({named})) if isinstance(named, str) else None
    if signal is None or isinstance(signal, Dropped):
        reason = signal.reason if isinstance(signal, Dropped) else "not a CodePipeline run or action event"
        raise UnprocessableEvent(reason)
    if not _posts_a_message(signal):
        raise UnprocessableEvent(f"a {signal.state} {type(signal).__name__} posts no message of its own")
    notice = enrich(signal, None, Deadline(None), None).notice
    return render_pipeline_notice(notice, settings.render, markup_for(flavor))
