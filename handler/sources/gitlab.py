"""Parse: GitLab's webhook payloads → the same model CodeCommit's events become.

GitLab posts a project or group webhook to ``handler.gitlab.lambda_handler``, which verifies it
and hands it to the notifier wrapped in an envelope (:data:`handler.sources.GITLAB_SOURCE`)::

    {"source": "gitlab", "event": "Merge Request Hook", "delivery": "<Idempotency-Key>", "payload": {...}}

Each payload is read through a small read-only view (one property per field, each checking its
type; the raw dict stays reachable as ``raw_event``), the shape powertools gives AWS events. The
``to_*`` functions turn a view into the project's model, so the renderers, routing and state see
one kind of :class:`~handler.model.Push` and :class:`~handler.pull_requests.model.Activity`:

* a project is a :class:`~handler.model.Repository` named by its ``path_with_namespace``
  (what ``ROUTES`` matches), scoped by its host, with its ``web_url`` for links;
* a person is an :class:`~handler.pull_requests.model.Identity` whose key (``arn``) is the GitLab
  username: the ``USER_MAP`` key, as an IAM name is for CodeCommit;
* a merge request is a pull request (its ``iid`` is the id), a note on it a comment.

The payload formats are GitLab's "Webhook events" page (tests/fixtures/gitlab/SOURCES.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from handler.errors import UnprocessableEvent
from handler.model import Push, Pusher, RefAction, RefChange, RefKind, Repository
from handler.pull_requests.model import (
    Activity,
    ActivityKind,
    CommentRef,
    Identity,
    PullRequestSnapshot,
)
from handler.sources import text_field

__all__ = [
    "HANDLED_EVENTS",
    "MERGE_REQUEST_HOOK",
    "NOTE_HOOK",
    "PIPELINE_HOOK",
    "PUSH_HOOK",
    "TAG_PUSH_HOOK",
    "ZERO_ID",
    "Envelope",
    "HookCommit",
    "MergeRequestHook",
    "NoteHook",
    "PipelineHook",
    "Project",
    "PushHook",
    "User",
    "envelope_for",
    "merge_request_kind",
    "to_activity",
    "to_identity",
    "to_push",
    "to_repository",
]

PUSH_HOOK = "Push Hook"
TAG_PUSH_HOOK = "Tag Push Hook"
MERGE_REQUEST_HOOK = "Merge Request Hook"
NOTE_HOOK = "Note Hook"
PIPELINE_HOOK = "Pipeline Hook"
#: The ``X-Gitlab-Event`` values the notifier reports; the front door answers others 2xx and logs them.
HANDLED_EVENTS = frozenset({PUSH_HOOK, TAG_PUSH_HOOK, MERGE_REQUEST_HOOK, NOTE_HOOK, PIPELINE_HOOK})
#: The id GitLab gives ``before`` for a created ref and ``after`` for a deleted one.
ZERO_ID = "0" * 40
#: ``object_kind`` → the ``X-Gitlab-Event`` GitLab sends it with (a saved payload has no headers).
EVENT_BY_KIND = {
    "push": PUSH_HOOK,
    "tag_push": TAG_PUSH_HOOK,
    "merge_request": MERGE_REQUEST_HOOK,
    "note": NOTE_HOOK,
    "pipeline": PIPELINE_HOOK,
}
_MAX_ID = 200


def _number(mapping: Mapping[str, Any], key: str, where: str) -> int | None:
    value = mapping.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise UnprocessableEvent(f"{where}.{key} should be a number, got {type(value).__name__}")
    return value


def _object(mapping: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> Mapping[str, Any]:
    value = mapping.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise UnprocessableEvent(f"{where}.{key} should be an object")
    return value


def _objects(mapping: Mapping[str, Any], key: str, where: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    value = mapping.get(key)
    if value is None:
        return
    if not isinstance(value, list):
        raise UnprocessableEvent(f"{where}.{key} should be a list")
    for index, item in enumerate(value):
        if isinstance(item, dict):
            yield f"{where}.{key}[{index}]", item


def _time(value: str) -> datetime | None:
    """GitLab writes ``2013-12-03T17:23:34Z`` and ``2015-05-17 18:21:36 UTC``; None if neither."""
    text = value.strip().replace(" UTC", "+00:00").replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def envelope_for(document: Mapping[str, Any], delivery: str = "") -> dict[str, Any] | None:
    """The notifier's envelope for a GitLab payload saved as it was posted (``object_kind`` names
    its event), or the envelope itself; None for anything else. The preview CLI uses it."""
    if document.get("source") == "gitlab" and isinstance(document.get("payload"), dict):
        return dict(document)
    event = EVENT_BY_KIND.get(str(document.get("object_kind")))
    if event is None:
        return None
    return {"source": "gitlab", "event": event, "delivery": delivery, "payload": dict(document)}


class _View:
    def __init__(self, raw: Mapping[str, Any], where: str) -> None:
        self.raw_event = raw
        self.where = where


class Envelope(_View):
    """What the front door hands the notifier: the GitLab event name, the delivery key, the payload."""

    @property
    def event(self) -> str:
        """The ``X-Gitlab-Event`` header: ``Push Hook``, ``Merge Request Hook``, …"""
        return text_field(self.raw_event, "event", self.where, required=True)[:_MAX_ID]

    @property
    def delivery(self) -> str:
        """``Idempotency-Key`` (the same on GitLab's retries), else ``X-Gitlab-Webhook-UUID``."""
        return text_field(self.raw_event, "delivery", self.where)[:_MAX_ID]

    @property
    def payload(self) -> Mapping[str, Any]:
        """The webhook's JSON body."""
        return _object(self.raw_event, "payload", self.where, required=True)


class Project(_View):
    """``project``: where the event happened."""

    @property
    def project_id(self) -> int | None:
        """The numeric id (the REST API's ``:id``)."""
        return _number(self.raw_event, "id", self.where)

    @property
    def path_with_namespace(self) -> str:
        """``group/subgroup/project``: the name routing matches."""
        return text_field(self.raw_event, "path_with_namespace", self.where, required=True)[:_MAX_ID]

    @property
    def web_url(self) -> str:
        """``https://gitlab.example.com/group/project``: every link starts here."""
        return text_field(self.raw_event, "web_url", self.where)[: _MAX_ID * 2]

    @property
    def default_branch(self) -> str:
        """``main``."""
        return text_field(self.raw_event, "default_branch", self.where)[:_MAX_ID]


class User(_View):
    """``user`` (merge requests, notes, pipelines): who acted."""

    @property
    def username(self) -> str:
        """The GitLab username: the ``USER_MAP`` key."""
        return text_field(self.raw_event, "username", self.where)[:_MAX_ID]

    @property
    def name(self) -> str:
        """The display name."""
        return text_field(self.raw_event, "name", self.where)[:_MAX_ID]


class HookCommit(_View):
    """One of ``commits`` (pushes) or ``last_commit`` / ``commit`` (merge requests, pipelines)."""

    @property
    def commit_id(self) -> str:
        """The full id."""
        return text_field(self.raw_event, "id", self.where)[:_MAX_ID]

    @property
    def message(self) -> str:
        """The whole message."""
        return text_field(self.raw_event, "message", self.where)

    @property
    def title(self) -> str:
        """The subject line (GitLab's ``title``; older payloads lack it)."""
        return text_field(self.raw_event, "title", self.where)

    @property
    def timestamp(self) -> datetime | None:
        """The author date."""
        return _time(text_field(self.raw_event, "timestamp", self.where))

    @property
    def author_name(self) -> str:
        """``author.name``."""
        return text_field(_object(self.raw_event, "author", self.where), "name", self.where)[:_MAX_ID]

    @property
    def author_email(self) -> str:
        """``author.email`` (``[REDACTED]`` when the author keeps it private)."""
        return text_field(_object(self.raw_event, "author", self.where), "email", self.where)[:_MAX_ID]


class PushHook(_View):
    """A ``Push Hook`` or ``Tag Push Hook`` payload."""

    @property
    def before(self) -> str:
        """The ref's previous id; all zeros for a created ref."""
        return text_field(self.raw_event, "before", self.where, required=True)[:_MAX_ID]

    @property
    def after(self) -> str:
        """The ref's new id; all zeros for a deleted ref."""
        return text_field(self.raw_event, "after", self.where, required=True)[:_MAX_ID]

    @property
    def ref(self) -> str:
        """``refs/heads/main`` or ``refs/tags/v1.0.0``."""
        return text_field(self.raw_event, "ref", self.where, required=True)[:_MAX_ID]

    @property
    def user_name(self) -> str:
        """The pusher's display name."""
        return text_field(self.raw_event, "user_name", self.where)[:_MAX_ID]

    @property
    def user_username(self) -> str:
        """The pusher's username (tag pushes of older GitLab versions lack it)."""
        return text_field(self.raw_event, "user_username", self.where)[:_MAX_ID]

    @property
    def project(self) -> Project:
        """The project pushed to."""
        return Project(_object(self.raw_event, "project", self.where, required=True), f"{self.where}.project")

    @property
    def commits(self) -> tuple[HookCommit, ...]:
        """The pushed commits, oldest first; GitLab lists the newest 20 at most."""
        return tuple(HookCommit(raw, where) for where, raw in _objects(self.raw_event, "commits", self.where))

    @property
    def total_commits_count(self) -> int:
        """How many commits the push brought, all of them (``commits`` holds 20 at most)."""
        return _number(self.raw_event, "total_commits_count", self.where) or 0


class MergeRequestAttributes(_View):
    """``object_attributes`` of a ``Merge Request Hook`` (or a note's ``merge_request``)."""

    @property
    def iid(self) -> int:
        """The project-scoped number (``!12``), the pull request id."""
        value = _number(self.raw_event, "iid", self.where)
        if value is None:
            raise UnprocessableEvent(f"{self.where} has no 'iid'")
        return value

    @property
    def title(self) -> str:
        """The title (``Draft: …`` while a draft)."""
        return text_field(self.raw_event, "title", self.where)

    @property
    def description(self) -> str:
        """The description."""
        return text_field(self.raw_event, "description", self.where)

    @property
    def source_branch(self) -> str:
        """The branch with the changes."""
        return text_field(self.raw_event, "source_branch", self.where)[:_MAX_ID]

    @property
    def target_branch(self) -> str:
        """The branch it merges into."""
        return text_field(self.raw_event, "target_branch", self.where)[:_MAX_ID]

    @property
    def state(self) -> str:
        """``opened``, ``closed``, ``merged`` or ``locked``."""
        return text_field(self.raw_event, "state", self.where)[:_MAX_ID]

    @property
    def action(self) -> str:
        """``open``, ``update``, ``approved``, ``approval``, ``unapproved``, ``unapproval``, ``merge``,
        ``close``, ``reopen`` (merge request events only)."""
        return text_field(self.raw_event, "action", self.where)[:_MAX_ID]

    @property
    def oldrev(self) -> str:
        """The previous source commit, set only when new code was pushed (or a suggestion applied)."""
        return text_field(self.raw_event, "oldrev", self.where)[:_MAX_ID]

    @property
    def last_commit(self) -> HookCommit:
        """The source branch's newest commit."""
        return HookCommit(_object(self.raw_event, "last_commit", self.where), f"{self.where}.last_commit")

    @property
    def updated_at(self) -> datetime | None:
        """When it last changed."""
        return _time(text_field(self.raw_event, "updated_at", self.where))


class MergeRequestHook(_View):
    """A ``Merge Request Hook`` payload."""

    @property
    def user(self) -> User:
        """Who acted."""
        return User(_object(self.raw_event, "user", self.where), f"{self.where}.user")

    @property
    def project(self) -> Project:
        """The target project."""
        return Project(_object(self.raw_event, "project", self.where, required=True), f"{self.where}.project")

    @property
    def attributes(self) -> MergeRequestAttributes:
        """``object_attributes``: the merge request."""
        raw = _object(self.raw_event, "object_attributes", self.where, required=True)
        return MergeRequestAttributes(raw, f"{self.where}.object_attributes")

    @property
    def reviewers(self) -> tuple[User, ...]:
        """The requested reviewers."""
        return tuple(User(raw, where) for where, raw in _objects(self.raw_event, "reviewers", self.where))

    @property
    def draft_change(self) -> tuple[bool, bool] | None:
        """``changes.draft`` as (previous, current), when this event changed it."""
        draft = _object(_object(self.raw_event, "changes", self.where), "draft", self.where)
        previous, current = draft.get("previous"), draft.get("current")
        if isinstance(previous, bool) and isinstance(current, bool):
            return previous, current
        return None


class NoteHook(_View):
    """A ``Note Hook`` payload (a comment)."""

    @property
    def user(self) -> User:
        """Who wrote it."""
        return User(_object(self.raw_event, "user", self.where), f"{self.where}.user")

    @property
    def project(self) -> Project:
        """The project."""
        return Project(_object(self.raw_event, "project", self.where, required=True), f"{self.where}.project")

    @property
    def note_id(self) -> int | None:
        """``object_attributes.id``."""
        return _number(self.attributes, "id", f"{self.where}.object_attributes")

    @property
    def note(self) -> str:
        """The comment's text (Markdown as written)."""
        return text_field(self.attributes, "note", f"{self.where}.object_attributes")

    @property
    def noteable_type(self) -> str:
        """``MergeRequest``, ``Commit``, ``Issue`` or ``Snippet``."""
        return text_field(self.attributes, "noteable_type", f"{self.where}.object_attributes")[:_MAX_ID]

    @property
    def action(self) -> str:
        """``create`` or ``update`` (GitLab 16.11+; absent before: a new note)."""
        return text_field(self.attributes, "action", f"{self.where}.object_attributes")[:_MAX_ID]

    @property
    def is_system(self) -> bool:
        """GitLab's own notes ("added 1 commit"): never reported."""
        return self.attributes.get("system") is True

    @property
    def attributes(self) -> Mapping[str, Any]:
        """``object_attributes``: the note."""
        return _object(self.raw_event, "object_attributes", self.where, required=True)

    @property
    def merge_request(self) -> MergeRequestAttributes | None:
        """The merge request commented on (None for other noteables)."""
        raw = _object(self.raw_event, "merge_request", self.where)
        return MergeRequestAttributes(raw, f"{self.where}.merge_request") if raw else None

    @property
    def created_at(self) -> datetime | None:
        """When it was written."""
        return _time(text_field(self.attributes, "created_at", f"{self.where}.object_attributes"))


@dataclass(frozen=True)
class FailedJob:
    """A job of a pipeline that failed (and was not allowed to)."""

    stage: str
    name: str
    reason: str


class PipelineHook(_View):
    """A ``Pipeline Hook`` payload."""

    @property
    def attributes(self) -> Mapping[str, Any]:
        """``object_attributes``: the pipeline."""
        return _object(self.raw_event, "object_attributes", self.where, required=True)

    @property
    def pipeline_id(self) -> int:
        """The instance-wide id."""
        value = _number(self.attributes, "id", f"{self.where}.object_attributes")
        if value is None:
            raise UnprocessableEvent(f"{self.where}.object_attributes has no 'id'")
        return value

    @property
    def ref(self) -> str:
        """The branch or tag it ran for (a short name)."""
        return text_field(self.attributes, "ref", f"{self.where}.object_attributes", required=True)[:_MAX_ID]

    @property
    def is_tag(self) -> bool:
        """True when ``ref`` is a tag."""
        return self.attributes.get("tag") is True

    @property
    def sha(self) -> str:
        """The commit it ran for."""
        return text_field(self.attributes, "sha", f"{self.where}.object_attributes")[:_MAX_ID]

    @property
    def status(self) -> str:
        """``success``, ``failed``, ``running``, ``canceled``, …"""
        return text_field(self.attributes, "status", f"{self.where}.object_attributes")[:_MAX_ID]

    @property
    def url(self) -> str:
        """The pipeline's page."""
        return text_field(self.attributes, "url", f"{self.where}.object_attributes")[: _MAX_ID * 2]

    @property
    def finished_at(self) -> datetime | None:
        """When it finished."""
        return _time(text_field(self.attributes, "finished_at", f"{self.where}.object_attributes"))

    @property
    def user(self) -> User:
        """Who started it."""
        return User(_object(self.raw_event, "user", self.where), f"{self.where}.user")

    @property
    def project(self) -> Project:
        """The project."""
        return Project(_object(self.raw_event, "project", self.where, required=True), f"{self.where}.project")

    @property
    def commit(self) -> HookCommit:
        """The commit it ran for."""
        return HookCommit(_object(self.raw_event, "commit", self.where), f"{self.where}.commit")

    @property
    def failed_jobs(self) -> tuple[FailedJob, ...]:
        """Jobs that failed and were not allowed to, in payload order."""
        found = []
        for where, raw in _objects(self.raw_event, "builds", self.where):
            if raw.get("status") == "failed" and raw.get("allow_failure") is not True:
                found.append(
                    FailedJob(
                        text_field(raw, "stage", where)[:_MAX_ID],
                        text_field(raw, "name", where)[:_MAX_ID],
                        text_field(raw, "failure_reason", where)[:_MAX_ID],
                    )
                )
        return tuple(found)


# -- into the model -----------------------------------------------------------------------------


def to_repository(project: Project) -> Repository:
    """The project as a :class:`Repository`: named by its path, scoped by its host (see module docstring)."""
    web_url = project.web_url
    try:
        host = urlsplit(web_url).hostname or "gitlab"
    except ValueError:  # not a URL at all: no links (render.links checks), one scope for the instance
        host = "gitlab"
    return Repository(
        name=project.path_with_namespace, region="gitlab", account=host, partition="gitlab", web_url=web_url
    )


def to_identity(user: User) -> Identity:
    """A GitLab user: keyed by username (``USER_MAP``), shown by display name."""
    username = user.username
    return Identity(arn=username, name=username, display_name=user.name or None)


def _ref_kind(full_ref: str) -> tuple[RefKind, str]:
    if full_ref.startswith("refs/heads/"):
        return RefKind.BRANCH, full_ref.removeprefix("refs/heads/")
    if full_ref.startswith("refs/tags/"):
        return RefKind.TAG, full_ref.removeprefix("refs/tags/")
    return RefKind.OTHER, full_ref


def to_push(hook: PushHook, *, delivery: str, event_id: str = "") -> Push:
    """One :class:`Push` with one :class:`RefChange`: created when ``before`` is all zeros, deleted
    when ``after`` is, updated otherwise; the commit id is the ref's new id (its old one if deleted)."""
    before, after = hook.before, hook.after
    if before == ZERO_ID and after == ZERO_ID:
        raise UnprocessableEvent(f"{hook.where}: both before and after are all zeros")
    action = (
        RefAction.CREATED
        if before == ZERO_ID
        else RefAction.DELETED
        if after == ZERO_ID
        else RefAction.UPDATED
    )
    kind, short_name = _ref_kind(hook.ref)
    username = hook.user_username
    pusher = Pusher(hook.user_name or username or "unknown user", "gitlab-user", username)
    ref_change = RefChange(
        full_name=hook.ref,
        kind=kind,
        short_name=short_name,
        action=action,
        commit_id=before if action is RefAction.DELETED else after,
    )
    commits = hook.commits
    return Push(
        repository=to_repository(hook.project),
        pusher=pusher,
        ref_changes=(ref_change,),
        event_time=commits[-1].timestamp if commits else None,
        event_id=event_id or delivery,
        trigger_name="gitlab",
        delivery_key=f"gitlab#{delivery}" if delivery else "",
    )


def merge_request_kind(hook: MergeRequestHook) -> ActivityKind | None:
    """What a merge request event reports; None for an edit with nothing to announce.

    ``update`` is new commits only with ``oldrev``; a draft made ready (``changes.draft`` true →
    false) counts as opening it, which the review rules announce once as "ready for review".
    """
    action = hook.attributes.action
    if action == "update":
        if hook.attributes.oldrev:
            return ActivityKind.SOURCE_UPDATED
        if hook.draft_change == (True, False):
            return ActivityKind.OPENED
        return None
    return _ACTIONS.get(action)


_ACTIONS = {
    "open": ActivityKind.OPENED,
    "reopen": ActivityKind.REOPENED,
    "close": ActivityKind.CLOSED,
    "merge": ActivityKind.MERGED,
    "approved": ActivityKind.APPROVED,
    "approval": ActivityKind.APPROVED,
    "unapproved": ActivityKind.APPROVAL_REVOKED,
    "unapproval": ActivityKind.APPROVAL_REVOKED,
}


def _snapshot(attributes: MergeRequestAttributes, *, author: str = "") -> PullRequestSnapshot:
    state = attributes.state
    return PullRequestSnapshot(
        pull_request_id=str(attributes.iid),
        title=attributes.title,
        description=attributes.description,
        author_arn=author,
        source_reference=f"refs/heads/{attributes.source_branch}" if attributes.source_branch else "",
        destination_reference=f"refs/heads/{attributes.target_branch}" if attributes.target_branch else "",
        source_commit=attributes.last_commit.commit_id,
        status="Closed" if state in ("closed", "merged") else "Open",
        is_merged=state == "merged",
    )


def to_activity(envelope: Envelope) -> Activity | None:
    """The :class:`Activity` a merge request or note event reports; None when there is nothing to
    report (an edit without new commits, a system note, a note on an issue, commit or snippet).

    The merge request's author is known from the payload only when the author is the one acting
    (``open``); otherwise the reader asks GitLab's API (:mod:`handler.enrich.gitlab`).
    """
    if envelope.event == MERGE_REQUEST_HOOK:
        hook = MergeRequestHook(envelope.payload, "payload")
        kind = merge_request_kind(hook)
        if kind is None:
            return None
        actor = to_identity(hook.user)
        attributes = hook.attributes
        opened = attributes.action == "open"
        return Activity(
            kind=kind,
            event_name=f"merge_request:{attributes.action}",
            repository=to_repository(hook.project),
            actor=actor,
            event_id=envelope.delivery,
            event_time=attributes.updated_at,
            pull_request=_snapshot(attributes, author=actor.arn if opened else ""),
            pull_request_id=str(attributes.iid),
        )
    if envelope.event == NOTE_HOOK:
        note = NoteHook(envelope.payload, "payload")
        merge_request = note.merge_request
        if note.noteable_type != "MergeRequest" or merge_request is None or note.is_system:
            return None
        edited = note.action == "update"
        return Activity(
            kind=ActivityKind.COMMENT_EDITED if edited else ActivityKind.COMMENT,
            event_name=f"note:{note.action or 'create'}",
            repository=to_repository(note.project),
            actor=to_identity(note.user),
            event_id=envelope.delivery,
            event_time=note.created_at,
            pull_request=_snapshot(merge_request),
            pull_request_id=str(merge_request.iid),
            comment=CommentRef(comment_id=str(note.note_id or "")),
        )
    return None
