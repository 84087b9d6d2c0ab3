"""Parse: real public payloads become the right Push, and poison is dropped with a reason."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.errors import UnprocessableEvent
from handler.model import RefAction, RefKind, parse_pusher
from handler.preview import as_lambda_event
from handler.render.links import ref_url
from handler.sources.trigger import (
    is_lookup_safe_commit_id,
    parse_event,
    parse_event_time,
    parse_repository_arn,
)
from tests.conftest import load_event

ROOT = Path(__file__).resolve().parent.parent


def sns_event(message: Any) -> dict[str, Any]:
    body = message if isinstance(message, str) else json.dumps(message)
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": body}}]}


def pushes(document: Any) -> list[Any]:
    return list(parse_event(as_lambda_event(document)))


def test_push_from_real_sns_envelope() -> None:
    [push] = pushes(load_event("dronescm_push.sns_envelope.json"))
    assert push.repository.name == "test"
    assert push.repository.region == "us-east-1"
    assert push.repository.account == "448640225317"
    assert push.repository.partition == "aws"
    assert push.trigger_name == "git"
    assert push.event_id == "bbbdc1b2-b407-4f14-8697-99f00f726056"
    assert push.event_time == datetime(2021, 2, 8, 8, 53, 15, 172000, tzinfo=UTC)
    [change] = push.ref_changes
    assert (change.kind, change.short_name, change.action) == (RefKind.BRANCH, "master", RefAction.UPDATED)
    assert change.commit_id == "404dc3fa9085aeff978d5b3ec81d7f0a6a560afe"
    assert push.pusher.display_name == "vault-okta-shubham.agrawal@harness.io-admin-1612770527-8086"
    assert not push.is_test


@pytest.mark.parametrize(
    ("fixture", "kind", "name", "action"),
    [
        ("dronescm_branch_create.sns_envelope.json", RefKind.BRANCH, "test", RefAction.CREATED),
        ("dronescm_branch_delete.sns_envelope.json", RefKind.BRANCH, "test", RefAction.DELETED),
        ("dronescm_tag_create.sns_envelope.json", RefKind.TAG, "v1.0", RefAction.CREATED),
        ("dronescm_tag_delete.sns_envelope.json", RefKind.TAG, "v1.0", RefAction.DELETED),
        ("thirdparty_vmware_branch_created_customData_null.json", RefKind.BRANCH, "Test", RefAction.CREATED),
        ("ribose_push_existing_branch.sns_envelope.json", RefKind.BRANCH, "master", RefAction.UPDATED),
        ("ribose_push_customData_empty_string.message.json", RefKind.BRANCH, "master", RefAction.UPDATED),
        ("awsdoc_lambda_devguide_push.json", RefKind.BRANCH, "master", RefAction.UPDATED),
    ],
)
def test_reference_kind_name_and_action(fixture: str, kind: RefKind, name: str, action: RefAction) -> None:
    [push] = pushes(load_event(fixture))
    [change] = push.ref_changes
    assert (change.kind, change.short_name, change.action) == (kind, name, action)


def test_deleted_ref_keeps_the_commit_it_pointed_at() -> None:
    [push] = pushes(load_event("dronescm_tag_delete.sns_envelope.json"))
    assert push.ref_changes[0].commit_id == "271ac08cc18df57fc185c47c8a23a01115e283e4"


def test_two_references_in_one_record_are_both_kept() -> None:
    [push] = pushes(load_event("awsdoc_userguide_two_references.corrected.json"))
    assert [(c.short_name, c.action) for c in push.ref_changes] == [
        ("NewBranch", RefAction.CREATED),
        ("preprod", RefAction.UPDATED),
    ]
    assert push.custom_data == "Project ID 12345"


def test_custom_data_null_and_empty_are_none() -> None:
    [with_null] = pushes(load_event("thirdparty_vmware_branch_created_customData_null.json"))
    [with_empty] = pushes(load_event("ribose_push_customData_empty_string.message.json"))
    assert with_null.custom_data is None
    assert with_empty.custom_data is None


def test_slash_names_are_kept_whole() -> None:
    message = load_event("ribose_push_customData_empty_string.message.json")
    message["Records"][0]["eventSourceARN"] = "arn:aws:codecommit:us-east-1:123456789012:repo"
    message["Records"][0]["codecommit"]["references"] = [
        {"commit": "a" * 40, "ref": "refs/heads/feature/login-v2"},
        {"commit": "b" * 40, "ref": "refs/heads/release/2026.11", "created": True},
        {"commit": "c" * 40, "ref": "refs/tags/releases/v1.0/final"},
        {"commit": "d" * 40, "ref": "refs/notes/commits"},
    ]
    [push] = list(parse_event(sns_event(message)))
    assert [(c.kind, c.short_name) for c in push.ref_changes] == [
        (RefKind.BRANCH, "feature/login-v2"),
        (RefKind.BRANCH, "release/2026.11"),
        (RefKind.TAG, "releases/v1.0/final"),
        (RefKind.OTHER, "refs/notes/commits"),
    ]


def test_test_trigger_with_a_reference_is_marked_as_test() -> None:
    [push] = pushes(load_event("thirdparty_TriggerEventTest_console_capture.json"))
    assert push.is_test
    assert push.ref_changes[0].short_name == "ryan_test"
    assert push.repository.name == "cwt.bps.awstest"


def test_test_trigger_without_references_is_dropped_with_reason(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    assert pushes(load_event("awslambdago_TriggerEventTest_record.json")) == []
    assert "console Test trigger with no usable references for my-repo" in caplog.text


def test_zero_commit_id_means_no_commit() -> None:
    message = load_event("ribose_push_customData_empty_string.message.json")
    message["Records"][0]["eventSourceARN"] = "arn:aws:codecommit:us-east-1:123456789012:repo"
    message["Records"][0]["codecommit"]["references"][0]["commit"] = "0" * 40
    [push] = list(parse_event(sns_event(message)))
    assert push.ref_changes[0].commit_id is None


def test_direct_lambda_trigger_event_is_accepted() -> None:
    [push] = list(parse_event(load_event("awsdoc_lambda_devguide_push.json")))
    assert push.repository.name == "lambda-pipeline-repo"
    assert push.pusher.display_name == "intern"


@pytest.mark.parametrize(
    ("arn", "name", "kind", "role"),
    [
        ("arn:aws:iam::123456789012:user/alice", "alice", "user", None),
        ("arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/alice", "alice", "user", None),
        (
            "arn:aws:sts::123456789012:assumed-role/DeveloperRole/alice@example.com",
            "alice@example.com",
            "assumed-role",
            "DeveloperRole",
        ),
        (
            "arn:aws:sts::123456789012:assumed-role/path/to/Role/session-1",
            "session-1",
            "assumed-role",
            "Role",
        ),
        ("arn:aws:iam::123456789012:root", "root (account 123456789012)", "root", None),
        ("arn:aws:sts::123456789012:federated-user/bob", "bob", "federated-user", None),
        ("arn:aws-us-gov:iam::123456789012:user/gov", "gov", "user", None),
        ("", "unknown user", "unknown", None),
        ("not-an-arn", "not-an-arn", "unknown", None),
    ],
)
def test_pusher_as_a_person_would_say_it(arn: str, name: str, kind: str, role: str | None) -> None:
    pusher = parse_pusher(arn)
    assert (pusher.display_name, pusher.identity_kind, pusher.role_name) == (name, kind, role)


def test_assumed_role_label_names_the_role() -> None:
    pusher = parse_pusher("arn:aws:sts::1:assumed-role/DeveloperRole/alice@example.com")
    assert pusher.label == "alice@example.com (role DeveloperRole)"


def test_partition_and_region_come_from_the_arn() -> None:
    repository = parse_repository_arn("arn:aws-cn:codecommit:cn-north-1:123456789012:repo.name-1")
    assert (repository.partition, repository.region, repository.name) == (
        "aws-cn",
        "cn-north-1",
        "repo.name-1",
    )


POISON: list[tuple[str, Any, str]] = [
    ("not a dict", "hello", "no 'Records' list"),
    ("no records", {"foo": 1}, "no 'Records' list"),
    ("empty records", {"Records": []}, "'Records' list is empty"),
    ("not JSON", sns_event("this is {not json"), "'Message' is not JSON"),
    ("JSON but not a trigger", sns_event({"hello": "world"}), "not a CodeCommit trigger message"),
    ("foreign source", sns_event({"Records": [{"eventSource": "aws:s3"}]}), "eventSource is 'aws:s3'"),
    ("S3 direct", {"Records": [{"eventSource": "aws:s3", "s3": {}}]}, "not from SNS or CodeCommit"),
    (
        "bad ARN",
        sns_event(
            {
                "Records": [
                    {
                        "eventSource": "aws:codecommit",
                        "eventSourceARN": "arn:aws:s3:::b",
                        "codecommit": {"references": []},
                    }
                ]
            }
        ),
        "not a CodeCommit repository ARN",
    ),
    (
        "references not a list",
        sns_event(
            {
                "Records": [
                    {
                        "eventSource": "aws:codecommit",
                        "eventSourceARN": "arn:aws:codecommit:us-east-1:1:r",
                        "codecommit": {"references": "refs/heads/main"},
                    }
                ]
            }
        ),
        "references should be list",
    ),
    (
        "ref not a string",
        sns_event(
            {
                "Records": [
                    {
                        "eventSource": "aws:codecommit",
                        "eventSourceARN": "arn:aws:codecommit:us-east-1:1:r",
                        "codecommit": {"references": [{"ref": 7, "commit": "abc"}]},
                    }
                ]
            }
        ),
        "ref should be str",
    ),
    ("no Message", {"Records": [{"EventSource": "aws:sns", "Sns": {}}]}, "has no 'Message' string"),
    (
        "integer too long to convert",
        {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "1" * 4301}}]},
        "can't be read as a trigger message (Exceeds the limit",
    ),
]


@pytest.mark.parametrize(("label", "event", "reason"), POISON, ids=[p[0] for p in POISON])
def test_poison_is_dropped_with_a_clear_reason(
    label: str, event: Any, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    assert list(parse_event(event)) == []
    assert reason in caplog.text, caplog.text
    assert "dropped" in caplog.text


def test_one_bad_reference_does_not_drop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    message = load_event("awsdoc_userguide_two_references.corrected.json")
    message["Records"][0]["codecommit"]["references"].insert(0, {"ref": ["not", "a", "string"]})
    [push] = list(parse_event(sns_event(message)))
    assert [change.short_name for change in push.ref_changes] == ["NewBranch", "preprod"]
    assert "dropped a reference of Records[0].Sns.Message.Records[0]" in caplog.text
    assert "ref should be str, got list" in caplog.text


def test_one_bad_record_does_not_drop_its_neighbour() -> None:
    good = load_event("awsdoc_lambda_devguide_push.json")["Records"][0]
    event = {
        "Records": [
            {"EventSource": "aws:sns", "Sns": {"Message": "garbage"}},
            {"EventSource": "aws:sns", "Sns": {"Message": json.dumps({"Records": [good]})}},
        ]
    }
    assert [push.repository.name for push in parse_event(event)] == ["lambda-pipeline-repo"]


# --- every field made safe at parse time ---------------------------------------------------------


def record(ref: str, **overrides: Any) -> dict[str, Any]:
    return {
        "eventSource": "aws:codecommit",
        "eventName": "ReferenceChanges",
        "eventSourceARN": "arn:aws:codecommit:us-east-1:123456789012:payments",
        "userIdentityARN": "arn:aws:iam::123456789012:user/ana",
        "eventTime": "2026-11-20T10:00:00.000+0000",
        "eventId": "e1",
        "eventTriggerName": "t",
        "codecommit": {"references": [{"ref": ref, "commit": "a" * 40}]},
        **overrides,
    }


def strings_in(value: Any) -> list[str]:
    """Every str reachable from a Push's fields."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (tuple, list)):
        return [s for item in value for s in strings_in(item)]
    if hasattr(value, "__dataclass_fields__"):
        return [s for name in value.__dataclass_fields__ for s in strings_in(getattr(value, name))]
    return []


