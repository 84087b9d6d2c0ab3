"""``repositories: "*"``: the trigger manager on every repository (botocore Stubber), and the stack.

The synchronous manager (``index.handler``, which still answers the delete of the every-repository
resource earlier versions created) lists repositories page by page, puts our trigger on each beside
the triggers that are already there, removes only ours on delete, and puts it on a repository
created later when EventBridge hands it CloudTrail's CreateRepository event. The stack puts our
trigger everywhere through the asynchronous resource (tests/test_every_repository.py), grants
``ListRepositories`` (the one action on ``*`` besides the waiter's log delivery), scopes everything
else to this account and region's repositories, and matches pull-request events of any repository.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk.assertions import Match, Template
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from cdk.all_repository_triggers import RESOURCE_TYPE as EVERY_REPOSITORY_TYPE
from cdk.all_repository_triggers import SERVICE_TIMEOUT, TOTAL_TIMEOUT
from cdk.config import NotifierConfig, StackConfigError
from cdk.trigger_manager import all_repositories, index
from cdk.triggers import (
    LEGACY_ALL_REPOSITORIES_RESOURCE_TYPE,
    all_repositories_trigger_name,
    legacy_all_repositories_trigger_name,
    trigger_name_for,
)
from tests import test_every_repository
from tests import test_trigger_manager as manager_tests
from tests.conftest import codecommit_client
from tests.standins.codecommit import running
from tests.test_every_repository import run_provider
from tests.test_stack import CDK_CONTEXT, cfn_lint, statements, synth
from tests.test_trigger_manager import OTHERS, TOPIC, Context

cloudformation = manager_tests.cloudformation  # the loopback stand-in for CloudFormation's response URL
progress_store = test_every_repository.progress_store  # the progress parameter, in moto's SSM

OURS = "slack-notifier-all-s"
TRIGGER = {"name": OURS, "destinationArn": TOPIC, "customData": "", "branches": [], "events": ["all"]}


def client() -> Any:
    return boto3.client(
        "codecommit", region_name="us-east-2", aws_access_key_id="test", aws_secret_access_key="test"
    )


def listed(*names: str, token: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {
        "repositories": [{"repositoryName": name, "repositoryId": f"id-{name}"} for name in names]
    }
    if token:
        page["nextToken"] = token
    return page


def all_event(cloudformation: list[dict[str, Any]], request_type: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": cloudformation[0]["url"],
        "StackId": "arn:aws:cloudformation:us-east-2:111122223333:stack/s/1",
        "RequestId": f"request-{len(cloudformation)}",
        "LogicalResourceId": "TriggerAllRepositories",
        "ResourceProperties": {
            "RepositoryName": "*",
            "TriggerName": OURS,
            "DestinationArn": TOPIC,
            "Branches": [],
            "Events": ["all"],
            "CustomData": "",
        },
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = f"*/{OURS}"
    return event


def test_create_lists_every_page_and_adds_ours_beside_theirs(cloudformation: list[dict[str, Any]]) -> None:
    codecommit = client()
    with Stubber(codecommit) as stub:
        stub.add_response("list_repositories", listed("alpha", token="page-2"), {})
        stub.add_response("list_repositories", listed("beta"), {"nextToken": "page-2"})
        stub.add_response("get_repository_triggers", {"triggers": OTHERS}, {"repositoryName": "alpha"})
        stub.add_response(
            "put_repository_triggers", {}, {"repositoryName": "alpha", "triggers": [*OTHERS, TRIGGER]}
        )
        stub.add_response("get_repository_triggers", {"triggers": []}, {"repositoryName": "beta"})
        stub.add_response("put_repository_triggers", {}, {"repositoryName": "beta", "triggers": [TRIGGER]})
        index.handler(all_event(cloudformation, "Create"), Context(60_000), client=codecommit)
        stub.assert_no_pending_responses()
    assert cloudformation[-1]["Status"] == "SUCCESS", cloudformation[-1]["Reason"]
    assert cloudformation[-1]["PhysicalResourceId"] == f"*/{OURS}"


def test_delete_removes_only_ours_everywhere_and_skips_vanished_repositories(
    cloudformation: list[dict[str, Any]],
) -> None:
    codecommit = client()
    with Stubber(codecommit) as stub:
        stub.add_response("list_repositories", listed("alpha", "gone", "untouched"), {})
        stub.add_response(
            "get_repository_triggers", {"triggers": [OTHERS[0], TRIGGER]}, {"repositoryName": "alpha"}
        )
        stub.add_response("put_repository_triggers", {}, {"repositoryName": "alpha", "triggers": [OTHERS[0]]})
        stub.add_client_error(
            "get_repository_triggers",
            "RepositoryDoesNotExistException",
            expected_params={"repositoryName": "gone"},
        )
        # Ours was never there (created before the rule, or its trigger removed by hand): no write.
        stub.add_response("get_repository_triggers", {"triggers": OTHERS}, {"repositoryName": "untouched"})
        index.handler(all_event(cloudformation, "Delete"), Context(60_000), client=codecommit)
        stub.assert_no_pending_responses()
    assert cloudformation[-1]["Status"] == "SUCCESS", cloudformation[-1]["Reason"]


def test_a_full_repository_fails_the_resource_by_name_after_the_others_are_done(
    cloudformation: list[dict[str, Any]],
) -> None:
    codecommit = client()
    full = [dict(OTHERS[0], name=f"team-{n}") for n in range(10)]
    with Stubber(codecommit) as stub:
        stub.add_response("list_repositories", listed("crowded", "beta"), {})
        stub.add_response("get_repository_triggers", {"triggers": full}, {"repositoryName": "crowded"})
        stub.add_client_error(
            "put_repository_triggers",
            "MaximumRepositoryTriggersExceededException",
            expected_params={"repositoryName": "crowded", "triggers": [*full, TRIGGER]},
        )
        stub.add_response("get_repository_triggers", {"triggers": []}, {"repositoryName": "beta"})
        stub.add_response("put_repository_triggers", {}, {"repositoryName": "beta", "triggers": [TRIGGER]})
        index.handler(all_event(cloudformation, "Create"), Context(60_000), client=codecommit)
        stub.assert_no_pending_responses()
    answer = cloudformation[-1]
    assert answer["Status"] == "FAILED"
    assert "1 of 2 repositories: crowded (MaximumRepositoryTriggersExceededException)" in answer["Reason"]


def created(name: str, **detail: Any) -> dict[str, Any]:
    """EventBridge's copy of CloudTrail's record of a CreateRepository call."""
    return {
        "version": "0",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.codecommit",
        "account": "111122223333",
        "region": "us-east-2",
        "detail": {
            "eventSource": "codecommit.amazonaws.com",
            "eventName": "CreateRepository",
            "requestParameters": {"repositoryName": name},
            "responseElements": {"repositoryMetadata": {"repositoryName": name, "repositoryId": "id"}},
            **detail,
        },
    }


ENVIRON = {"TRIGGER_NAME": OURS, "DESTINATION_ARN": TOPIC, "BRANCHES": '["main"]'}


def test_a_repository_created_later_gets_our_trigger(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, value in ENVIRON.items():
        monkeypatch.setenv(variable, value)
    codecommit = client()
    with Stubber(codecommit) as stub:
        stub.add_response("get_repository_triggers", {"triggers": []}, {"repositoryName": "fresh"})
        stub.add_response(
            "put_repository_triggers",
            {},
            {"repositoryName": "fresh", "triggers": [dict(TRIGGER, branches=["main"])]},
        )
        index.handler(created("fresh"), Context(60_000), client=codecommit)
        stub.assert_no_pending_responses()


def test_a_refused_create_repository_call_is_ignored() -> None:
    codecommit = client()
    with Stubber(codecommit) as stub:  # no response queued: any call would fail the test
        index.attach_to_new_repository(
            created("taken", errorCode="RepositoryNameExistsException"), codecommit
        )
        index.attach_to_new_repository(
            {**created("x"), "detail": {"eventName": "DeleteRepository"}}, codecommit
        )
        stub.assert_no_pending_responses()


def test_a_failure_on_a_new_repository_is_raised_for_lambda_to_retry() -> None:
    codecommit = client()
    with Stubber(codecommit) as stub:
        stub.add_client_error("get_repository_triggers", "EncryptionKeyAccessDeniedException")
        with pytest.raises(ClientError, match="EncryptionKeyAccessDeniedException"):
            index.attach_to_new_repository(created("fresh"), codecommit, ENVIRON)


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["*", ["*"], '["*"]'])
def test_star_means_every_repository(value: Any) -> None:
    config = NotifierConfig.from_context({**CDK_CONTEXT, "repositories": value}.get)
    assert config.watch_all and config.repositories == ()


def test_star_beside_names_is_refused() -> None:
    with pytest.raises(
        StackConfigError, match=r'repositories: "\*" watches every repository; write it alone'
    ):
        NotifierConfig.from_context({**CDK_CONTEXT, "repositories": ["*", "payments"]}.get)


def test_the_all_repositories_trigger_has_its_own_name() -> None:
    """Distinct from the listed repositories' and from the synchronous resource's of earlier versions,
    whose delete an upgrade runs after the asynchronous resource has put its own."""
    names = {
        all_repositories_trigger_name("slack-notifier", "S"),
        trigger_name_for("slack-notifier", "S"),
        legacy_all_repositories_trigger_name("slack-notifier", "S"),
    }
    assert names == {"slack-notifier-every-S", "slack-notifier-S", "slack-notifier-all-S"}


# --- the stack --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def watch_all(tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, Path]:
    """Every repository, plus one the stack creates (synthesized with cdk-nag on)."""
    return synth(tmp_path_factory, repositories="*", create_repository="new-service", branches=["main"])


CODECOMMIT_ANY = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":codecommit:",
            {"Ref": "AWS::Region"},
            ":",
            {"Ref": "AWS::AccountId"},
            ":*",
        ],
    ]
}


@pytest.mark.slow
def test_one_resource_puts_our_trigger_on_every_repository(watch_all: tuple[Template, Path]) -> None:
    template = watch_all[0]
    template.resource_count_is("Custom::CodeCommitRepositoryTrigger", 0)
    template.resource_count_is(LEGACY_ALL_REPOSITORIES_RESOURCE_TYPE, 0)
    template.resource_count_is(EVERY_REPOSITORY_TYPE, 1)
    [resource] = template.find_resources(EVERY_REPOSITORY_TYPE).values()
    assert resource["Properties"]["RepositoryName"] == "*"
    assert resource["Properties"]["TriggerName"] == "slack-notifier-every-CodeCommitSlackNotifier"
    assert resource["Properties"]["Branches"] == ["main"]
    repository_id = next(iter(template.find_resources("AWS::CodeCommit::Repository")))
    assert repository_id in resource["DependsOn"]  # listed only once it exists


@pytest.mark.slow
def test_the_every_repository_resource_is_asynchronous(watch_all: tuple[Template, Path]) -> None:
    """Issue 17 item 6: served by the Provider framework, polled until done, within an hour."""
    template = watch_all[0]
    [resource] = template.find_resources(EVERY_REPOSITORY_TYPE).values()
    assert resource["Properties"]["ServiceTimeout"] == str(int(SERVICE_TIMEOUT.to_seconds()))
    [token] = resource["Properties"]["ServiceToken"]["Fn::GetAtt"][:1]
    framework = template.find_resources("AWS::Lambda::Function")[token]
    assert framework["Properties"]["Handler"] == "framework.onEvent"
    handlers = {
        f["Properties"]["Handler"]: f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
    }
    assert handlers["all_repositories.on_event"]["Timeout"] == 60
    assert handlers["all_repositories.is_complete"]["Timeout"] == 300
    progress = handlers["all_repositories.is_complete"]["Environment"]["Variables"]["PROGRESS_PARAMETER"]
    [parameter_id] = template.find_resources("AWS::SSM::Parameter")
    assert progress == {"Ref": parameter_id}
    [machine] = template.find_resources("AWS::StepFunctions::StateMachine").values()
    definition = json.dumps(machine["Properties"]["DefinitionString"])
    interval = 15
    assert f'\\"IntervalSeconds\\":{interval}' in definition
    assert f'\\"MaxAttempts\\":{int(TOTAL_TIMEOUT.to_seconds()) // interval}' in definition
    assert TOTAL_TIMEOUT.to_seconds() < SERVICE_TIMEOUT.to_seconds() <= 3600
    assert machine["Properties"]["LoggingConfiguration"]["Level"] == "ALL"
    [destination] = machine["Properties"]["LoggingConfiguration"]["Destinations"]
    waiter_logs = template.find_resources("AWS::Logs::LogGroup")[
        destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    ]
    assert waiter_logs["Properties"]["LogGroupName"].startswith("/aws/vendedlogs/states/")
    assert template.find_outputs("RepositoriesWithoutTrigger")["RepositoriesWithoutTrigger"]["Value"] == {
        "Fn::GetAtt": [next(iter(template.find_resources(EVERY_REPOSITORY_TYPE))), "Refused"]
    }


@pytest.mark.slow
def test_a_created_repositorys_failed_event_waits_in_a_queue_that_raises_an_alarm(
    watch_all: tuple[Template, Path],
) -> None:
    """Issue 17 item 6: the CreateRepository rule's target has a dead-letter queue and an alarm on it;
    a failure inside the function (after Lambda's retries) lands in the same queue."""
    template = watch_all[0]
    [rule] = [
        r["Properties"]
        for r in template.find_resources("AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"].get("detail-type") == ["AWS API Call via CloudTrail"]
    ]
    [target] = rule["Targets"]
    queue_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert queue_id.startswith("ExistingRepositoryTriggersNewRepositoryDeadLetterQueue")
    queue = template.find_resources("AWS::SQS::Queue")[queue_id]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    policy = json.dumps(template.find_resources("AWS::SQS::QueuePolicy"))
    assert "events.amazonaws.com" in policy and queue_id in policy
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": Match.string_like_regexp("ExistingRepositoryTriggersFunction")},
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}},
        },
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Namespace": "AWS/SQS",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}],
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
        },
    )


