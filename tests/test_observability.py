"""What ops watch: the EMF metric lines, one outcome line for every part of every event (pull
requests included, raised ones too), and every AWS call bounded by the invocation's deadline.

Everything runs through the real entry point (``lambda_handler``) against stand-ins; the EMF lines
are read from the function's stdout, as CloudWatch Logs reads them.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from botocore.config import Config

from handler.aws.clients import AwsClients
from handler.deadline import Deadline
from handler.demo import trigger_event
from handler.errors import ConfigurationError, DeadlineReached
from handler.metrics import MAX_VALUES, UNITS, Metrics
from handler.settings import Settings
from tests.scenarios import ScenarioRepo, scenario_events
from tests.standins import LoopbackServer
from tests.standins.slack import Reply, running
from tests.test_app import Context, lambda_env, use_secret
from tests.test_eventbridge import load_eventbridge
from tests.test_logs import KEYS, outcome_lines

__all__ = ["lambda_env"]  # the fixture, imported so these tests run in the same fresh container

#: The keys every outcome line has, whatever its source and outcome.
ALL_KEYS = KEYS | {"source", "kind", "pull_request", "destinations"}


def emf_lines(text: str) -> list[dict[str, Any]]:
    """Every EMF document among the function's stdout lines, checked against the specification."""
    documents = []
    for line in text.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        document = json.loads(line)
        directive = document["_aws"]
        assert isinstance(directive["Timestamp"], int)
        for metric_directive in directive["CloudWatchMetrics"]:
            assert metric_directive["Namespace"]
            for dimension_set in metric_directive["Dimensions"]:
                assert len(dimension_set) <= 30
                for name in dimension_set:  # each dimension is a string member of the root
                    assert isinstance(document[name], str)
            for metric in metric_directive["Metrics"]:
                assert metric["Unit"] == UNITS[metric["Name"]]
                value = document[metric["Name"]]  # a number, or an array of at most 100
                assert isinstance(value, int | float) or (
                    isinstance(value, list) and 0 < len(value) <= MAX_VALUES
                )
        documents.append(document)
    return documents


def metric(documents: list[dict[str, Any]], name: str, **dimensions: str) -> float | None:
    """The total of ``name`` published with exactly ``dimensions`` over every line (None: not published)."""
    values: list[float] = []
    for document in documents:
        [directive] = document["_aws"]["CloudWatchMetrics"]
        [dimension_set] = directive["Dimensions"]
        names = [metric["Name"] for metric in directive["Metrics"]]
        matches = set(dimension_set) == set(dimensions) and all(
            document[key] == value for key, value in dimensions.items()
        )
        if name in names and matches:
            value = document[name]
            values.append(float(sum(value)) if isinstance(value, list) else float(value))
    return sum(values) if values else None


