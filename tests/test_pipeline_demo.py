"""make demo's pipelines part: every scripted step posts, and every scripted AWS answer is used."""

from __future__ import annotations

import io

from handler.demos.pipelines import run_pipeline_demo


def test_the_pipeline_demo_plays_every_step() -> None:
    out = io.StringIO()
    # ten posts, and twice the thread's parent read back for its build line (conversations.replies)
    assert run_pipeline_demo(out) == 12
    text = out.getvalue()
    for line in (
        "ana.nunez@example.com started web-deploy at 5f3e2a9 (main)",
        "✗ web-deploy failed at Build / Build",
        "[Slack app: chat.postMessage in the thread 1700000000.000100]",
        "✓ web-deploy fixed",
        "Bob clicks Approve → You approved Production / Approve of web-deploy.",
        "✓ Approved by bob",
    ):
        assert line in text, line
