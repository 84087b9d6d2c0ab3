"""A pull request waiting for review, as the review queue holds it (``handler/actions/review_queue.py``
reads and decides; ``handler/render/reminders.py`` shows it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handler.model import Repository
from handler.pull_requests.people import Person


@dataclass(frozen=True)
class QueueEntry:
    """One open pull request still short of approvals.

    Attributes:
        repository: where it is.
        pull_request_id: its id (``"12"``).
        title: its title (not escaped).
        author: who opened it.
        created: when it was opened (UTC).
        source_reference: the source branch's full ref.
        destination_reference: the destination branch's full ref.
        approvals: approvals of the current revision.
        approvals_needed: the most any of its rules needs.
        waiting_for: the approval-pool members (other than the author) who have not approved.
    """

    repository: Repository
    pull_request_id: str
    title: str
    author: Person
    created: datetime
    source_reference: str = ""
    destination_reference: str = ""
    approvals: int = 0
    approvals_needed: int = 0
    waiting_for: tuple[Person, ...] = ()

    @property
    def scope(self) -> str:
        """``<account>:<region>:<repository>#<id>``: the pull request's key in state."""
        repository = self.repository
        return f"{repository.account}:{repository.region}:{repository.name}#{self.pull_request_id}"