def test_a_delivered_push_counts_the_event_the_outcome_the_attempts_the_lag_and_the_cold_start(
    lambda_env: Any, scenario_repo: ScenarioRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    with running([Reply(429, "rate_limited", headers={"Retry-After": "0"}), Reply()]) as slack:
        use_secret(lambda_env, slack.url)
        lambda_handler_with(scenario_events(scenario_repo.commits)["merge_commit"])
    documents = emf_lines(capsys.readouterr().out)
    assert metric(documents, "ColdStart", Function="notifier") == 1
    assert metric(documents, "EventsReceived") == 1
    assert metric(documents, "EventsReceived", Source="codecommit", Kind="push") == 1
    assert metric(documents, "Delivered") == 1
    assert metric(documents, "Delivered", Source="codecommit") == 1
    assert metric(documents, "Delivered", Destination="default") == 1
    assert metric(documents, "DeliveryAttempts", Destination="default") == 2
    assert metric(documents, "RateLimited", Destination="default") == 1
    lag = metric(documents, "Lag", Source="codecommit")
    assert lag is not None and lag > 0
    assert metric(documents, "Raised") is None  # nothing published for what did not happen


def test_the_second_invocation_is_no_cold_start_and_starts_from_zero(
    lambda_env: Any, scenario_repo: ScenarioRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    with running() as slack:
        use_secret(lambda_env, slack.url)
        events = scenario_events(scenario_repo.commits)
        lambda_handler_with(events["merge_commit"])
        capsys.readouterr()
        lambda_handler_with(events["root_commit"])
    documents = emf_lines(capsys.readouterr().out)
    assert metric(documents, "ColdStart", Function="notifier") is None
    assert metric(documents, "Delivered") == 1  # this invocation's, not a running total


def test_a_dropped_part_and_a_raised_push_are_counted_and_said_in_lines_with_every_key(
    lambda_env: Any,
    scenario_repo: ScenarioRepo,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    with running(default=Reply(404, "no_service")) as slack:
        use_secret(lambda_env, slack.url)
        event = scenario_events(scenario_repo.commits)["merge_commit"]
        message = json.loads(event["Records"][0]["Sns"]["Message"])
        message["Records"].append({"eventSource": "aws:s3"})  # a foreign part beside the push
        event["Records"][0]["Sns"]["Message"] = json.dumps(message)
        with pytest.raises(Exception, match="no_service"):
            lambda_handler_with(event)
    documents = emf_lines(capsys.readouterr().out)
    assert metric(documents, "Dropped") == 1
    assert metric(documents, "Dropped", Destination="-") == 1
    assert metric(documents, "Raised") == 1
    assert metric(documents, "Raised", Destination="default") == 1
    lines = outcome_lines(caplog)
    assert sorted(line["outcome"] for line in lines) == ["dropped", "raised"]
    assert all(line.keys() >= ALL_KEYS for line in lines)
    raised = next(line for line in lines if line["outcome"] == "raised")
    assert raised["destinations"] == ["default"] and raised["kind"] == "push"


def test_a_pull_request_event_gets_one_outcome_line_with_the_same_keys_as_a_push(
    lambda_env: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    with running() as slack:
        use_secret(lambda_env, slack.url)
        lambda_handler_with(load_eventbridge("awsdoc_pullRequestCreated.json"))
    [line] = outcome_lines(caplog)
    assert line.keys() >= ALL_KEYS
    assert line["outcome"] == "delivered" and line["kind"] == "opened" and line["source"] == "codecommit"
    assert line["event_id"] and line["repository"] and line["pull_request"]
    documents = emf_lines(capsys.readouterr().out)
    assert metric(documents, "EventsReceived", Source="codecommit", Kind="pull_request") == 1
    assert metric(documents, "Delivered", Destination="default") == 1


def test_a_pull_request_event_that_raises_still_writes_its_one_line(
    lambda_env: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """CodeCommit unreachable, or a bad USER_MAP: the line says so before Lambda retries."""
    caplog.set_level(logging.INFO)
    lambda_env.monkeypatch.setenv("USER_MAP", '{"alice": "<!channel>"}')
    with running() as slack:
        use_secret(lambda_env, slack.url)
        with pytest.raises(Exception, match="USER_MAP"):
            lambda_handler_with(load_eventbridge("awsdoc_pullRequestCreated.json"))
    [line] = outcome_lines(caplog)
    assert line.keys() >= ALL_KEYS
    assert line["outcome"] == "raised" and "USER_MAP" in line["reason"] and line["error_class"]
    assert metric(emf_lines(capsys.readouterr().out), "Raised", Source="codecommit") == 1


def test_a_foreign_eventbridge_event_is_dropped_in_a_line_of_its_own(
    lambda_env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with running() as slack:
        use_secret(lambda_env, slack.url)
        event = load_eventbridge("awsdoc_pullRequestCreated.json")
        event["detail-type"] = "Something Else Entirely"
        lambda_handler_with(event)
    [line] = outcome_lines(caplog)
    assert line["outcome"] == "dropped" and line.keys() >= ALL_KEYS and "Something Else" in line["reason"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("METRICS_NAMESPACE", "AWS/Lambda"),
        ("METRICS_NAMESPACE", "a" * 256),
        ("METRICS_BY_REPOSITORY", "yes!"),
    ],
)
def test_a_metrics_setting_that_cannot_be_used_is_refused_by_name(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        Settings.from_environ({variable: value})


def test_repository_names_are_a_dimension_only_when_asked() -> None:
    for switch, expected in (("false", None), ("true", 1.0)):
        settings = Settings.from_environ(
            {"METRICS_BY_REPOSITORY": switch, "METRICS_NAMESPACE": "Team/Notifier"}
        )
        metrics = Metrics(settings.metrics_namespace, by_repository=settings.metrics_by_repository)
        metrics.outcome("delivered", "codecommit", ("default",), repository="payments")
        assert (
            metric([json.loads(line) for line in metrics.flush()], "Delivered", Repository="payments")
            == expected
        )


def test_a_distribution_over_a_hundred_values_is_split_across_lines() -> None:
    metrics = Metrics(clock=lambda: 1_700_000_000.0)
    for second in range(250):
        metrics.lag("codecommit", second)
    documents = [json.loads(line) for line in metrics.flush()]
    lags = [document["Lag"] for document in documents if document.get("Source") == "codecommit"]
    assert [len(values) for values in lags] == [100, 100, 50]
    assert documents[0]["_aws"]["Timestamp"] == 1_700_000_000_000
    assert metrics.flush() == []  # flushed once, forgotten


def lambda_handler_with(event: dict[str, Any]) -> dict[str, int]:
    from handler.app import lambda_handler

    return lambda_handler(event, Context())


# --- every AWS call is bounded by the invocation's deadline ----------------------------------------


class SlowAws(LoopbackServer):
    """Answers every AWS request after ``delay`` seconds (an empty JSON body), counting them."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.requests = 0
        self.released = threading.Event()

    def start(self) -> SlowAws:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                stand_in.requests += 1
                stand_in.released.wait(stand_in.delay)
                body = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.serve(Handler)
        return self


@pytest.fixture
def slow_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowAws]:
    stand_in = SlowAws(delay=30).start()
    for service in ("DYNAMODB", "SECRETS_MANAGER", "SSM", "CODECOMMIT"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", f"http://127.0.0.1:{stand_in.port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    try:
        yield stand_in
    finally:
        stand_in.released.set()
        stand_in.stop()


@pytest.mark.parametrize(
    ("service", "call"),
    [
        ("dynamodb", lambda client: client.get_item(TableName="t", Key={"pk": {"S": "k"}})),
        ("secretsmanager", lambda client: client.get_secret_value(SecretId="s")),
        ("ssm", lambda client: client.get_parameter(Name="p")),
        ("codecommit", lambda client: client.get_pull_request(pullRequestId="1")),
    ],
)
def test_a_call_that_could_outlive_the_invocation_is_not_attempted(
    slow_aws: SlowAws, service: str, call: Any
) -> None:
    """A delivery claim with 3 s left used to take 15 s against a slow table; now it isn't started."""
    config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3})
    clients = AwsClients(config, config)
    clients.deadline = Deadline(lambda: 3_000 + 2_000)  # 3 s left after the margin
    with pytest.raises(DeadlineReached, match="not attempted"):
        call(clients.get(service, "us-east-2"))
    assert slow_aws.requests == 0


def test_a_call_that_fits_in_the_time_left_is_made(slow_aws: SlowAws) -> None:
    slow_aws.released.set()  # answers at once
    config = Config(connect_timeout=2, read_timeout=5)
    clients = AwsClients(config, config)
    clients.deadline = Deadline(lambda: 60_000)
    clients.get("dynamodb", "us-east-2").get_item(TableName="t", Key={"pk": {"S": "k"}})
    assert slow_aws.requests == 1


def test_the_deployed_runtime_bounds_each_invocation_by_its_own_deadline(
    slow_aws: SlowAws, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state table is slow and the invocation has 3 s left: the claim is not attempted, the
    event raises (Lambda retries it) with one outcome line, and nothing is posted."""
    import handler.app
    from handler.app import lambda_handler

    caplog.set_level(logging.INFO)
    monkeypatch.setattr(handler.app, "_lambda_runtime", None)
    monkeypatch.setenv("STATE_TABLE_NAME", "notifier-state")
    monkeypatch.setenv("AWS_REGION", "us-east-2")
    with running() as slack:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.url)
        event = trigger_event(
            [{"commit": "a" * 40, "ref": "refs/heads/main"}],
            pusher_arn="arn:aws:iam::111122223333:user/alice",
            repository_arn="arn:aws:codecommit:us-east-2:111122223333:repo",
        )
        with pytest.raises(DeadlineReached):
            lambda_handler(event, Context(remaining_ms=5_000))
        assert slack.delivered == []
    assert slow_aws.requests == 0
    [line] = outcome_lines(caplog)
    assert line["outcome"] == "raised" and line["error_class"] == "DeadlineReached"


def test_the_front_doors_count_their_cold_start_their_requests_and_their_refusals(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import handler.chat
    import handler.gitlab
    import handler.metrics

    monkeypatch.setattr(handler.metrics, "_STARTED", set())
    unsigned = {"requestContext": {"http": {"method": "POST"}}, "headers": {}, "body": "x"}
    monkeypatch.setattr(handler.chat, "runtime", _NoSecretChat)
    assert handler.chat.lambda_handler(dict(unsigned), None)["statusCode"] == 401
    assert handler.chat.lambda_handler(dict(unsigned), None)["statusCode"] == 401
    documents = emf_lines(capsys.readouterr().out)
    assert metric(documents, "ColdStart", Function="chat") == 1  # the first invocation only
    assert metric(documents, "EventsReceived", Source="slack", Kind="request") == 2
    assert metric(documents, "Dropped", Source="slack") == 2


class _NoSecretChat:
    """A chat runtime with no signing secret: every request is refused before anything else."""

    class settings:  # noqa: N801 (the attribute the entry reads)
        slack_team_id = None

    def signing_secret(self) -> str:
        return ""

    def maybe_reread(self) -> None:
        pass

    def hand_on(self, function_name: str) -> Any:
        def hand_on(work: Any) -> None:
            raise AssertionError("nothing is handed on for a refused request")

        return hand_on

    def open_modal(self, *args: Any) -> None:
        raise AssertionError("no modal for a refused request")
