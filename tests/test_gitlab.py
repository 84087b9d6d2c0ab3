"""GitLab as a second source: GitLab's documented payloads through the same renderers, routing and state.

Each event type and action the notifier reports has a test here, fed by the verbatim payloads
under tests/fixtures/gitlab/ (and the variants SOURCES.md lists) and posted to a Slack or
Mattermost stand-in on loopback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from handler.deadline import Deadline
from handler.deliver.webhook_url import DestinationSecrets
from handler.enrich.gitlab import GitLabApi
from handler.pipelines.gitlab import process_gitlab_event
from handler.pull_requests.people import UserMap
from handler.pull_requests.settings import PullRequestSettings
from handler.runtime import Runtime, offline_runtime
from handler.settings import Settings
from handler.state.memory import MemoryStore
from tests.conftest import FIXTURES, local_runtime
from tests.standins import LoopbackServer, mattermost, slack

EVENTS = {
    "push": "Push Hook",
    "tag_push": "Tag Push Hook",
    "merge_request": "Merge Request Hook",
    "note": "Note Hook",
    "pipeline": "Pipeline Hook",
}
USER_MAP = UserMap.parse(json.dumps({"root": "U0ROOT0001", "user1": "U0USER0001", "jsmith": "U0JSMITH01"}))


def payload(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / "gitlab" / f"{name}.json").read_text())
    return loaded


def envelope(name: str, delivery: str = "") -> dict[str, Any]:
    body = payload(name)
    kind = next(key for key in ("tag_push", "note", "push", "merge_request", "pipeline") if key in name)
    return {
        "source": "gitlab",
        "event": EVENTS[kind],
        "delivery": delivery or f"delivery-{name}",
        "payload": body,
    }


class Channel:
    """A runtime posting to a stand-in, with state in memory, and what reached the channel."""

    def __init__(self, stand_in: slack.SlackStandIn, store: MemoryStore) -> None:
        self.stand_in = stand_in
        self.runtime: Runtime = local_runtime(reader=None, webhook_url=stand_in.url)  # type: ignore[arg-type]
        self.runtime.state = store
        self.runtime.pull_requests = offline_runtime(PullRequestSettings(user_map=USER_MAP))
        self.runtime.pull_requests.state = store

    def play(self, name: str, delivery: str = "") -> dict[str, int]:
        return process_gitlab_event(envelope(name, delivery), self.runtime, Deadline(None))

    @property
    def texts(self) -> list[str]:
        return [json.dumps(post, ensure_ascii=False) for post in self.stand_in.delivered]


@pytest.fixture
def channel() -> Iterator[Channel]:
    with slack.running() as stand_in:
        yield Channel(stand_in, MemoryStore())


@pytest.fixture
def mattermost_channel() -> Iterator[Channel]:
    with mattermost.running() as stand_in:
        yield Channel(stand_in, MemoryStore())


def test_push_lists_the_payloads_commits_newest_first_with_a_gitlab_compare_link(channel: Channel) -> None:
    assert channel.play("gitlabdoc_push") == {"delivered": 1}
    [post] = channel.stand_in.delivered
    text = post["text"]
    compare = "http://example.com/mike/diaspora/-/compare/95790bf891e76fee5e1747ab589903a6a1f80f22...da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    assert f"<{compare}|4 new commits>" in text
    assert "John Smith" in text and "<http://example.com/mike/diaspora|mike/diaspora>" in text
    body = post["attachments"][0]["text"]
    assert body.index("fixed readme") < body.index("Update Catalan translation")
    assert "http://example.com/mike/diaspora/-/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7" in body
    assert "2 more" in body
    assert post["attachments"][-1]["footer"] == "GitLab · example.com"


def test_push_of_25_lists_ten_newest_first_then_and_15_more(channel: Channel) -> None:
    channel.play("variant_push_25_commits")
    [post] = channel.stand_in.delivered
    assert "|25 new commits>" in post["text"]
    lines = post["attachments"][0]["text"].split("\n")
    assert "Step 25 of the migration" in lines[0] and "Step 16 of the migration" in lines[9]
    assert lines[10] == "… and 15 more commits"


def test_created_and_deleted_branches_and_tags_by_the_all_zero_id(channel: Channel) -> None:
    for name in (
        "variant_push_branch_created",
        "variant_push_branch_deleted",
        "gitlabdoc_tag_push",
        "variant_tag_push_deleted",
    ):
        channel.play(name)
    created, deleted, tag, tag_deleted = (post["text"] for post in channel.stand_in.delivered)
    assert (
        "created branch <http://example.com/mike/diaspora/-/tree/feature/login-v2|`feature/login-v2`>"
        in created
    )
    assert "deleted branch `feature/login-v2`" in deleted
    assert "created tag <http://example.com/jsmith/example/-/tags/v1.0.0|`v1.0.0`>" in tag
    assert "deleted tag `v1.0.0`" in tag_deleted


def test_a_repeated_delivery_posts_once(channel: Channel) -> None:
    assert channel.play("gitlabdoc_push", delivery="same-key") == {"delivered": 1}
    assert channel.play("gitlabdoc_push", delivery="same-key") == {"duplicate": 1}
    assert channel.play("gitlabdoc_merge_request_open", delivery="mr-key") == {"delivered": 1}
    assert channel.play("gitlabdoc_merge_request_open", delivery="mr-key") == {"duplicate": 1}
    assert len(channel.stand_in.delivered) == 2


def test_opened_mentions_the_reviewers(channel: Channel) -> None:
    channel.play("gitlabdoc_merge_request_open")
    [post] = channel.stand_in.delivered
    # one headline: who did what, the title linked once, whom it asks (mentioned)
    assert post["text"] == (
        "Administrator opened <http://example.com/gitlabhq/gitlab-test/-/merge_requests/1|#1 MS-Viewport>"
        " in gitlabhq/gitlab-test; review requested from <@U0USER0001>"
    )


@pytest.mark.parametrize(
    ("name", "pretext"),
    [
        ("variant_merge_request_update_oldrev", ":arrow_up: *New commits pushed*"),
        ("variant_merge_request_approved", ":white_check_mark: *Approved*"),
        ("variant_merge_request_unapproved", ":leftwards_arrow_with_hook: *Approval revoked*"),
        ("variant_merge_request_merge", ":tada: *Merged*"),
        ("variant_merge_request_close", ":no_entry_sign: *Closed*"),
        ("variant_merge_request_reopen", ":recycle: *Reopened*"),
    ],
)
def test_each_merge_request_action(channel: Channel, name: str, pretext: str) -> None:
    assert channel.play(name) == {"delivered": 1}
    [post] = channel.stand_in.delivered
    assert post["attachments"][0]["pretext"] == pretext


def test_new_commits_compare_from_oldrev(channel: Channel) -> None:
    channel.play("variant_merge_request_update_oldrev")
    text = channel.stand_in.delivered[0]["attachments"][0]["text"]
    assert (
        "http://example.com/gitlabhq/gitlab-test/-/compare/da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
        "...b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327" in text
    )


def test_approval_and_approved_for_one_approval_post_once(channel: Channel) -> None:
    assert channel.play("variant_merge_request_approval") == {"delivered": 1}
    assert channel.play("variant_merge_request_approved") == {"duplicate": 1}


def test_a_draft_is_quiet_and_ready_is_announced_once(channel: Channel) -> None:
    assert channel.play("variant_merge_request_open_draft") == {"quiet": 1}
    assert channel.play("variant_merge_request_update_ready", delivery="ready-1") == {"delivered": 1}
    channel.play("variant_merge_request_update_ready", delivery="ready-2")  # GitLab says it again
    [post] = channel.stand_in.delivered  # ready#<scope>@<destination>: each destination told once
    assert post["attachments"][0]["pretext"] == ":eyes: *Ready for review*"


def test_draft_to_ready_is_announced_even_when_the_draft_was_never_seen(channel: Channel) -> None:
    assert channel.play("variant_merge_request_update_ready") == {"delivered": 1}
    [post] = channel.stand_in.delivered
    assert post["attachments"][0]["pretext"] == ":eyes: *Ready for review*"
    assert post["text"].endswith("is ready for review; review requested from <@U0USER0001>")


def test_without_an_api_token_a_note_claims_no_roles_it_cannot_know(channel: Channel) -> None:
    channel.play("variant_note_review_done")
    [post] = channel.stand_in.delivered
    text = json.dumps(post, ensure_ascii=False)
    assert "not a reviewer" not in text and "not its author" not in text
    assert "no gitlab-api-token" in post["attachments"][0]["text"]


def test_an_edit_without_new_commits_or_draft_change_is_quiet(channel: Channel) -> None:
    event = envelope("variant_merge_request_update_ready")
    event["payload"]["changes"] = {}
    assert process_gitlab_event(event, channel.runtime, Deadline(None)) == {"ignored": 1}


def test_a_note_and_a_suggestion_are_comments_linked_to_the_note(channel: Channel) -> None:
    channel.play("gitlabdoc_note_merge_request")
    channel.play("variant_note_suggestion")
    note, suggestion = channel.stand_in.delivered
    assert "<http://example.com/gitlab-org/gitlab-test/-/merge_requests/1#note_1244|" in note["text"]
    assert ">This MR needs work." in note["attachments"][0]["text"]
    assert "suggestion:-0+0" in suggestion["attachments"][0]["text"]


@pytest.mark.parametrize(
    ("name", "pretext"),
    [
        ("variant_note_review_done", ":ballot_box_with_check: *Review finished*"),
        ("variant_note_review_done_korean", ":ballot_box_with_check: *Review finished*"),
        ("variant_note_re_review", ":repeat: *Another review requested*"),
        ("variant_note_ping_reviewers", ":bell: *Question for the reviewers*"),
    ],
)
def test_review_commands_in_notes(channel: Channel, name: str, pretext: str) -> None:
    channel.play(name)
    [post] = channel.stand_in.delivered
    assert post["attachments"][0]["pretext"] == pretext


def test_pipeline_failed_then_fixed_but_not_every_success(channel: Channel) -> None:
    assert channel.play("gitlabdoc_pipeline") == {"quiet": 1}  # a success with no failure before
    assert channel.play("variant_pipeline_failed") == {"delivered": 1}
    assert channel.play("variant_pipeline_success_after_failure") == {"delivered": 1}
    again = envelope("variant_pipeline_success_after_failure", "later")
    again["payload"]["object_attributes"]["id"] = 33
    assert process_gitlab_event(again, channel.runtime, Deadline(None)) == {"quiet": 1}
    failed, fixed = channel.stand_in.delivered
    assert failed["text"].startswith(
        ":x: Pipeline <http://example.com/gitlab-org/gitlab-test/-/pipelines/31|#31> failed"
    )
    assert "Failed: `test` › `test-build` (script_failure)" in failed["attachments"][0]["text"]
    assert fixed["text"].startswith(":white_check_mark: Pipeline")


def test_an_older_pipeline_finishing_late_is_not_reported(channel: Channel) -> None:
    channel.play("variant_pipeline_success_after_failure")  # #32 recorded
    assert channel.play("variant_pipeline_failed") == {"late": 1}  # #31 arrives after it


def test_mattermost_gets_markdown_links(mattermost_channel: Channel) -> None:
    mattermost_channel.play("gitlabdoc_push")
    [post] = mattermost_channel.stand_in.delivered
    assert "[mike/diaspora](http://example.com/mike/diaspora)" in post["text"]


def test_unknown_events_and_malformed_payloads_are_dropped_not_raised(channel: Channel) -> None:
    unknown = {"source": "gitlab", "event": "Issue Hook", "delivery": "x", "payload": {}}
    broken = {"source": "gitlab", "event": "Push Hook", "delivery": "y", "payload": {"ref": 3}}
    assert process_gitlab_event(unknown, channel.runtime, Deadline(None)) == {"ignored": 1}
    assert process_gitlab_event(broken, channel.runtime, Deadline(None)) == {"dropped": 1}
    assert channel.stand_in.delivered == []


class GitLabApiStandIn(LoopbackServer):
    """GitLab's ``GET /api/v4/projects/:id/merge_requests/:iid`` on loopback, recording each token sent."""

    def __init__(self, merge_request: dict[str, Any]) -> None:
        super().__init__()
        self.merge_request = merge_request
        self.requests: list[tuple[str, str]] = []

    def start(self) -> GitLabApiStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stand_in.requests.append((self.path, self.headers.get("PRIVATE-TOKEN", "")))
                body = json.dumps(stand_in.merge_request).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.serve(Handler)
        return self


