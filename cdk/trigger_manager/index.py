"""Custom resource: add, update or remove *our* trigger on an existing CodeCommit repository.

PutRepositoryTriggers replaces every trigger a repository has, so a resource that simply put its
own would wipe out other teams' triggers. This one reads the current list, upserts or removes
the trigger with our name, and writes the list back:

* Create / Update: ``upsert_trigger`` keeps every other trigger as it was and replaces ours by name;
* Delete: ``remove_trigger`` drops only ours (a repository that no longer exists is not an error).

It runs on the Lambda Python runtime with nothing but boto3 and the standard library, and answers
CloudFormation itself (a PUT to the pre-signed ``ResponseURL``), so no provider framework is needed.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

import boto3
from botocore.exceptions import ClientError

log = logging.getLogger()
log.setLevel(logging.INFO)


def desired_trigger(properties: dict[str, Any]) -> dict[str, Any]:
    """Our trigger, as PutRepositoryTriggers takes it, from the resource's properties."""
    return {
        "name": properties["TriggerName"],
        "destinationArn": properties["DestinationArn"],
        "customData": properties.get("CustomData", ""),
        "branches": list(properties.get("Branches") or []),
        "events": list(properties.get("Events") or ["all"]),
    }


def upsert_trigger(existing: list[dict[str, Any]], ours: dict[str, Any]) -> list[dict[str, Any]]:
    """Every other trigger unchanged and in place; ours replaced where it was, or appended."""
    triggers = [dict(trigger) for trigger in existing]
    for index, trigger in enumerate(triggers):
        if trigger.get("name") == ours["name"]:
            triggers[index] = ours
            return triggers
    return [*triggers, ours]


def remove_trigger(existing: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """Every trigger except the one named ``name``."""
    return [dict(trigger) for trigger in existing if trigger.get("name") != name]


def apply(request_type: str, properties: dict[str, Any], client: Any) -> str:
    """Do what CloudFormation asked; return the physical resource id."""
    repository = properties["RepositoryName"]
    name = properties["TriggerName"]
    physical_id = f"{repository}/{name}"
    try:
        current = client.get_repository_triggers(repositoryName=repository)
    except ClientError as error:
        if request_type == "Delete" and error.response["Error"]["Code"] == "RepositoryDoesNotExistException":
            log.info("repository %s is gone; nothing to remove", repository)
            return physical_id
        raise
    existing = current.get("triggers", [])
    if request_type == "Delete":
        triggers = remove_trigger(existing, name)
        if len(triggers) == len(existing):
            return physical_id
    else:
        triggers = upsert_trigger(existing, desired_trigger(properties))
    others = sorted(t.get("name", "") for t in triggers if t.get("name") != name)
    log.info("%s trigger %s on %s; keeping %s", request_type, name, repository, others)
    client.put_repository_triggers(repositoryName=repository, triggers=triggers)
    return physical_id


def respond(event: dict[str, Any], status: str, physical_id: str, reason: str = "") -> None:
    """Send CloudFormation the custom resource's result."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": (reason or "see the function's CloudWatch log")[:1000],
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": False,
            "Data": {},
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        log.info("CloudFormation answered %s", response.status)


def handler(event: dict[str, Any], context: Any, client: Any = None) -> None:
    """Lambda entry point: never leaves CloudFormation waiting, whatever happens."""
    request_type = event["RequestType"]
    properties = event.get("ResourceProperties", {})
    physical_id = (
        event.get("PhysicalResourceId")
        or f"{properties.get('RepositoryName')}/{properties.get('TriggerName')}"
    )
    try:
        client = client or boto3.client("codecommit")
        physical_id = apply(request_type, properties, client)
    except Exception as error:
        log.exception("%s failed", request_type)
        code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
        respond(event, "FAILED", physical_id, f"{request_type} of the trigger failed: {code}: {error}")
        return
    respond(event, "SUCCESS", physical_id)
