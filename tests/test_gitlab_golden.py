"""Golden payloads of GitLab as a second source: a push, a merge request opened (its reviewers
mentioned), a note with a review command and a failed pipeline, each played from the payloads
under tests/fixtures/gitlab/ through ``process_gitlab_event`` to Slack and to Mattermost.

``tests/golden/gitlab/<name>.json`` (Slack) and ``…/mattermost/<name>.json``; ``docs/screenshots.py``
draws them (docs/img/gitlab/). The note is read with a ``gitlab-api-token`` from a GitLab API
stand-in (its author and reviewers), as a deployed stack with a token does. Rewrite them with
``make golden`` after an intended rendering change, and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from handler.deliver.webhook_url import DestinationSecrets
from handler.pull_requests.people import UserMap
from handler.pull_requests.settings import PullRequestSettings
from handler.runtime import offline_runtime
from handler.state.memory import MemoryStore
from tests.standins import mattermost, slack
from tests.test_gitlab import Channel, GitLabApiStandIn, SecretWithApiToken
from tests.test_golden import check_mattermost_payload, golden_path, write_golden

GOLDEN = Path(__file__).parent / "golden" / "gitlab"
FLAVORS = ("slack", "mattermost")
#: golden name → the fixture played (tests/fixtures/gitlab/SOURCES.md says where each comes from)
SCENARIOS = {
    "push": "gitlabdoc_push",
    "merge_request_opened": "gitlabdoc_merge_request_open",
    "note_review_command": "variant_note_re_review",
    "pipeline_failed": "variant_pipeline_failed",
}
#: Each GitLab username with a Slack member id and a Mattermost username, so both dialects ping.
USER_MAP = UserMap.parse(
    json.dumps(
        {
            "root": {"slack": "U0ROOT0001", "mattermost": "root.admin"},
            "user1": {"slack": "U0USER0001", "mattermost": "user.one"},
            "jsmith": {"slack": "U0JSMITH01", "mattermost": "john.smith"},
        }
    )
)
#: What the GitLab API stand-in answers for the note's merge request: the note's author (root)
#: wrote it, user1 reviews it, so "/re-review" from its author pings the reviewer.
MERGE_REQUEST = {"author": {"username": "root"}, "reviewers": [{"username": "user1"}], "state": "opened"}


#: The mentions the map above makes in Mattermost (the only live ones a golden may hold).
OWN_MENTIONS = re.compile(r"@(?:root\.admin|user\.one|john\.smith)\b")


def played(name: str, stand_in: slack.SlackStandIn) -> Channel:
    """The scenario played to ``stand_in``; only the note reads the GitLab API (with a token)."""
    store = MemoryStore()
    channel = Channel(stand_in, store)
    channel.runtime.pull_requests = offline_runtime(PullRequestSettings(user_map=USER_MAP))
    channel.runtime.pull_requests.state = store
    if name == "note_review_command":
        channel.runtime.secrets = DestinationSecrets(
            url=stand_in.url,
            secret_arn="arn:aws:secretsmanager:us-east-1:111122223333:secret:notifier-AbCdEf",
            secrets_client=lambda region: SecretWithApiToken(),
        )
    assert channel.play(SCENARIOS[name]) == {"delivered": 1}
    return channel


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_gitlab_golden(name: str, flavor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    running = slack.running if flavor == "slack" else mattermost.running
    api = GitLabApiStandIn(MERGE_REQUEST)
    api.start()
    try:
        monkeypatch.setenv("GITLAB_API_URL", f"http://127.0.0.1:{api.port}/api/v4")
        with running() as stand_in:
            played(name, stand_in)
            [payload] = stand_in.delivered
    finally:
        api.stop()
    golden = golden_path(GOLDEN, flavor, name)
    if os.environ.get("UPDATE_GOLDEN"):
        write_golden(golden, payload)
    assert golden.exists(), f"no golden file for {name} ({flavor}): run `make golden` and review it"
    assert payload == json.loads(golden.read_text(encoding="utf-8"))
    if flavor == "mattermost":  # no mention but the map's, nothing else live
        check_mattermost_payload(json.loads(OWN_MENTIONS.sub("someone", json.dumps(payload))))


def test_the_goldens_ping_the_reviewer_and_the_author_in_each_dialect() -> None:
    def text(flavor: str, name: str) -> str:
        return golden_path(GOLDEN, flavor, name).read_text(encoding="utf-8")

    assert "<@U0USER0001>" in text("slack", "merge_request_opened")
    assert "@user.one" in text("mattermost", "merge_request_opened")
    assert "<@U0USER0001>" in text("slack", "note_review_command")  # the reviewer, read from the API
    assert "@user.one" in text("mattermost", "note_review_command")
