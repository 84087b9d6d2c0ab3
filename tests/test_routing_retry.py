"""Exactly once per destination: a push routed to two destinations, one failing, then Lambda's retry.

Real parts: the scenario repository read with git, a Slack webhook stand-in and a Mattermost
webhook stand-in on 127.0.0.1, the secret map read through ``DestinationSecrets`` (the demo's
in-memory client hands over the JSON the deployed function would read from Secrets Manager),
a memory store.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from handler.app import process_event
from handler.deadline import Deadline
from handler.deliver.webhook_url import DestinationSecrets
from handler.demos.delivery import SecretsInMemory
from handler.enrich.gitreader import LocalGitReader
from handler.errors import DeliveryError
from handler.runtime import Runtime
from handler.settings import Settings
from handler.state.memory import MemoryStore
from tests.scenarios import ScenarioRepo, scenario_events
from tests.standins import mattermost, slack
from tests.standins.slack import Reply


def routed_runtime(repo: ScenarioRepo, slack_url: str, mattermost_url: str, state: MemoryStore) -> Runtime:
    settings = Settings.from_environ(
        {
            "DESTINATIONS": json.dumps({"team-mm": {"type": "mattermost-webhook"}}),
            "ROUTES": json.dumps({"routes": [{"to": ["default", "team-mm"]}]}),
        }
    )
    client = SecretsInMemory({"default": slack_url, "team-mm": mattermost_url})
    return Runtime(
        settings=replace(settings, delivery_max_attempts=1),
        reader_for=lambda repository: LocalGitReader(repo.path),
        secrets=DestinationSecrets(
            url=None, secret_arn="arn-free-name", secrets_client=lambda region: client
        ),
        state=state,
    )


def one_push(repo: ScenarioRepo) -> Any:
    events = scenario_events(repo.commits)
    return events[sorted(events)[0]]


def test_a_failed_destination_is_the_only_one_posted_on_retry(scenario_repo: ScenarioRepo) -> None:
    state = MemoryStore()
    event = one_push(scenario_repo)
    with slack.running([]) as to_slack, mattermost.running([Reply(500)]) as to_mattermost:
        runtime = routed_runtime(scenario_repo, to_slack.url, to_mattermost.url, state)
        with pytest.raises(DeliveryError):
            process_event(event, runtime, Deadline(None))
        assert len(to_slack.delivered) == 1 and to_mattermost.delivered == []
        assert process_event(event, runtime, Deadline(None))["delivered"] == 1  # Lambda's retry
        assert len(to_slack.delivered) == 1, "the destination that got it is not posted again"
        assert len(to_mattermost.delivered) == 1
        assert process_event(event, runtime, Deadline(None)).get("duplicate") == 1  # a redelivery
        assert len(to_slack.delivered) == 1 and len(to_mattermost.delivered) == 1
    [posted] = to_mattermost.delivered
    assert "mrkdwn_in" not in json.dumps(posted) and "](https://" in posted["text"]
    assert "<https://" in to_slack.delivered[0]["text"]
