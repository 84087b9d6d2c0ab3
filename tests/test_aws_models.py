"""The trimmed botocore data (handler/aws/): up to date, complete, and byte-for-byte equivalent.

Every request the function can make is serialised twice, once by a client from botocore's own data
and once by a client from the trimmed data, in four partitions, and the two must be identical; the
same canned answer must parse identically. The committed files must be exactly what
``make aws-models`` writes from the pinned botocore, and hold exactly the operations the IAM
policy grants.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader
from botocore.model import Shape

from cdk.function import CODECOMMIT_READS
from cdk.pipelines import NOTIFIER_BUILD_STATUS_ACTIONS, NOTIFIER_PIPELINE_ACTIONS
from cdk.pull_request_events import PULL_REQUEST_ACTIONS
from cdk.reminders import REVIEW_QUEUE_ACTIONS
from cdk.state_table import ITEM_ACTIONS
from handler.aws.clients import trimmed_session
from handler.aws.models import CREDENTIAL_SERVICES, DATA_DIR, OPERATIONS, TrimmedDataLoader
from handler.aws.trim import botocore_data_dir, generate

#: One region per partition: commercial, China, GovCloud, and an isolated one.
REGIONS = ("us-east-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1")
#: Client settings that change which endpoint the rules choose.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "fips": {"config": Config(use_fips_endpoint=True)},
    "dual-stack": {"config": Config(use_dualstack_endpoint=True)},
    "account id": {"aws_account_id": "111122223333"},
}
#: Headers that differ between two identical requests: signatures, dates and invocation ids.
VOLATILE_HEADERS = {"authorization", "x-amz-date", "amz-sdk-invocation-id", "amz-sdk-request"}


def test_the_committed_data_is_what_make_aws_models_writes() -> None:
    expected = generate(botocore_data_dir())
    committed = {
        str(path.relative_to(DATA_DIR)): path.read_text(encoding="utf-8")
        for path in DATA_DIR.rglob("*")
        if path.is_file()
    }
    assert sorted(committed) == sorted(expected), "run make aws-models"
    for name, text in expected.items():
        assert committed[name] == text, f"{name} is out of date: run make aws-models"


def test_the_trimmed_models_hold_exactly_what_the_iam_policy_grants() -> None:
    granted: dict[str, set[str]] = {}
    actions = [
        *(f"codecommit:{operation}" for operation in CODECOMMIT_READS),
        *PULL_REQUEST_ACTIONS,
        *NOTIFIER_PIPELINE_ACTIONS,
        *NOTIFIER_BUILD_STATUS_ACTIONS,
        *REVIEW_QUEUE_ACTIONS,
        *ITEM_ACTIONS,
        "secretsmanager:GetSecretValue",
        "ssm:GetParameter",
    ]
    for action in actions:
        service, operation = action.split(":")
        granted.setdefault(service, set()).add(operation)
    assert {service: set(operations) for service, operations in OPERATIONS.items()} == granted
    for service, operations in OPERATIONS.items():
        (version_dir,) = (DATA_DIR / service).iterdir()
        model = json.loads((version_dir / "service-2.json").read_text(encoding="utf-8"))
        assert set(model["operations"]) == set(operations)


def test_the_trimmed_models_carry_botocores_extras(sessions: dict[str, Any]) -> None:
    """botocore merges "sdk-extras" into a model when it loads it; the trimmed files have them merged."""
    for service in OPERATIONS:
        theirs = sessions["botocore"].get_service_model(service).metadata
        ours = sessions["trimmed"].get_service_model(service).metadata
        assert ours == theirs, service


@pytest.fixture(scope="module")
def sessions() -> dict[str, Any]:
    return {"botocore": botocore.session.get_session(), "trimmed": trimmed_session()}


def sample(shape: Shape, depth: int = 0) -> Any:  # noqa: PLR0911 (one answer per shape type)
    """A value for ``shape`` that passes botocore's validation: every member, a few levels deep."""
    kind = shape.type_name
    if kind == "structure":
        if depth > 4:
            return {}
        return {name: sample(member, depth + 1) for name, member in shape.members.items()}
    if kind == "list":
        return [sample(shape.member, depth + 1)] if depth <= 4 else []
    if kind == "map":
        return {"key": sample(shape.value, depth + 1)} if depth <= 4 else {}
    if kind == "string":
        if shape.enum:
            return shape.enum[0]
        return "x" * max(1, int(shape.metadata.get("min", 1)))
    if kind in ("integer", "long"):
        return max(1, int(shape.metadata.get("min", 1)))
    if kind in ("double", "float"):
        return 1.5
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return 1_700_000_000
    if kind == "blob":
        return b"blob"
    raise AssertionError(f"no sample for {kind}")


