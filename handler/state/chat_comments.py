"""Comments the notifier made from a Slack thread, so their own EventBridge event is not echoed.

A reply in a pull request's thread becomes a CodeCommit comment (``handler.actions.review``);
CodeCommit then sends "CodeCommit Comment on Pull Request" for it, and without this mark the
pull-request pipeline would post that comment back into the very thread it came from. The chat
function remembers the comment id under ``chatcomment#<comment id>`` (for a day: EventBridge
delivers within minutes); the pipeline skips a comment event whose id is remembered.
"""

from __future__ import annotations

from handler.state import StateStore

PREFIX = "chatcomment#"
#: A command's or click's ``trigger_id``, claimed once by the chat work (``handler.actions.work``):
#: a replayed request or a repeated hand-over acts once. The chat role's state access is limited to
#: these two prefixes (cdk/chat.py).
REQUEST_PREFIX = "chatrequest#"
REMEMBER_SECONDS = 24 * 3600


def remember_chat_comment(state: StateStore, comment_id: str, now: int) -> None:
    """Mark ``comment_id`` as made from chat (already marked: nothing to do)."""
    state.put_new(PREFIX + comment_id, {"from": "slack"}, expires_at=now + REMEMBER_SECONDS)


def came_from_chat(state: StateStore, comment_id: str | None) -> bool:
    """True when ``comment_id`` was made from a Slack thread (its event must not post)."""
    return bool(comment_id) and state.get(PREFIX + str(comment_id)) is not None