@pytest.mark.slow
def test_listing_is_the_only_grant_on_star(watch_all: tuple[Template, Path]) -> None:
    template = watch_all[0]
    for role in ("ExistingRepositoryTriggersRole", "ExistingRepositoryTriggersEveryRole"):
        manager = {s.get("Sid"): s for s in statements(template, role)}
        assert manager["ListRepositories"] == {
            "Sid": "ListRepositories",
            "Effect": "Allow",
            "Action": "codecommit:ListRepositories",
            "Resource": "*",
        }
        assert manager["ManageTriggers"]["Resource"] == CODECOMMIT_ANY
    every = {s.get("Sid"): s for s in statements(template, "ExistingRepositoryTriggersEveryRole")}
    [parameter_id] = template.find_resources("AWS::SSM::Parameter")
    assert every["KeepProgress"]["Action"] == ["ssm:GetParameter", "ssm:PutParameter"]
    assert parameter_id in json.dumps(every["KeepProgress"]["Resource"])
    notifier = {s.get("Sid"): s for s in statements(template, "NotifierRole")}
    assert notifier["ReadWatchedRepositories"]["Resource"] == CODECOMMIT_ANY
    assert notifier["ReadPullRequests"]["Resource"] == CODECOMMIT_ANY
    for logical_id, policy in template.find_resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Resource"] != "*":
                continue
            if logical_id.startswith("ExistingRepositoryTriggersEveryProviderwaiterstatemachineRole"):
                # CloudWatch Logs' log-delivery actions have no resource-level permissions.
                assert all(action.startswith("logs:") for action in statement["Action"]), statement
            else:
                assert statement["Action"] == "codecommit:ListRepositories", (logical_id, statement)