def wire_sample(shape: Shape, depth: int = 0) -> Any:
    """What an AWS JSON-protocol answer would carry for :func:`sample`'s value (blobs base64,
    times epoch seconds), to the same depth."""
    kind = shape.type_name
    if kind == "structure":
        return (
            {}
            if depth > 4
            else {name: wire_sample(member, depth + 1) for name, member in shape.members.items()}
        )
    if kind == "list":
        return [wire_sample(shape.member, depth + 1)] if depth <= 4 else []
    if kind == "map":
        return {"key": wire_sample(shape.value, depth + 1)} if depth <= 4 else {}
    if kind == "blob":
        return "YmxvYg=="
    return sample(shape, depth)


def exchange(
    session: Any, service: str, region: str, operation: str, **options: Any
) -> tuple[dict[str, Any], Any]:
    """Make ``operation`` with a sample input; return the request as sent and the parsed answer,
    or the error's type and message when the client or the endpoint rules refuse."""
    try:
        return _exchange(session, service, region, operation, **options)
    except Exception as error:
        return {"error": type(error).__name__}, str(error)


def _exchange(
    session: Any, service: str, region: str, operation: str, **options: Any
) -> tuple[dict[str, Any], Any]:
    client = session.create_client(
        service, region_name=region, aws_access_key_id="test", aws_secret_access_key="test", **options
    )
    model = client.meta.service_model.operation_model(operation)
    sent: dict[str, Any] = {}
    answer = json.dumps(wire_sample(model.output_shape) if model.output_shape else {}).encode()

    def capture(request: Any, **_: Any) -> AWSResponse:
        sent.update(
            method=request.method,
            url=request.url,
            body=request.body,
            headers={k.lower(): v for k, v in request.headers.items() if k.lower() not in VOLATILE_HEADERS},
        )
        return AWSResponse(request.url, 200, {"content-type": "application/x-amz-json-1.1"}, _Raw(answer))

    client.meta.events.register("before-send", capture)
    method_names = {api: method for method, api in client.meta.method_to_api_mapping.items()}
    method = getattr(client, method_names[operation])
    parsed = method(**sample(model.input_shape))
    parsed.pop("ResponseMetadata", None)
    return sent, parsed


class _Raw:
    """The raw stream AWSResponse reads a canned body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _operations() -> list[tuple[str, str]]:
    return [(service, operation) for service, operations in OPERATIONS.items() for operation in operations]


@pytest.mark.parametrize(("service", "operation"), _operations())
def test_every_call_is_sent_and_parsed_exactly_as_with_botocores_own_data(
    sessions: dict[str, Any], service: str, operation: str
) -> None:
    for region in REGIONS:
        for variant, options in VARIANTS.items():
            ours = exchange(sessions["trimmed"], service, region, operation, **options)
            theirs = exchange(sessions["botocore"], service, region, operation, **options)
            assert ours == theirs, (service, operation, region, variant)
        default = exchange(sessions["trimmed"], service, region, operation)
        assert default[0]["url"].startswith("https://"), default


@pytest.mark.parametrize("service", CREDENTIAL_SERVICES)
def test_the_credential_services_send_as_with_botocores_own_data(
    sessions: dict[str, Any], service: str
) -> None:
    """The services botocore's credential providers call (their models are botocore's own; their
    endpoint entries are in the trimmed data), compared at send time, where the rules choose."""
    operation = sorted(sessions["botocore"].get_service_model(service).operation_names)[0]
    for region in REGIONS:
        for variant, options in VARIANTS.items():
            ours = exchange(sessions["trimmed"], service, region, operation, **options)
            theirs = exchange(sessions["botocore"], service, region, operation, **options)
            assert ours == theirs, (service, operation, region, variant)


def test_the_trimmed_endpoint_data_counts_as_botocores_own(tmp_path: Path) -> None:
    """Data that is not built in would be passed to the endpoint rules as a custom endpoint (the
    variants above show what that changes); any other directory on the path still is not."""
    loader = TrimmedDataLoader(str(tmp_path))
    _, path = loader.load_data_with_path("endpoints")
    assert Path(path).is_relative_to(DATA_DIR)
    assert loader.is_builtin_path(path)
    assert not loader.is_builtin_path(str(tmp_path / "endpoints.json"))


def test_our_clients_skip_the_service_scan_and_others_still_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scans: list[str] = []
    original = Loader.list_available_services

    def counted(self: Loader, type_name: str) -> Any:
        scans.append(type_name)
        return original(self, type_name)

    monkeypatch.setattr(Loader, "list_available_services", counted)
    session = trimmed_session()
    for service in OPERATIONS:
        client = session.create_client(service, region_name="eu-west-1")
        assert sorted(client.meta.service_model.operation_names) == sorted(OPERATIONS[service])
    assert scans == []
    for service in CREDENTIAL_SERVICES:  # from botocore's own data, found by the usual scan
        assert session.create_client(service, region_name="eu-west-1").meta.service_model.operation_names
    assert scans
    with pytest.raises(UnknownServiceError):
        session.create_client("no-such-service", region_name="eu-west-1")


def test_aws_data_path_still_comes_before_the_trimmed_data(tmp_path: Path) -> None:
    loader = TrimmedDataLoader(f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    assert loader.search_paths[:3] == [str(tmp_path / "a"), str(tmp_path / "b"), str(DATA_DIR)]
