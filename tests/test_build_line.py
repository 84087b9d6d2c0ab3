"""The build line on a pull request's thread parent: "✓ build passed" / "✗ build failed" while the
commit it built is the source tip, escaped in both dialects, replacing the line it had."""

from __future__ import annotations

from dataclasses import replace

import pytest

from handler.demos.pull_requests import ANA, SOURCE_2, ScriptedPullRequestReader, state_event
from handler.enrich.pull_request import enrich
from handler.pull_requests.model import BuildResult, PullRequestDetails
from handler.pull_requests.settings import PullRequestSettings
from handler.render.markup import MATTERMOST, SLACK, Markup
from handler.render.pull_request import BUILD_FAILED, BUILD_PASSED, render_card, with_build_line
from handler.settings import RenderSettings
from handler.sources.eventbridge import parse_activities
from tests.test_pull_request_pipeline import DRAFT

OPEN = replace(DRAFT, title="Cache", source_commit=SOURCE_2)


def card_text(build: BuildResult | None, markup: Markup) -> str:
    reader = ScriptedPullRequestReader(details={"7": PullRequestDetails(OPEN)})
    [activity] = parse_activities(state_event(OPEN, "pullRequestSourceBranchUpdated", ANA))
    notice = enrich(activity, reader, {})
    card = render_card(notice, PullRequestSettings(), RenderSettings(), markup, build=build)
    return str(card["attachments"][0]["text"])


@pytest.mark.parametrize("markup", [SLACK, MATTERMOST], ids=["slack", "mattermost"])
def test_the_parent_says_how_the_source_tips_build_went(markup: Markup) -> None:
    passed = card_text(BuildResult(True, SOURCE_2, "web-deploy"), markup)
    assert BUILD_PASSED in passed and "web-deploy" in passed and SOURCE_2[:7] in passed
    failed = card_text(BuildResult(False, SOURCE_2, "web-deploy"), markup)
    assert BUILD_FAILED in failed and BUILD_PASSED not in failed


@pytest.mark.parametrize("markup", [SLACK, MATTERMOST], ids=["slack", "mattermost"])
def test_a_build_of_an_older_commit_is_not_shown(markup: Markup) -> None:
    stale = card_text(BuildResult(True, "9" * 40, "web-deploy"), markup)
    assert BUILD_PASSED not in stale and stale == card_text(None, markup)


def test_a_hostile_pipeline_name_is_inert() -> None:
    slack_text = card_text(BuildResult(True, SOURCE_2, "<!channel>"), SLACK)
    assert "<!channel>" not in slack_text and "&lt;!channel&gt;" in slack_text
    mattermost_text = card_text(BuildResult(True, SOURCE_2, "@channel"), MATTERMOST)
    assert "@channel" not in mattermost_text


def test_the_build_line_replaces_the_one_before_and_keeps_the_rest() -> None:
    before = "`cache` → `main`\n*✗ build failed* (old, `1111111`)\n*1 of 2 approvals*"
    after = with_build_line(before, "*✓ build passed* (web, `2222222`)")
    assert after == "`cache` → `main`\n*1 of 2 approvals*\n*✓ build passed* (web, `2222222`)"
