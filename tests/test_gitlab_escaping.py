"""Every GitLab-controlled field is inert in both dialects: hostile MR titles and descriptions,
notes, branch and tag names, usernames and display names, commit messages, job names.

Hypothesis writes hostile text into GitLab's documented payloads (tests/fixtures/gitlab/), runs
each through the whole GitLab path into a Slack and a Mattermost stand-in, and checks what
reached the channel: no ``<!…>`` or ``<@…>`` in Slack but the mentions of people ``USER_MAP``
maps, and in Mattermost no live mention, link or formatting outside the notifier's own links.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from handler.deadline import Deadline
from handler.pipelines.gitlab import process_gitlab_event
from handler.pull_requests.people import UserMap
from handler.pull_requests.settings import PullRequestSettings
from handler.runtime import offline_runtime
from handler.state.memory import MemoryStore
from tests.conftest import FIXTURES, local_runtime
from tests.standins import mattermost, slack
from tests.test_fuzz import HOSTILE_TEXT, check_payload
from tests.test_mattermost_markdown import LIVE_MENTION, live_syntax, server_side

WEB_URL = "https://gitlab.example.com/group/project"
MAPPED = {"root": "U0ROOT0001", "user1": "U0USER0001"}
SLACK_MENTIONS = {f"<@{handle}>" for handle in MAPPED.values()}
SPECIAL = re.compile(r"<[!@][^>]*>?")
#: Our own Markdown links (to the project's pages) and their URLs, which may hold ``~`` or ``_``.
#: A label's code span may be fenced by a longer run of backticks (a name that holds one: ``` `` ` `` ```).
OWN_LINK = re.compile(r"\[(?:(`+)(?:(?!\1).)*?\1|\\.|[^\]\\`])*\]\(https://gitlab\.example\.com/[^)\s]*\)")
OWN_URL = re.compile(r"\]\(https://gitlab\.example\.com/[^)\s]*\)")
#: Our own emoji shortcodes (``:ballot_box_with_check:``), whose underscores are not formatting.
EMOJI = re.compile(r":[a-z0-9_+-]+:")
PLAIN_FIELDS = frozenset({"fallback", "author_name", "footer", "color", "title_link"})


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / "gitlab" / f"{name}.json").read_text())
    return loaded


def hostile_events(text: dict[str, str]) -> list[dict[str, Any]]:
    """One envelope per event kind, every GitLab-written field replaced by hostile text."""
    user = {"username": text["username"], "name": text["name"]}
    project = {
        "path_with_namespace": "group/project",
        "web_url": WEB_URL,
        "id": 1,
        "default_branch": text["branch"],
    }

    push = copy.deepcopy(fixture("gitlabdoc_push"))
    push.update(
        ref=f"refs/heads/{text['branch']}",
        user_name=text["name"],
        user_username=text["username"],
        project=project,
    )
    for commit in push["commits"]:
        commit.update(
            message=text["message"],
            title=text["message"],
            author={"name": text["name"], "email": text["email"]},
        )

    tag = copy.deepcopy(fixture("gitlabdoc_tag_push"))
    tag.update(ref=f"refs/tags/{text['branch']}", user_name=text["name"], project=project)

    merge_request = copy.deepcopy(fixture("gitlabdoc_merge_request_open"))
    merge_request.update(
        user=user, project=project, reviewers=[user, {"username": "user1", "name": text["name"]}]
    )
    merge_request["object_attributes"].update(
        title=text["title"],
        description=text["message"],
        source_branch=text["branch"],
        target_branch=text["branch"],
    )

    note = copy.deepcopy(fixture("variant_note_review_done"))
    note.update(user=user, project=project)
    note["object_attributes"]["note"] = "/review-done " + text["message"]
    note["merge_request"].update(title=text["title"], source_branch=text["branch"])

    pipeline = copy.deepcopy(fixture("variant_pipeline_failed"))
    pipeline.update(user=user, project=project)
    pipeline["object_attributes"].update(ref=text["branch"], url=f"{WEB_URL}/-/pipelines/31")
    pipeline["commit"]["message"] = text["message"]
    for build in pipeline["builds"]:
        build.update(name=text["title"], stage=text["name"], failure_reason=text["message"][:40])

    events = [
        ("Push Hook", push),
        ("Tag Push Hook", tag),
        ("Merge Request Hook", merge_request),
        ("Note Hook", note),
        ("Pipeline Hook", pipeline),
    ]
    return [
        {"source": "gitlab", "event": name, "delivery": f"d{index}", "payload": body}
        for index, (name, body) in enumerate(events)
    ]


class Channels:
    def __init__(self, slack_stand_in: slack.SlackStandIn, mattermost_stand_in: slack.SlackStandIn) -> None:
        self.stand_ins = {"slack": slack_stand_in, "mattermost": mattermost_stand_in}

    def play(self, events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        posted = {}
        for flavor, stand_in in self.stand_ins.items():
            stand_in.delivered.clear()
            runtime = local_runtime(reader=None, webhook_url=stand_in.url)  # type: ignore[arg-type]
            runtime.state = MemoryStore()
            runtime.pull_requests = offline_runtime(
                PullRequestSettings(user_map=UserMap.parse(json.dumps(MAPPED)))
            )
            runtime.pull_requests.state = runtime.state
            for event in events:
                process_gitlab_event(copy.deepcopy(event), runtime, Deadline(None))
            posted[flavor] = list(stand_in.delivered)
        return posted


@pytest.fixture(scope="module")
def channels() -> Iterator[Channels]:
    with slack.running() as slack_stand_in, mattermost.running() as mattermost_stand_in:
        yield Channels(slack_stand_in, mattermost_stand_in)


def plain(attachment: dict[str, Any]) -> frozenset[str]:
    """Fields Mattermost shows as they are; a linked ``title`` too (it renders only an unlinked one)."""
    return PLAIN_FIELDS | {"title"} if "title_link" in attachment else PLAIN_FIELDS


def markdown_fields(payload: dict[str, Any]) -> list[str]:
    fields = [payload["text"]]
    for attachment in payload["attachments"]:
        shown_plain = plain(attachment)
        fields.extend(
            value for key, value in attachment.items() if isinstance(value, str) and key not in shown_plain
        )
    return fields


def check_mattermost(payload: dict[str, Any]) -> None:
    for field in markdown_fields(payload):
        stored = server_side(field)
        assert not LIVE_MENTION.search(OWN_URL.sub("]()", stored)), stored
        openers = live_syntax(EMOJI.sub("", OWN_LINK.sub("", stored)))
        assert [opener for opener in openers if opener not in "*_"] == [], stored
        assert openers.count("*") % 2 == 0 and openers.count("_") % 2 == 0, stored
    for attachment in payload["attachments"]:
        for key in plain(attachment) - {"color", "title_link"}:
            assert not LIVE_MENTION.search(attachment.get(key, "")), attachment.get(key)


NON_EMPTY = HOSTILE_TEXT.filter(lambda value: value.strip() != "")
FIELDS = st.fixed_dictionaries(
    {
        "title": HOSTILE_TEXT,
        "message": HOSTILE_TEXT,
        "branch": NON_EMPTY,
        "username": HOSTILE_TEXT,
        "name": HOSTILE_TEXT,
        "email": HOSTILE_TEXT,
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FIELDS)
@example(
    {"title": "_", "message": "", "branch": "0", "username": "", "name": "", "email": ""}
)  # an empty job stage
@example(
    {"title": "", "message": "", "branch": "`", "username": "", "name": "", "email": ""}
)  # a branch named with a backtick: its link's label is a longer-fenced code span
@example(
    {
        "title": "Deploy <!channel> @here [pay](https://evil.example) **now**",
        "message": "<@U024BE7LH> @all",
        "branch": "feature/@alice",
        "username": "<!here>",
        "name": "@channel",
        "email": "<a|b>",
    }
)
def test_hostile_gitlab_fields_render_inert_in_both_dialects(
    channels: Channels, text: dict[str, str]
) -> None:
    posted = channels.play(hostile_events(text))
    assert len(posted["slack"]) == len(posted["mattermost"]) == 5  # push, tag, opened, review done, failed
    for payload in posted["slack"]:
        check_payload_allowing_our_mentions(payload)
    for payload in posted["mattermost"]:
        check_mattermost(payload)


def check_payload_allowing_our_mentions(payload: dict[str, Any]) -> None:
    text = json.dumps(payload, ensure_ascii=False)
    for mention in SLACK_MENTIONS:
        text = text.replace(mention, "")
    assert not SPECIAL.search(text), SPECIAL.search(text)
    check_payload({**payload, "text": "", "attachments": [{**a, "text": ""} for a in payload["attachments"]]})
