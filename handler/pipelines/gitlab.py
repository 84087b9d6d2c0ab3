"""The GitLab path: a verified webhook (from ``handler.gitlab``) → the same messages as CodeCommit's.

::

    envelope ──parse──► Push / Activity / PipelineRun ──claim──► enrich ──decide──► render ──deliver──► mark
      (sources.gitlab)                         (state: delivered#gitlab#<delivery>)
                                               (enrich.gitlab: payload, REST API)
                                               (pull-request review rules: drafts, commands)

One envelope is one GitLab delivery. It is claimed in the delivery ledger under its delivery key
(``Idempotency-Key``, else ``X-Gitlab-Webhook-UUID``), so a delivery GitLab repeats posts once;
a failure releases the claim and raises, so Lambda's retry posts what is left.

* Pushes and tag pushes are enriched from the payload (it carries the commits) and go through the
  push renderer and routing, per reference, like a CodeCommit push.
* Merge requests and notes become :class:`~handler.pull_requests.model.Activity` and go through
  the pull-request review rules (:func:`handler.pull_requests.pipeline.plan`: drafts announced
  once when ready, review commands, mentions, threads and direct messages); the reader is
  :class:`~handler.enrich.gitlab.GitLabMergeRequestReader` (the payload, and GitLab's REST API
  when the secret holds ``gitlab-api-token``).
* Pipelines post a failure, and the first success after one ("fixed"): the ref's last status is
  kept in the state table under ``ci#<host>:gitlab:<project>#<ref>``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from handler.deadline import Deadline
from handler.deliver.senders import to_each
from handler.enrich.gitlab import GitLabApi, GitLabMergeRequestReader, notification_from_push
from handler.errors import ConfigurationError, NotifierError, UnprocessableEvent
from handler.model import PipelineRun, Pusher, RunStatus
from handler.pipelines.pull_request import (
    DRAFT_TTL_SECONDS,
    destinations_for,
    draft_key,
    plan,
    post_everywhere,
)
from handler.pipelines.push import post_to_each, route_notification
from handler.pipelines.threads import Threads
from handler.pull_requests.model import Activity, ActivityKind, CommentDetails
from handler.pull_requests.settings import PullRequestSettings
from handler.render.ci_status import render_pipeline_run
from handler.render.markup import markup_for
from handler.runtime import PullRequestRuntime, Runtime
from handler.sources.gitlab import (
    HANDLED_EVENTS,
    MERGE_REQUEST_HOOK,
    NOTE_HOOK,
    PIPELINE_HOOK,
    Envelope,
    MergeRequestHook,
    NoteHook,
    PipelineHook,
    PushHook,
    to_activity,
    to_push,
    to_repository,
)
from handler.state import AttributeValue, StateStore
from handler.state.ledger import DeliveryLedger, delivery
from handler.state.memory import MemoryStore

log = logging.getLogger(__name__)

#: Secret key (in the JSON secret ``SLACK_WEBHOOK_SECRET_ARN`` names) of GitLab's API token.
API_TOKEN_KEY = "gitlab-api-token"
#: How long a ref's last pipeline status is kept (a failure older than this is not "fixed").
CI_STATUS_TTL_SECONDS = 30 * 24 * 3600
_REPORTED_STATUSES = frozenset({"success", "failed"})

_process_memory: StateStore | None = None


def process_gitlab_event(event: Mapping[str, Any], runtime: Runtime, deadline: Deadline) -> dict[str, int]:
    """Run one GitLab delivery through its path; return (and log) how many messages had each outcome.

    Outcomes: ``delivered``; ``duplicate`` (this delivery was posted before); ``quiet`` (a draft, a
    pipeline that fixed nothing); ``filtered`` (``ROUTES`` sent it nowhere); ``ignored`` (nothing
    the notifier reports); ``dropped`` (malformed: logged with the reason, no retry can fix it).
    Delivery failures raise, so Lambda retries the event and the dead-letter queue keeps it.
    """
    envelope = Envelope(event, "event")
    try:
        outcomes = _dispatch(envelope, runtime, deadline)
    except UnprocessableEvent as error:
        log.warning("GitLab delivery %s dropped: %s", str(event.get("delivery", ""))[:100], error)
        return {"dropped": 1}
    log.info("GitLab %s %s: %s", envelope.event, envelope.delivery or "(no delivery key)", outcomes)
    return outcomes


def _dispatch(envelope: Envelope, runtime: Runtime, deadline: Deadline) -> dict[str, int]:
    name, key = envelope.event, envelope.delivery
    if name not in HANDLED_EVENTS:
        return {"ignored": 1}
    if name == PIPELINE_HOOK:
        return _pipeline_run(PipelineHook(envelope.payload, "payload"), key, runtime, deadline)
    if name in (MERGE_REQUEST_HOOK, NOTE_HOOK):
        return _review(envelope, runtime, deadline)
    return _push(PushHook(envelope.payload, "payload"), key, runtime, deadline)


# -- pushes ---------------------------------------------------------------------------------------


def _push(hook: PushHook, key: str, runtime: Runtime, deadline: Deadline) -> dict[str, int]:
    """Claim, enrich from the payload, route per reference, render and post, like a CodeCommit push
    (the push pipeline's routing and per-destination marks)."""
    push = to_push(hook, delivery=key)
    with delivery(runtime.ledger, push.delivery_key, seconds_left=deadline.seconds_left()) as fresh:
        if not fresh:
            log.info("GitLab delivery %s was delivered before: posting nothing", key)
            return {"duplicate": 1}
        notification = notification_from_push(hook, push, max_listed=runtime.settings.render.max_commits)
        routed = route_notification(notification, runtime)
        if not routed.by_destination:
            log.info("push to %s routed nowhere: %s", push.repository.name, routed.dropped[0][1].reason)
            return {"filtered": 1}
        post_to_each(notification, routed, runtime, deadline)
    log.info("delivered GitLab push to %s in %s", push.ref_changes[0].short_name, push.repository.name)
    return {"delivered": 1}


# -- merge requests and notes -----------------------------------------------------------------------


def _review(envelope: Envelope, runtime: Runtime, deadline: Deadline) -> dict[str, int]:
    activity = to_activity(envelope)
    if activity is None:
        log.info("GitLab %s %s: nothing to announce", envelope.event, envelope.delivery[:100])
        return {"ignored": 1}
    settings = _review_settings(runtime)
    state = _state(runtime)
    ledger = DeliveryLedger(state)
    key = _claim_key(envelope, activity)
    with delivery(ledger, key, seconds_left=deadline.seconds_left()) as fresh:
        if not fresh:
            log.info("GitLab delivery %s was delivered before: posting nothing", envelope.delivery[:100])
            return {"duplicate": 1}
        reader = _reader(envelope, activity, runtime)
        review_runtime = PullRequestRuntime(
            load_settings=lambda: settings, reader_for=lambda _: reader, state=state
        )
        _remember_draft_made_ready(envelope, activity, state)
        items = plan(activity, review_runtime, runtime.settings.render, state)
        items = [_with_oldrev(item, envelope) for item in items]
        if not items:
            return {"quiet": 1}
        names = destinations_for(activity, items[0].notice, runtime)
        if not names:
            return {"filtered": 1}
        threads = Threads(state, int(review_runtime.clock()))
        post_everywhere(
            items, names, key=key, ledger=ledger, runtime=runtime, threads=threads, deadline=deadline
        )
        for item in items:  # posted: nothing here may raise, or Lambda's retry would post again
            for write in item.after_delivery:
                try:
                    write()
                except NotifierError as error:
                    log.warning("posted, but could not record its state: %s: %s", type(error).__name__, error)
    return {"delivered": len(items)}


def _claim_key(envelope: Envelope, activity: Activity) -> str:
    """The delivery's key; for approvals, the approval itself (GitLab sends ``approval`` and
    ``approved`` for one approval that completes the rules: one message)."""
    if activity.kind in (ActivityKind.APPROVED, ActivityKind.APPROVAL_REVOKED) and activity.pull_request:
        snapshot = activity.pull_request
        when = activity.event_time.isoformat() if activity.event_time else envelope.delivery
        who, what = activity.actor.arn, activity.kind.value
        return f"gitlab-approval#{activity.scope}#{who}#{what}#{snapshot.source_commit}#{when}"
    return f"gitlab#{envelope.delivery}" if envelope.delivery else ""


def _review_settings(runtime: Runtime) -> PullRequestSettings:
    pull_requests = runtime.pull_requests
    if callable(pull_requests):
        pull_requests = runtime.pull_requests = pull_requests()
    return pull_requests.settings if pull_requests is not None else PullRequestSettings()


def _state(runtime: Runtime) -> StateStore:
    """The state table, or this process's memory (local runs keep drafts and statuses for the session)."""
    global _process_memory  # noqa: PLW0603 (one per process, like the pull-request pipeline's)
    pull_requests = runtime.pull_requests
    if not callable(pull_requests) and pull_requests is not None and pull_requests.state is not None:
        return pull_requests.state
    if runtime.state is not None:
        return runtime.state
    _process_memory = _process_memory or MemoryStore()
    return _process_memory


def _reader(envelope: Envelope, activity: Activity, runtime: Runtime) -> GitLabMergeRequestReader:
    """The merge request as the payload describes it, and the API when there is a token."""
    snapshot = activity.pull_request
    assert snapshot is not None  # to_activity always sets it for merge requests and notes
    reviewers: tuple[str, ...] = ()
    comment = None
    if envelope.event == MERGE_REQUEST_HOOK:
        hook = MergeRequestHook(envelope.payload, "payload")
        reviewers = tuple(user.username for user in hook.reviewers if user.username)
        project = hook.project
    else:
        note = NoteHook(envelope.payload, "payload")
        project = note.project
        comment = CommentDetails(
            comment_id=activity.comment.comment_id if activity.comment else "",
            content=note.note,
            author_arn=activity.actor.arn,
        )
    api = GitLabApi.for_instance(project.web_url, _api_token(runtime), os.environ.get("GITLAB_API_URL"))
    return GitLabMergeRequestReader(snapshot, reviewers, comment, project.project_id, api)


def _api_token(runtime: Runtime) -> str | None:
    """``gitlab-api-token`` from the JSON secret, or None (no secret, or no such key: the payload alone)."""
    try:
        return runtime.secrets.value(API_TOKEN_KEY)
    except ConfigurationError as error:
        log.warning("could not read %s from the secret: %s", API_TOKEN_KEY, error)
        return None


def _remember_draft_made_ready(envelope: Envelope, activity: Activity, state: StateStore) -> None:
    """A draft made ready (``changes.draft`` true → false) is announced once even if the notifier
    never saw it as a draft: record the draft mark the review rules announce from."""
    if envelope.event != MERGE_REQUEST_HOOK or activity.pull_request is None:
        return
    hook = MergeRequestHook(envelope.payload, "payload")
    if hook.attributes.action != "update" or hook.draft_change != (True, False):
        return
    if state.get(draft_key(activity)) is None:
        expires_at = int(time.time()) + DRAFT_TTL_SECONDS
        state.put_new(
            draft_key(activity), {"title": activity.pull_request.title[:200]}, expires_at=expires_at
        )


def _with_oldrev(item: Any, envelope: Envelope) -> Any:
    """New commits compare from ``oldrev``, the source commit before this push (GitLab says it)."""
    if envelope.event != MERGE_REQUEST_HOOK or item.notice.activity.kind is not ActivityKind.SOURCE_UPDATED:
        return item
    oldrev = MergeRequestHook(envelope.payload, "payload").attributes.oldrev
    return replace(item, notice=replace(item.notice, previous_source_commit=oldrev)) if oldrev else item


# -- pipelines --------------------------------------------------------------------------------------


def ci_status_key(run_repository_scope: str, ref: str) -> str:
    """``ci#<host>:gitlab:<project>#<ref>``: the ref's last reported pipeline status."""
    return f"ci#{run_repository_scope}#{ref}"


def _pipeline_run(hook: PipelineHook, key: str, runtime: Runtime, deadline: Deadline) -> dict[str, int]:
    status = hook.status
    if status not in _REPORTED_STATUSES:
        log.info("pipeline #%s is %s: not reported", hook.pipeline_id, status)
        return {"ignored": 1}
    repository = to_repository(hook.project)
    state = _state(runtime)
    status_key = ci_status_key(f"{repository.account}:{repository.region}:{repository.name}", hook.ref)
    recorded = state.get(status_key)
    last_id = recorded.attributes.get("pipeline_id") if recorded is not None else None
    if isinstance(last_id, (int, float)) and int(last_id) > hook.pipeline_id:
        log.info("pipeline #%s finished after #%s was recorded: not reported", hook.pipeline_id, last_id)
        return {"late": 1}
    previous = recorded.attributes.get("status") if recorded is not None else None
    outcome = RunStatus.FAILED if status == "failed" else RunStatus.FIXED if previous == "failed" else None
    ledger = DeliveryLedger(state)
    with delivery(ledger, f"gitlab#{key}" if key else "", seconds_left=deadline.seconds_left()) as fresh:
        if not fresh:
            return {"duplicate": 1}
        if outcome is not None:
            run = _run(hook, repository, outcome)
            names = _run_destinations(run, runtime)

            def post(name: str) -> int:
                sender = runtime.senders.get(name)
                payload = render_pipeline_run(run, markup_for(sender.flavor))
                return _post_once(
                    runtime,
                    f"gitlab#{key}@{name}",
                    len(names) > 1,
                    lambda: sender.post(payload, deadline).attempts,
                    deadline,
                )

            to_each(names, post)
        _record_status(state, status_key, recorded, status, hook.pipeline_id)
    return {"delivered": 1} if outcome is not None and names else {"quiet": 1}


def _run(hook: PipelineHook, repository: Any, outcome: RunStatus) -> PipelineRun:
    user = hook.user
    commit = hook.commit
    return PipelineRun(
        repository=repository,
        run_id=str(hook.pipeline_id),
        ref=hook.ref,
        is_tag=hook.is_tag,
        commit_id=hook.sha,
        commit_title=(commit.title or commit.message).strip().split("\n", 1)[0],
        status=outcome,
        url=hook.url or None,
        started_by=Pusher(user.name or user.username, "gitlab-user", user.username),
        failed_jobs=tuple((job.stage, job.name, job.reason) for job in hook.failed_jobs),
        finished_at=hook.finished_at,
    )


def _run_destinations(run: PipelineRun, runtime: Runtime) -> tuple[str, ...]:
    routing = runtime.settings.routes_in_force
    if routing is None:
        return ("default",)
    from handler.routing import route, subject_for_pipeline_run

    decision = route(subject_for_pipeline_run(run), routing, has_default=runtime.senders.has_default())
    if decision.dropped:
        log.info("not posting pipeline #%s: %s", run.run_id, decision.reason)
    return decision.destinations


def _record_status(state: StateStore, key: str, recorded: Any, status: str, pipeline_id: int) -> None:
    attributes: dict[str, AttributeValue] = {"status": status, "pipeline_id": pipeline_id}
    expires_at = int(time.time()) + CI_STATUS_TTL_SECONDS
    if recorded is None:
        state.put_new(key, attributes, expires_at=expires_at)
    else:
        state.replace(recorded, attributes, expires_at=expires_at)


def _post_once(runtime: Runtime, key: str, several: bool, post: Callable[[], int], deadline: Deadline) -> int:
    """Post, marked per destination when there are several (the delivery's claim covers one)."""
    with delivery(
        DeliveryLedger(_state(runtime)), key if several else "", seconds_left=deadline.seconds_left()
    ) as fresh:
        return post() if fresh else 0
