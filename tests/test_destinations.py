"""Destinations: DESTINATIONS validation, the flavour contract, the secret map's three forms, and
secret values that never reach an error message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handler.deliver.destinations import (
    DEFAULT,
    Destination,
    DestinationError,
    DestinationMap,
    DestinationType,
    Flavor,
    SecretMap,
    detect_flavor,
    parse_destinations,
    parse_destinations_text,
    parse_flavor,
)
from handler.deliver.webhook_url import PLACEHOLDER_SECRET, PLACEHOLDER_SECRET_STRING, DestinationSecrets
from handler.errors import ConfigurationError

SLACK_URL = "https://hooks.slack.com/services/T000/B000/SECRETSECRETSECRET"
OTHER_SLACK_URL = "https://hooks.slack.com/services/T000/B111/OTHERSECRETVALUE"
MM_URL = "https://mm.example.com/hooks/mmsecrettoken123"
TOKEN = "xoxb-1111-2222-BOTSECRETTOKEN"
BRIEF_DESTINATIONS: dict[str, Any] = {
    "payments": {"type": "slack-webhook"},
    "platform-mm": {"type": "mattermost-webhook"},
    "reviews": {"type": "slack-app", "channel": "C0123456789", "direct_messages": True, "secret": "bot"},
}
PAYMENTS = Destination("payments", DestinationType.SLACK_WEBHOOK)
PLATFORM = Destination("platform-mm", DestinationType.MATTERMOST_WEBHOOK)
REVIEWS = Destination("reviews", DestinationType.SLACK_APP, channel="C0123456789", secret="bot")


def test_the_brief_example_parses() -> None:
    parsed = parse_destinations(BRIEF_DESTINATIONS)
    assert parsed == {
        "payments": PAYMENTS,
        "platform-mm": PLATFORM,
        "reviews": Destination(
            "reviews", DestinationType.SLACK_APP, channel="C0123456789", direct_messages=True, secret="bot"
        ),
    }
    assert parsed["payments"].secret == "payments"
    assert [item.flavor for item in parsed.values()] == [Flavor.SLACK, Flavor.MATTERMOST, Flavor.SLACK]
    as_text = parse_destinations_text(json.dumps(BRIEF_DESTINATIONS))
    assert isinstance(as_text, DestinationMap) and dict(as_text) == parsed
    assert hash(as_text) == hash(DestinationMap(parsed))


def destination_problems(document: object) -> tuple[str, ...]:
    with pytest.raises(DestinationError) as error:
        parse_destinations(document)
    return error.value.problems


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], 'must be a JSON object of name → destination like {"payments": {"type": "slack-webhook"}}'),
        ({"default": {"type": "slack-webhook"}}, "default: the name default is reserved"),
        ({"Payments": {"type": "slack-webhook"}}, "Payments: a destination name is 1-63 lowercase"),
        ({"-x": {"type": "slack-webhook"}}, "-x: a destination name is"),
        ({"a" * 64: {"type": "slack-webhook"}}, "a destination name is 1-63"),
        ({"my team": {"type": "slack-webhook"}}, '["my team"]: a destination name'),
        ({"x": "slack-webhook"}, 'x: must be an object like {"type": "slack-webhook"}, got a string'),
        ({"x": {}}, "x: has no type; give it one of slack-webhook, mattermost-webhook, slack-app"),
        ({"x": {"type": "slack_webhook"}}, "x.type: 'slack_webhook' is not a destination type (did you mean"),
        ({"x": {"type": "teams"}}, "x.type: 'teams' is not a destination type; the types are"),
        ({"x": {"type": 1}}, "x.type: a number is not a destination type"),
        (
            {"x": {"type": "slack-app"}},
            'x: a slack-app destination needs a channel, like "channel": "C0123456789"',
        ),
        (
            {"x": {"type": "slack-app", "channel": "reviews"}},
            "x.channel: write '#reviews' (a channel name starts",
        ),
        (
            {"x": {"type": "slack-app", "channel": "#a b"}},
            "x.channel: must be a channel ID like C0123456789 or",
        ),
        ({"x": {"type": "slack-app", "channel": 5}}, "x.channel: must be a channel ID"),
        ({"x": {"type": "slack-webhook", "channel": "#a"}}, "x.channel: only a slack-app destination takes"),
        (
            {"x": {"type": "mattermost-webhook", "direct_messages": True}},
            "x.direct_messages: only a slack-app",
        ),
        (
            {"x": {"type": "slack-app", "channel": "#a", "direct_messages": "yes"}},
            "x.direct_messages: must be true or false, got a string",
        ),
        ({"x": {"type": "slack-webhook", "secret": ""}}, "x.secret: must be the key in the secret"),
        ({"x": {"type": "slack-webhook", "secret": 3}}, "x.secret: must be the key in the secret"),
        (
            {"x": {"type": "slack-webhook", "secret": "url"}},
            "x.secret: 'url' marks the secret's single-webhook",
        ),
        ({"x": {"type": "slack-webhook", "chanel": "#a"}}, "x.chanel: unknown key (did you mean 'channel'?)"),
    ],
)
def test_every_problem_says_where_and_what_to_write(document: object, expected: str) -> None:
    problems = destination_problems(document)
    assert any(expected in problem for problem in problems), problems


def test_all_destination_problems_are_reported_at_once() -> None:
    problems = destination_problems(
        {
            "default": {"type": "slack-webhook"},
            "a": {"type": "slack"},
            "b": {"type": "slack-app"},
            "c": {"type": "slack-webhook", "direct_messages": True},
        }
    )
    assert [problem.split(":")[0] for problem in problems] == ["default", "a.type", "b", "c.direct_messages"]


@pytest.mark.parametrize("channel", ["C0123456789", "G01234567", "#reviews", "#team_ops-2"])
def test_channels_by_id_or_name(channel: str) -> None:
    parsed = parse_destinations({"r": {"type": "slack-app", "channel": channel}})
    assert parsed["r"].channel == channel


@pytest.mark.parametrize(
    ("url", "configured", "expected"),
    [
        ("https://hooks.slack.com/services/T0/B0/X", None, Flavor.SLACK),
        ("https://hooks.slack-gov.com/services/T0/B0/X", None, Flavor.SLACK),
        ("https://HOOKS.SLACK.COM/services/T0/B0/X", None, Flavor.SLACK),
        ("https://hooks.slack.com./services/T0/B0/X", None, Flavor.SLACK),
        ("https://hooks.slack.com:443/hooks/abc", None, Flavor.SLACK),  # a Slack host wins over /hooks/
        ("https://chat.example.com/hooks/abc", None, Flavor.MATTERMOST),
        ("https://CHAT.Example.com:8065/hooks/abc", None, Flavor.MATTERMOST),
        ("http://127.0.0.1:8065/hooks/abc", None, Flavor.MATTERMOST),
        ("https://chat.example.com/mattermost/hooks/abc", None, Flavor.SLACK),  # path must START with /hooks/
        ("https://chat.example.com/hooks", None, Flavor.SLACK),
        ("https://chat.example.com/HOOKS/abc", None, Flavor.SLACK),
        ("https://chat.example.com/services/abc", None, Flavor.SLACK),
        ("https://example.com/webhook?x=/hooks/", None, Flavor.SLACK),
        ("https://chat.example.com/hooks/abc", "slack", Flavor.SLACK),  # DESTINATION_FLAVOR wins
        ("https://hooks.slack.com/services/T0/B0/X", "mattermost", Flavor.MATTERMOST),
        ("https://hooks.slack.com/services/T0/B0/X", " Mattermost ", Flavor.MATTERMOST),
        ("https://hooks.slack.com/services/T0/B0/X", Flavor.MATTERMOST, Flavor.MATTERMOST),
        ("https://chat.example.com/hooks/abc", "", Flavor.MATTERMOST),  # blank is unset
    ],
)
def test_the_flavour_contract(url: str, configured: str | Flavor | None, expected: Flavor) -> None:
    assert detect_flavor(url, configured) is expected


def test_only_the_two_flavours_are_accepted() -> None:
    assert parse_flavor("SLACK") is Flavor.SLACK
    with pytest.raises(ValueError, match="must be slack or mattermost, got 'matermost' \\(did you mean"):
        parse_flavor("matermost")
    with pytest.raises(ValueError, match="must be slack or mattermost"):
        detect_flavor("https://chat.example.com/hooks/abc", "teams")


# -- the secret map ------------------------------------------------------------------------------

SECRET_VALUES = (SLACK_URL, OTHER_SLACK_URL, MM_URL, TOKEN, "SECRETSECRET", "mmsecrettoken", "BOTSECRET")


def assert_no_secret(text: str) -> None:
    for value in SECRET_VALUES:
        assert value not in text, f"a secret value leaked into {text!r}"


@pytest.mark.parametrize(
    ("secret_string", "keys", "single"),
    [
        (SLACK_URL, ("default",), True),
        (f"  {SLACK_URL}\n", ("default",), True),
        (json.dumps({"webhook_url": SLACK_URL}), ("default",), True),
        (json.dumps({"url": SLACK_URL}), ("default",), True),
        (json.dumps({"webhook_url": SLACK_URL, "channel": "#x", "count": 3}), ("default",), True),
        (
            json.dumps({"default": SLACK_URL, "payments": OTHER_SLACK_URL, "bot": TOKEN}),
            ("default", "payments", "bot"),
            False,
        ),
        (json.dumps({"payments": OTHER_SLACK_URL}), ("payments",), False),
        ("", (), True),
        (json.dumps({"payments": " "}), (), False),
    ],
)
def test_the_three_forms_of_the_secret(secret_string: str, keys: tuple[str, ...], single: bool) -> None:
    secrets = SecretMap.parse(secret_string)
    assert secrets.keys() == keys
    assert secrets.single_webhook is single
    assert_no_secret(repr(secrets))


def test_each_destination_reads_its_own_key() -> None:
    secrets = SecretMap.parse(
        json.dumps({"default": SLACK_URL, "payments": OTHER_SLACK_URL, "platform-mm": MM_URL, "bot": TOKEN})
    )
    assert secrets.value_for(DEFAULT) == SLACK_URL
    assert secrets.value_for(PAYMENTS) == OTHER_SLACK_URL
    assert secrets.value_for(PLATFORM) == MM_URL
    assert secrets.value_for(REVIEWS) == TOKEN


@pytest.mark.parametrize(
    ("secret_string", "destination", "expected"),
    [
        ("{not json", DEFAULT, "is not valid JSON"),
        (json.dumps({"webhook_url": 5}), DEFAULT, "'webhook_url' must be a string"),
        (json.dumps({"default": SLACK_URL, "bot": [TOKEN]}), DEFAULT, "the values of 'bot' must be strings"),
        (json.dumps({"default": SLACK_URL}), PAYMENTS, "has no 'payments' key (for destination 'payments')"),
        (SLACK_URL, PAYMENTS, "holds a single webhook URL, so destination 'payments' has no 'payments' key"),
        (json.dumps({"webhook_url": SLACK_URL, "bot": TOKEN}), REVIEWS, "write the secret as a JSON object"),
        ("", PAYMENTS, "is empty"),
        (
            json.dumps({"default": SLACK_URL, "bot": SLACK_URL}),
            REVIEWS,
            "'bot' (destination 'reviews', a slack-app)",
        ),
        (
            json.dumps({"payments": TOKEN}),
            PAYMENTS,
            "'payments' (destination 'payments') is not a usable webhook",
        ),
        (json.dumps({"payments": "http://example.com/hooks/" + "SECRETSECRET"}), PAYMENTS, "must use https"),
        (json.dumps({"default": "not a url SECRETSECRET"}), DEFAULT, "is not a usable webhook URL"),
    ],
)
def test_unusable_values_name_the_key_never_the_value(
    secret_string: str, destination: Destination, expected: str
) -> None:
    with pytest.raises(ConfigurationError) as error:
        SecretMap.parse(secret_string, secret_id="arn:secret").value_for(destination, secret_id="arn:secret")
    assert expected in str(error.value)
    assert_no_secret(str(error.value))
    assert error.value.__cause__ is None or not any(v in str(error.value.__cause__) for v in SECRET_VALUES)


# -- DestinationSecrets: the secret read once, refreshed after a refusal ---------------------------


class CountingSecrets:
    """A secrets-client factory over moto that counts GetSecretValue calls."""

    def __init__(self) -> None:
        self.client = boto3.client("secretsmanager", region_name="us-east-2")
        self.reads = 0

    def __call__(self, region: str | None) -> Any:
        outer = self

        class Counting:
            def get_secret_value(self, **kwargs: Any) -> Any:
                outer.reads += 1
                return outer.client.get_secret_value(**kwargs)

        return Counting()


@pytest.fixture
def secrets() -> Iterator[CountingSecrets]:
    with mock_aws():
        yield CountingSecrets()


def make_secret(secrets: CountingSecrets, value: str) -> str:
    arn: str = secrets.client.create_secret(Name="notifier", SecretString=value)["ARN"]
    return arn


def test_every_destination_from_one_read(secrets: CountingSecrets) -> None:
    arn = make_secret(
        secrets,
        json.dumps({"default": MM_URL, "payments": OTHER_SLACK_URL, "platform-mm": MM_URL, "bot": TOKEN}),
    )
    source = DestinationSecrets(url=None, secret_arn=arn, secrets_client=secrets)
    assert source.has_default()
    assert source.secret_for() == MM_URL
    assert source.secret_for(PAYMENTS) == OTHER_SLACK_URL
    assert source.secret_for(REVIEWS) == TOKEN
    assert source.flavor_for() is Flavor.MATTERMOST  # detected from the default's URL
    assert source.flavor_for(PLATFORM) is Flavor.MATTERMOST
    assert source.flavor_for(PAYMENTS) is Flavor.SLACK
    assert secrets.reads == 1
    assert (
        DestinationSecrets(url=None, secret_arn=arn, secrets_client=secrets, flavor=Flavor.SLACK).flavor_for()
        is Flavor.SLACK
    )


def test_the_environment_url_is_the_default_and_the_secret_the_rest(secrets: CountingSecrets) -> None:
    arn = make_secret(secrets, json.dumps({"payments": OTHER_SLACK_URL}))
    source = DestinationSecrets(url=SLACK_URL, secret_arn=arn, secrets_client=secrets)
    assert source.secret_for() == SLACK_URL and source.has_default()
    assert not source.from_secret() and source.from_secret(PAYMENTS)
    assert secrets.reads == 0
    assert source.secret_for(PAYMENTS) == OTHER_SLACK_URL
    without_default = DestinationSecrets(url=None, secret_arn=arn, secrets_client=secrets)
    assert not without_default.has_default()
    with pytest.raises(ConfigurationError, match="has no 'default' key"):
        without_default.secret_for()


def test_local_runs_without_a_secret(secrets: CountingSecrets) -> None:
    local = DestinationSecrets(url=SLACK_URL, secret_arn=None, secrets_client=secrets)
    assert local.secret_for() == SLACK_URL and local.flavor_for() is Flavor.SLACK
    assert not local.refresh()
    with pytest.raises(ConfigurationError, match="SLACK_WEBHOOK_SECRET_ARN is not set") as error:
        local.secret_for(PAYMENTS)
    assert_no_secret(str(error.value))
    nothing = DestinationSecrets(url=None, secret_arn=None, secrets_client=secrets)
    assert not nothing.has_default()
    with pytest.raises(ConfigurationError, match="no Slack webhook configured"):
        nothing.secret_for()


def test_refresh_reads_again_and_says_whether_the_value_changed(secrets: CountingSecrets) -> None:
    arn = make_secret(secrets, json.dumps({"default": SLACK_URL, "payments": OTHER_SLACK_URL}))
    source = DestinationSecrets(url=None, secret_arn=arn, secrets_client=secrets)
    assert source.secret_for(PAYMENTS) == OTHER_SLACK_URL
    secrets.client.put_secret_value(
        SecretId=arn, SecretString=json.dumps({"default": SLACK_URL, "payments": MM_URL})
    )
    assert source.secret_for(PAYMENTS) == OTHER_SLACK_URL  # cached
    assert source.refresh(PAYMENTS)
    assert source.secret_for(PAYMENTS) == MM_URL
    assert not source.refresh()  # the default did not change
    assert secrets.reads == 3


@pytest.mark.parametrize(
    ("secret_string", "message"),
    [(" ", "is empty; put the webhook URL in it"), ("{}", "is empty"), ("not a url", "malformed")],
)
def test_an_unusable_default_says_what_to_do(
    secrets: CountingSecrets, secret_string: str, message: str
) -> None:
    arn = make_secret(secrets, secret_string)
    with pytest.raises(ConfigurationError, match=message):
        DestinationSecrets(url=None, secret_arn=arn, secrets_client=secrets).secret_for()


@pytest.mark.parametrize("destination", [DEFAULT, PAYMENTS], ids=lambda d: d.name)
@pytest.mark.parametrize(
    "secret_string",
    [PLACEHOLDER_SECRET_STRING, json.dumps(PLACEHOLDER_SECRET, separators=(",", ":"), indent=2)],
    ids=["as-the-stack-writes-it", "re-spaced"],
)
def test_the_stacks_placeholder_says_the_command_that_sets_the_url(
    secrets: CountingSecrets, destination: Destination, secret_string: str
) -> None:
    """Issue 17 item 10: the secret the stack creates holds a placeholder, not a random password
    (which read as "malformed"); whichever destination reads it first is told the exact command."""
    arn = make_secret(secrets, secret_string)
    with pytest.raises(ConfigurationError) as raised:
        DestinationSecrets(url=None, secret_arn=arn, secrets_client=secrets).secret_for(destination)
    assert "still holds the placeholder" in str(raised.value)
    assert str(raised.value).endswith(
        f"aws secretsmanager put-secret-value --region us-east-2 --secret-id {arn} "
        "--secret-string 'https://hooks.slack.com/services/...'"
    )


def test_a_missing_secret_says_so(secrets: CountingSecrets) -> None:
    arn = "arn:aws:secretsmanager:us-east-2:123456789012:secret:gone-AbCdEf"
    with pytest.raises(ConfigurationError, match="does not exist"):
        DestinationSecrets(url=None, secret_arn=arn, secrets_client=secrets).secret_for(PAYMENTS)


@pytest.mark.parametrize(
    "value", ["xoxb-1111-2222-SECRETTOKEN", "https://hooks.slack.com/services/T0/B0/SECRETPATH", "HTTP://x"]
)
def test_a_url_or_token_written_as_a_secret_key_is_refused_and_never_echoed(value: str) -> None:
    with pytest.raises(DestinationError) as raised:
        parse_destinations({"reviews": {"type": "slack-app", "channel": "C0123456789", "secret": value}})
    assert "NAME of a key" in str(raised.value)
    assert value not in str(raised.value) and "SECRET" not in str(raised.value)


def test_a_probable_mattermost_under_a_sub_path_is_warned_about_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = "https://chat.example.com/mattermost/hooks/abcdefghijklmnopqrstuvwxyz"
    secrets = DestinationSecrets(url=url, secret_arn=None, secrets_client=lambda region: None)
    with caplog.at_level("WARNING"):
        assert secrets.flavor_for() is Flavor.SLACK  # the contract's rule, kept
        assert secrets.flavor_for() is Flavor.SLACK
    warnings = [
        record.getMessage() for record in caplog.records if "DESTINATION_FLAVOR" in record.getMessage()
    ]
    assert len(warnings) == 1 and "abcdefghij" not in warnings[0]
    configured = DestinationSecrets(
        url=url, secret_arn=None, secrets_client=lambda region: None, flavor=Flavor.MATTERMOST
    )
    assert configured.flavor_for() is Flavor.MATTERMOST
    caplog.clear()
    plain = DestinationSecrets(
        url="https://hooks.slack.com/services/T0/B0/x", secret_arn=None, secrets_client=lambda region: None
    )
    with caplog.at_level("WARNING"):
        assert plain.flavor_for() is Flavor.SLACK
    assert not caplog.records