@pytest.mark.slow
def test_named_repositories_do_not_watch_new_ones(tmp_path_factory: pytest.TempPathFactory) -> None:
    template, path = synth(tmp_path_factory)
    assert "CreateRepository" not in path.read_text()
    # Listing stays granted: a switch back from "*" deletes the all-repositories resource under
    # this template's policy (test_switching_modes_keeps_exactly_one_trigger_of_ours).
    by_sid = {s["Sid"]: s for s in statements(template, "ExistingRepositoryTriggersRole")}
    assert by_sid["ListRepositories"]["Resource"] == "*"
    template.resource_count_is(EVERY_REPOSITORY_TYPE, 0)
    template.resource_count_is("AWS::StepFunctions::StateMachine", 0)
    manager = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": "index.handler"}})
    assert all("Environment" not in function["Properties"] for function in manager.values())


@pytest.mark.slow
def test_repositories_created_later_reach_the_manager(watch_all: tuple[Template, Path]) -> None:
    template = watch_all[0]
    rule = template.find_resources(
        "AWS::Events::Rule",
        {"Properties": {"EventPattern": {"detail-type": ["AWS API Call via CloudTrail"]}}},
    )
    [properties] = [resource["Properties"] for resource in rule.values()]
    assert properties["EventPattern"] == {
        "source": ["aws.codecommit"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventSource": ["codecommit.amazonaws.com"], "eventName": ["CreateRepository"]},
    }
    [target] = properties["Targets"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("ExistingRepositoryTriggersFunction")
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "index.handler",
            "Environment": {
                "Variables": {
                    "TRIGGER_NAME": "slack-notifier-every-CodeCommitSlackNotifier",
                    "DESTINATION_ARN": {"Ref": Match.string_like_regexp("NotificationsTopic")},
                    "BRANCHES": '["main"]',
                }
            },
        },
    )


