"""Buttons on pull-request messages (``slack-app`` destinations with ``"interactive": true``). Pure.

A button carries only ids (:class:`ButtonTarget`: destination, repository, pull request id and
the revision the message showed), never text or an ARN: on every click the chat function checks
the repository against the watched ones and reads the rest from CodeCommit as the person. The
buttons ride in an attachment of their own (block ``codecommit_pr_actions``) so the message's
own text and attachments stay exactly as the pull-request renderer made them.

After an action the chat function rewrites the message (:func:`after_action`): the same
attachments, a line saying who did what, and the buttons that still make sense.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handler.render import mrkdwn

ACTIONS_BLOCK_ID = "codecommit_pr_actions"
STATUS_MARK = "codecommit_pr_status"
APPROVE = "codecommit_approve"
REVOKE = "codecommit_revoke"
MERGE = "codecommit_merge"
COMMENT = "codecommit_comment"
#: The modal the Comment button opens; its ``private_metadata`` is the button's value.
COMMENT_MODAL = "codecommit_comment_modal"
COMMENT_INPUT_BLOCK = "comment"
COMMENT_INPUT = "text"
#: Slack's limit on a button's value.
VALUE_LIMIT = 2_000
_ID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-")


@dataclass(frozen=True)
class ButtonTarget:
    """What a button acts on: ids only.

    Attributes:
        destination: the destination name the message was posted to (its ``merge_strategy``).
        repository: the repository name (checked against the watched ones on every click).
        pull_request_id: the pull request's id.
        revision_id: the revision the message showed; an approval is for this revision only.
    """

    destination: str
    repository: str
    pull_request_id: str
    revision_id: str

    def value(self) -> str:
        """The button's ``value``: compact JSON of the four ids."""
        document = {
            "d": self.destination,
            "r": self.repository,
            "p": self.pull_request_id,
            "v": self.revision_id,
        }
        return json.dumps(document, separators=(",", ":"))


def parse_value(value: object) -> ButtonTarget | None:
    """The target a button value names, or None when it is not one of ours (or was tampered with
    into something that is not ids)."""
    if not isinstance(value, str) or len(value) > VALUE_LIMIT:
        return None
    try:
        document = json.loads(value)
    except ValueError:
        return None
    if not isinstance(document, dict) or set(document) != {"d", "r", "p", "v"}:
        return None
    fields = [document["d"], document["r"], document["p"], document["v"]]
    if not all(isinstance(f, str) and 0 < len(f) <= 100 and set(f) <= _ID_CHARS for f in fields):
        return None
    return ButtonTarget(*fields)


def buttons(target: ButtonTarget, *, merged_or_closed: bool = False) -> dict[str, Any]:
    """The attachment that holds the buttons (nothing to press once merged or closed)."""
    if merged_or_closed:
        return {"fallback": "merged or closed", "blocks": []}
    value = target.value()
    elements = [
        _button("Approve", APPROVE, value, style="primary"),
        _button("Revoke", REVOKE, value),
        _button("Merge", MERGE, value, confirm=True),
        _button("Comment", COMMENT, value),
    ]
    return {
        "fallback": "Approve, Revoke, Merge or Comment from Slack",
        "blocks": [{"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": elements}],
    }


def _button(
    label: str, action_id: str, value: str, *, style: str = "", confirm: bool = False
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = {
            "title": {"type": "plain_text", "text": "Merge this pull request?"},
            "text": {
                "type": "plain_text",
                "text": "It merges as you, with the destination's merge strategy.",
            },
            "confirm": {"type": "plain_text", "text": "Merge"},
            "deny": {"type": "plain_text", "text": "Cancel"},
        }
    return button


def with_buttons(payload: Mapping[str, Any], target: ButtonTarget) -> dict[str, Any]:
    """``payload`` (a webhook-style message) with the buttons' attachment added after its own."""
    attachments = [a for a in payload.get("attachments", []) if not _ours(a)]
    return {**payload, "attachments": [*attachments, buttons(target)]}


def after_action(
    message: Mapping[str, Any], target: ButtonTarget, line: str, *, merged_or_closed: bool
) -> dict[str, Any]:
    """The clicked message rewritten after an action: its own attachments, ``line`` (plain words,
    escaped here) as the status, and the buttons that still apply.

    Args:
        message: the message as the interaction payload gave it (``text``, ``attachments``).
        target: what the buttons act on now (a new revision after new commits).
        line: what happened, e.g. "Approved by alice from Slack".
        merged_or_closed: no buttons any more.
    """
    own = [_clean(a) for a in message.get("attachments", []) if not _ours(a) and not _is_status(a)]
    status = {"fallback": STATUS_MARK, "color": "#2EB67D", "text": mrkdwn.escape(line), "mrkdwn_in": ["text"]}
    payload: dict[str, Any] = {"text": str(message.get("text", "")), "attachments": [*own, status]}
    finishing = buttons(target, merged_or_closed=merged_or_closed)
    if finishing["blocks"]:
        payload["attachments"].append(finishing)
    return payload


def comment_modal(target: ButtonTarget, title: str) -> dict[str, Any]:
    """The Comment button's modal: one multi-line input; the target rides in ``private_metadata``."""
    return {
        "type": "modal",
        "callback_id": COMMENT_MODAL,
        "private_metadata": target.value(),
        "title": {"type": "plain_text", "text": "Comment"},
        "submit": {"type": "plain_text", "text": "Post"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": COMMENT_INPUT_BLOCK,
                "label": {"type": "plain_text", "text": title[:140] or f"#{target.pull_request_id}"},
                "element": {"type": "plain_text_input", "action_id": COMMENT_INPUT, "multiline": True},
            }
        ],
    }


def target_in(message: Mapping[str, Any]) -> ButtonTarget | None:
    """The target of the buttons a message carries (a thread's parent), or None."""
    for attachment in message.get("attachments", []) or []:
        for block in attachment.get("blocks", []) or [] if isinstance(attachment, Mapping) else []:
            if isinstance(block, Mapping) and block.get("block_id") == ACTIONS_BLOCK_ID:
                for element in block.get("elements", []) or []:
                    found = parse_value(element.get("value")) if isinstance(element, Mapping) else None
                    if found is not None:
                        return found
    return None


def _ours(attachment: object) -> bool:
    return isinstance(attachment, Mapping) and any(
        isinstance(b, Mapping) and b.get("block_id") == ACTIONS_BLOCK_ID
        for b in attachment.get("blocks", []) or []
    )


def _is_status(attachment: object) -> bool:
    return isinstance(attachment, Mapping) and attachment.get("fallback") == STATUS_MARK


def _clean(attachment: Mapping[str, Any]) -> dict[str, Any]:
    """An attachment as Slack returned it, without the fields Slack adds (``id``)."""
    return {key: value for key, value in attachment.items() if key != "id"}
