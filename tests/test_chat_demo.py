"""``make demo``'s chat part: every step ends as it says (handler/demos/chat.py)."""

from __future__ import annotations

import io

from handler.demos.chat import run_chat_demo


def test_the_chat_demo_plays_the_loop() -> None:
    out = io.StringIO()
    assert run_chat_demo(out) == 5
    text = out.getvalue()
    assert "buttons: [Approve] · [Revoke] · [Merge] · [Comment]" in text
    assert '"arn:aws:sts::123456789012:assumed-role/CodeCommitChatActor/bob": "APPROVE"' in text
    assert "holds 1 comment(s)" in text
    assert "the comment's own EventBridge event through the notifier: 0 posted, 0 Slack calls" in text
    assert "You opened this pull request" in text
    assert "front door: 401 unauthorized; work handed on: 0" in text


def test_the_chat_demo_prints_nothing_in_json_mode() -> None:
    out = io.StringIO()
    assert run_chat_demo(out, json_only=True) == 5
    assert out.getvalue() == ""