def test_a_lone_surrogate_in_a_ref_does_not_sink_the_good_push_beside_it() -> None:
    event = sns_event({"Records": [record("refs/heads/bad\ud800name"), record("refs/heads/main")]})
    bad, good = list(parse_event(event))
    assert bad.ref_changes[0].short_name == "bad\ufffdname"
    assert good.ref_changes[0].short_name == "main"
    for push in (bad, good):
        change = push.ref_changes[0]
        assert ref_url(push.repository, change.full_name) is not None  # used to raise UnicodeEncodeError
        json.dumps(strings_in(push), ensure_ascii=False).encode("utf-8")


HOSTILE_TEXT = st.text(alphabet=st.characters(codec=None), max_size=40).map(lambda text: text + "\ud800\x1b")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ref=HOSTILE_TEXT,
    user=HOSTILE_TEXT,
    trigger=HOSTILE_TEXT,
    custom=HOSTILE_TEXT,
    event_id=HOSTILE_TEXT,
    commit=HOSTILE_TEXT,
)
def test_every_string_field_is_safe_after_parsing(
    ref: str, user: str, trigger: str, custom: str, event_id: str, commit: str
) -> None:
    raw = record(
        "refs/heads/" + ref,
        userIdentityARN="arn:aws:sts::1:assumed-role/R/" + user,
        eventTriggerName=trigger,
        customData=custom,
        eventId=event_id,
        codecommit={"references": [{"ref": "refs/heads/" + ref, "commit": commit}]},
    )
    for push in parse_event({"Records": [raw]}):
        for text in strings_in(push):
            text.encode("utf-8")  # no lone surrogates
            assert not UNSAFE.search(text), repr(text)


UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# --- shapes are checked against the whole value ----------------------------------------------------


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:codecommit:us-east-1\n:123456789012:payments",
        "arn:aws\n:codecommit:us-east-1:123456789012:payments",
        "arn:aws:codecommit:us-east-1:123456789012:payments\n",
        "arn:aws:codecommit:us-east-\u0661:123456789012:payments",  # an Arabic-Indic digit
        "arn:aws:codecommit:us-east-1:123456789012:..",
        "arn:aws:codecommit:us-east-1:123456789012:.",
    ],
)
def test_only_a_whole_valid_arn_is_a_repository(arn: str) -> None:
    with pytest.raises(UnprocessableEvent):
        parse_repository_arn(arn)


def test_a_commit_id_with_a_trailing_newline_is_not_looked_up() -> None:
    assert not is_lookup_safe_commit_id("a" * 40 + "\n")
    assert is_lookup_safe_commit_id("a" * 40)


SOURCE_DIRS = [ROOT / "handler", ROOT / "cdk", ROOT / "app.py"]


def test_no_check_of_outside_input_matches_only_a_prefix() -> None:
    """Every regex check is a fullmatch: `re.match` and `$` let a trailing newline through."""
    offenders = []
    for path in [p for d in SOURCE_DIRS for p in ([d] if d.is_file() else sorted(d.rglob("*.py")))]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\.match\(|re\.compile\(r?[\"']\^|\$[\"']\)", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_a_message_that_json_refuses_with_a_plain_value_error_is_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An integer past Python's digit limit makes json.loads raise ValueError, not JSONDecodeError."""
    assert list(parse_event(sns_event("1" * 4301))) == []
    assert "can't be read as a trigger message" in caplog.text


MINUS_0530 = timezone(-timedelta(hours=5, minutes=30))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-02-08T08:53:15.172+0000", datetime(2021, 2, 8, 8, 53, 15, 172000, tzinfo=UTC)),
        ("2021-02-08T08:53:15+0000", datetime(2021, 2, 8, 8, 53, 15, tzinfo=UTC)),
        ("2021-02-08T08:53:15.5-05:30", datetime(2021, 2, 8, 8, 53, 15, 500000, tzinfo=MINUS_0530)),
        ("2021-02-08T08:53:15Z", datetime(2021, 2, 8, 8, 53, 15, tzinfo=UTC)),
        ("2021-02-08T08:53:15", None),  # no offset: the trigger always sends one
        ("2021-02-08", None),
        ("2021-02-30T08:53:15+0000", None),  # no such day
        ("2021-02-08T08:53:15.1234567+0000", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_event_time_is_read_only_in_the_trigger_shape(text: str, expected: datetime | None) -> None:
    assert parse_event_time(text) == expected


#: Messages json.loads refuses, one per kind of refusal; some of its reasons end in "at" (issue 17, item 11).
NOT_JSON_MESSAGES = ['"unterminated', "{", "[1,", '{"a" 1}', "{'a': 1}", "nul", "1 2", '"\\x"', '"\t"']


@pytest.mark.parametrize("message", NOT_JSON_MESSAGES)
def test_a_message_that_is_not_json_is_dropped_with_a_reason_that_reads_once(
    message: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    assert list(parse_event(sns_event(message))) == []
    reason = caplog.text.split("'Message' is not JSON (")[1].split(")")[0]
    assert not re.search(r"\b(\w+) \1\b", reason), reason  # "starting at at position 0"
    assert re.fullmatch(r"[A-Z][^()]*, at character \d+", reason), reason