@pytest.mark.slow
def test_pull_request_rule_and_topic_accept_every_repository(watch_all: tuple[Template, Path]) -> None:
    template = watch_all[0]
    rules = template.find_resources(
        "AWS::Events::Rule", {"Properties": {"EventPattern": {"source": ["aws.codecommit"]}}}
    )
    [pull_requests] = [
        r["Properties"]["EventPattern"]
        for r in rules.values()
        if "CodeCommit Pull Request State Change" in r["Properties"]["EventPattern"]["detail-type"]
    ]
    assert "resources" not in pull_requests
    policy = next(iter(template.find_resources("AWS::SNS::TopicPolicy").values()))
    [publish] = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "AllowWatchedRepositoriesToPublish"
    ]
    assert publish["Condition"]["ArnLike"]["aws:SourceArn"] == [CODECOMMIT_ANY]
    assert publish["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


@pytest.mark.slow
def test_cfn_lint_is_clean_when_watching_every_repository(watch_all: tuple[Template, Path]) -> None:
    result = cfn_lint(watch_all[1])
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(watch_all[1].read_text())["Resources"]


# --- switching a deployed stack between a list and "*", as CloudFormation runs it -------------


class ListingClient(manager_tests.PolicyEnforcingClient):
    """The policy-enforcing client of tests/test_trigger_manager.py, which may also list."""

    def list_repositories(self, **kwargs: Any) -> Any:
        self._check("codecommit:ListRepositories", "")
        return self._client.list_repositories(**kwargs)


def resource_events(
    cloudformation: list[dict[str, Any]], template: dict[str, Any], request_type: str
) -> list[dict[str, Any]]:
    """One CloudFormation request per trigger resource of ``template`` (the topic made concrete)."""
    requests = []
    for resource in template["Resources"].values():
        if resource["Type"] in ("Custom::CodeCommitRepositoryTrigger", EVERY_REPOSITORY_TYPE):
            properties = {**resource["Properties"], "DestinationArn": TOPIC}
            properties.pop("ServiceToken")
            request = {
                **manager_tests.cfn_event(cloudformation, request_type),
                "ResourceType": resource["Type"],
                "ResourceProperties": properties,
            }
            request["PhysicalResourceId"] = f"{properties['RepositoryName']}/{properties['TriggerName']}"
            requests.append(request)
    return requests


def serve(
    request: dict[str, Any],
    template: dict[str, Any],
    policy: dict[str, Any],
    real: Any,
    store: all_repositories.ProgressStore,
    cloudformation: list[dict[str, Any]],
) -> None:
    """Serve ``request`` as the stack does: the Provider framework for every repository (under its
    own role, which lives and goes with that resource: ``template``'s), the function for one."""
    if request["ResourceType"] == EVERY_REPOSITORY_TYPE:
        client = ListingClient(template, real, role="ExistingRepositoryTriggersEveryRole")
        run_provider(
            request["RequestType"],
            client,
            store,
            properties=request["ResourceProperties"],
            physical_id=request["PhysicalResourceId"] if request["RequestType"] != "Create" else None,
        )
        return
    index.handler(request, Context(60_000), client=ListingClient(policy, real))
    assert cloudformation[-1]["Status"] == "SUCCESS", cloudformation[-1]["Reason"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("before", "after"), [("alpha,beta", "*"), ("*", "alpha,beta")], ids=["to-all", "to-list"]
)
def test_switching_modes_keeps_exactly_one_trigger_of_ours(
    cloudformation: list[dict[str, Any]],
    progress_store: all_repositories.ProgressStore,
    tmp_path: Path,
    before: str,
    after: str,
) -> None:
    """CloudFormation creates the new resources, then deletes the old ones with the new policy in force."""
    old, new = manager_tests.synthesize(tmp_path, before), manager_tests.synthesize(tmp_path, after)
    with running({"alpha": tmp_path, "beta": tmp_path, "gamma": tmp_path}) as stand_in:
        stand_in.page_size = 2  # the manager must follow nextToken to reach gamma
        for name in stand_in.repositories:
            stand_in.triggers[name] = [dict(trigger) for trigger in OTHERS]
        real = codecommit_client(stand_in.url)
        for request_type, template, policy in (
            ("Create", old, old),
            ("Create", new, new),
            ("Delete", old, new),
        ):
            for request in resource_events(cloudformation, template, request_type):
                serve(request, template, policy, real, progress_store, cloudformation)
        ours = {
            name: [t["name"] for t in stand_in.triggers[name][len(OTHERS) :]]
            for name in stand_in.repositories
        }
        for name, triggers in stand_in.triggers.items():
            assert triggers[: len(OTHERS)] == OTHERS, name
        if after == "*":
            assert ours == {
                name: ["slack-notifier-every-CodeCommitSlackNotifier"] for name in ("alpha", "beta", "gamma")
            }
        else:
            assert ours == {
                "alpha": ["slack-notifier-CodeCommitSlackNotifier"],
                "beta": ["slack-notifier-CodeCommitSlackNotifier"],
                "gamma": [],
            }
        for request in resource_events(cloudformation, new, "Delete"):  # and then the stack is destroyed
            serve(request, new, new, real, progress_store, cloudformation)
        assert all(triggers == OTHERS for triggers in stand_in.triggers.values())


@pytest.mark.slow
def test_an_upgrade_from_the_synchronous_resource_keeps_exactly_one_trigger_of_ours(
    cloudformation: list[dict[str, Any]],
    progress_store: all_repositories.ProgressStore,
    watch_all: tuple[Template, Path],
    tmp_path: Path,
) -> None:
    """CloudFormation cannot change a custom resource's service token, so an upgrade creates the
    asynchronous resource (a new logical id), then deletes the synchronous one earlier versions
    created, through the function that still serves it. Their trigger names differ, so that delete
    leaves the new trigger in place."""
    template = dict(watch_all[0].to_json())
    legacy_name = legacy_all_repositories_trigger_name("slack-notifier", "CodeCommitSlackNotifier")
    legacy = {
        **manager_tests.cfn_event(cloudformation, "Create"),
        "ResourceType": LEGACY_ALL_REPOSITORIES_RESOURCE_TYPE,
        "ResourceProperties": {
            "RepositoryName": "*",
            "TriggerName": legacy_name,
            "DestinationArn": TOPIC,
            "Branches": ["main"],
            "Events": ["all"],
            "CustomData": "",
        },
    }
    with running({"alpha": tmp_path, "beta": tmp_path}) as stand_in:
        for name in stand_in.repositories:
            stand_in.triggers[name] = [dict(trigger) for trigger in OTHERS]
        real = codecommit_client(stand_in.url)
        index.handler(legacy, Context(60_000), client=ListingClient(template, real))  # the old version
        for request in resource_events(cloudformation, template, "Create"):  # the upgrade
            serve(request, template, template, real, progress_store, cloudformation)
        delete = {**legacy, "RequestType": "Delete", "PhysicalResourceId": f"*/{legacy_name}"}
        index.handler(delete, Context(60_000), client=ListingClient(template, real))  # its cleanup
        assert cloudformation[-1]["Status"] == "SUCCESS", cloudformation[-1]["Reason"]
        for triggers in stand_in.triggers.values():
            assert triggers[: len(OTHERS)] == OTHERS
            assert [t["name"] for t in triggers[len(OTHERS) :]] == [
                "slack-notifier-every-CodeCommitSlackNotifier"
            ]