class SecretWithApiToken:
    def get_secret_value(self, SecretId: str) -> dict[str, str]:  # noqa: N803 (botocore's spelling)
        return {"SecretString": json.dumps({"gitlab-api-token": "glpat-test-token"})}


def test_a_note_reads_the_author_and_reviewers_from_the_api_with_the_token(
    channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = GitLabApiStandIn(
        {"author": {"username": "jsmith"}, "reviewers": [{"username": "user1"}], "state": "opened"}
    )
    api.start()
    try:
        monkeypatch.setenv("GITLAB_API_URL", f"http://127.0.0.1:{api.port}/api/v4")
        channel.runtime.secrets = DestinationSecrets(
            url=channel.stand_in.url,
            secret_arn="arn:aws:secretsmanager:us-east-1:111122223333:secret:notifier-AbCdEf",
            secrets_client=lambda region: SecretWithApiToken(),
        )
        channel.play("variant_note_review_done")
    finally:
        api.stop()
    assert api.requests == [("/api/v4/projects/5/merge_requests/1", "glpat-test-token")]
    [post] = channel.stand_in.delivered
    assert post["text"].startswith("Administrator (not a reviewer of it) finished reviewing <")
    assert post["text"].endswith("; over to <@U0JSMITH01>")


def test_the_api_token_goes_only_to_gitlab_api_url_and_never_in_clear() -> None:
    project = "https://gitlab.example.com/group/project"
    # never to the host a payload names: whoever knows the webhook token could name their own
    assert GitLabApi.for_instance(project, "glpat-x") is None
    assert GitLabApi.for_instance("https://attacker.example/group/project", "glpat-x") is None
    assert GitLabApi.for_instance(project, None, "https://gitlab.example.com/api/v4") is None
    assert GitLabApi.for_instance(project, "glpat-x", "http://gitlab.example.com/api/v4") is None
    api = GitLabApi.for_instance(
        "https://attacker.example/x", "glpat-x", "https://gitlab.example.com/api/v4/"
    )
    assert api is not None and api.base_url == "https://gitlab.example.com/api/v4"


class SecretMapOf:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get_secret_value(self, SecretId: str) -> dict[str, str]:  # noqa: N803 (botocore's spelling)
        return {"SecretString": json.dumps(self.values)}


@pytest.fixture
def routed(channel: Channel) -> Iterator[tuple[Channel, slack.SlackStandIn]]:
    """The channel as ``default``, and a second Slack stand-in as destination ``gl``."""
    with slack.running() as gitlab_channel:
        channel.runtime.secrets = DestinationSecrets(
            url=None,
            secret_arn="arn:aws:secretsmanager:us-east-1:111122223333:secret:notifier-AbCdEf",
            secrets_client=lambda region: SecretMapOf(
                {"default": channel.stand_in.url, "gl": gitlab_channel.url}
            ),
        )
        yield channel, gitlab_channel


def route_with(channel: Channel, routes: dict[str, Any]) -> None:
    channel.runtime.settings = Settings.from_environ(
        {"DESTINATIONS": json.dumps({"gl": {"type": "slack-webhook"}}), "ROUTES": json.dumps(routes)}
    )


@pytest.mark.parametrize(
    ("match", "to_gl"),
    [
        ({"repositories": ["mike/*"], "refs": ["master"]}, 1),
        ({"repositories": ["mike/diaspora"], "actors": ["jsmith"]}, 1),
        ({"repositories": ["mike/other"]}, 0),
        ({"repositories": ["mike/diaspora"], "refs": ["main"]}, 0),
        ({"repositories": ["mike/diaspora"], "events": ["tag"]}, 0),
    ],
)
def test_routes_match_gitlab_projects_refs_and_usernames(
    routed: tuple[Channel, slack.SlackStandIn], match: dict[str, Any], to_gl: int
) -> None:
    channel, gitlab_channel = routed
    route_with(channel, {"routes": [{**match, "to": ["gl"]}]})
    channel.play("gitlabdoc_push")
    assert (len(gitlab_channel.delivered), len(channel.stand_in.delivered)) == (to_gl, 1 - to_gl)


def test_a_filter_on_a_gitlab_username_drops_the_push(routed: tuple[Channel, slack.SlackStandIn]) -> None:
    channel, gitlab_channel = routed
    route_with(channel, {"routes": [{"to": ["gl"]}], "filters": [{"actors": ["jsmith"]}]})
    assert channel.play("gitlabdoc_push") == {"filtered": 1}
    assert gitlab_channel.delivered == channel.stand_in.delivered == []


@pytest.mark.parametrize(("events", "to_gl"), [(["pipeline"], 1), (["push"], 0)])
def test_pipeline_runs_are_routed_as_event_kind_pipeline(
    routed: tuple[Channel, slack.SlackStandIn], events: list[str], to_gl: int
) -> None:
    channel, gitlab_channel = routed
    route_with(
        channel, {"routes": [{"repositories": ["gitlab-org/gitlab-test"], "events": events, "to": ["gl"]}]}
    )
    channel.play("variant_pipeline_failed")
    assert len(gitlab_channel.delivered) == to_gl


@pytest.mark.parametrize(("refs", "to_gl"), [(["master"], 1), (["release/*"], 0)])
def test_merge_requests_are_routed_by_their_target_branch(
    routed: tuple[Channel, slack.SlackStandIn], refs: list[str], to_gl: int
) -> None:
    channel, gitlab_channel = routed
    route_with(channel, {"routes": [{"repositories": ["gitlabhq/gitlab-test"], "refs": refs, "to": ["gl"]}]})
    channel.play("gitlabdoc_merge_request_open")
    assert len(gitlab_channel.delivered) == to_gl


def test_the_preview_cli_takes_a_saved_gitlab_payload(capsys: pytest.CaptureFixture[str]) -> None:
    from handler.__main__ import main

    assert main([str(FIXTURES / "gitlab" / "gitlabdoc_push.json"), "--json", "--color", "never"]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert (
        "/-/compare/95790bf891e76fee5e1747ab589903a6a1f80f22...da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
        in line
    )


def test_the_demo_plays_a_merge_requests_life_into_mattermost_and_a_slack_app() -> None:
    import io

    from handler.demos.gitlab import STEPS, run_gitlab_demo

    out = io.StringIO()
    count = run_gitlab_demo(out)
    text = out.getvalue()
    assert count >= 20
    assert f"gitlab {len(STEPS) - 2}: Someone forges a merge (wrong token: 401) (answered 401)" in text
    assert "Bob Lee finished reviewing" in text and "over to @alice.kim" in text  # the author from the API
    assert "conversations.open with U0ALICE01" in text  # the Slack app's direct message
    forged, merged, again = text.split("══ gitlab ")[-3:]
    assert "→" not in forged and "Merged" in merged and "→" not in again


@pytest.mark.parametrize(
    "web_url",
    [
        "http://127.0.0.1:9001/group/project",  # the Lambda Runtime API's address
        "https://127.0.0.1/group/project",
        "http://localhost/group/project",
        "https://[::1]:8443/group/project",
    ],
)
def test_a_payload_never_points_the_api_token_at_loopback(web_url: str) -> None:
    """Review finding: a payload whose project.web_url named loopback got the token sent there (the
    function's own host: the Lambda Runtime API, or whatever listens beside it). Loopback is for
    tests, through GITLAB_API_URL only."""
    assert GitLabApi.for_instance(web_url, "glpat-x") is None
    override = GitLabApi.for_instance(web_url, "glpat-x", "http://127.0.0.1:8080/api/v4")
    assert override is not None and override.base_url == "http://127.0.0.1:8080/api/v4"
