"""A CodePipeline (and small CodeCommit) stand-in on 127.0.0.1, checked against botocore's models.

botocore talks to it unchanged, through ``AWS_ENDPOINT_URL_CODEPIPELINE`` /
``AWS_ENDPOINT_URL_CODECOMMIT`` (or ``endpoint_url``):

* CodePipeline in the JSON 1.1 protocol the pinned botocore picks for it (its model also offers
  smithy RPC v2 CBOR): ``X-Amz-Target: CodePipeline_20150709.<Operation>``, answering GetPipeline,
  GetPipelineExecution, GetPipelineState, ListPipelineExecutions, StartPipelineExecution,
  RollbackStage and PutApprovalResult from the pipelines a test declares;
* CodeCommit's JSON 1.1 (``X-Amz-Target: CodeCommit_20150413.<Operation>``) for GetBranch,
  GetCommit, ListPullRequests and GetPullRequest, from in-memory branches, commits and pull
  requests (the notifier's deploy resolves refs and finds a run's pull request with these).

Every request body is validated against the operation's input shape with botocore's own
:class:`~botocore.validate.ParamValidator`, and every answer's keys against the output shape, so a
request the real service would refuse, or an answer it could never give, fails the test. Each
call is recorded with the access key that signed it, so a test can tell *who* called: the chat
actions' clients sign with the person's (test) credentials, the notifier's with its own.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import botocore.session
from botocore.model import Shape, StructureShape
from botocore.validate import ParamValidator

from tests.standins import LoopbackServer

PIPELINE_PREFIX = "CodePipeline_20150709."
CODECOMMIT_PREFIX = "CodeCommit_20150413."
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
_SESSION = botocore.session.get_session()
MODELS = {
    "codepipeline": _SESSION.get_service_model("codepipeline"),
    "codecommit": _SESSION.get_service_model("codecommit"),
}


class ServiceError(Exception):
    """An error answer: ``code`` as the service names it (``PipelineNotFoundException``)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class Call:
    """One request: the service, operation, validated body and the access key that signed it."""

    service: str
    operation: str
    body: dict[str, Any]
    access_key: str


@dataclass
class StoredPipeline:
    """A pipeline as a test declares it: its declaration, executions (newest first) and state."""

    declaration: dict[str, Any]
    executions: list[dict[str, Any]] = field(default_factory=list)
    stage_states: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.declaration["name"])


def check_keys(value: Any, shape: Shape, where: str) -> None:
    """Every key of an answer is a member of its shape (recursively): no answer the model lacks."""
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        for key, item in value.items():
            if key not in shape.members:
                raise AssertionError(f"{where}.{key} is not in botocore's {shape.name}")
            check_keys(item, shape.members[key], f"{where}.{key}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            check_keys(item, shape.member, f"{where}[{index}]")


class CodePipelineStandIn(LoopbackServer):
    """See the module docstring. ``pipelines`` by name; ``branches`` (repository, branch) → commit."""

    def __init__(self) -> None:
        self.pipelines: dict[str, StoredPipeline] = {}
        self.branches: dict[tuple[str, str], str] = {}
        self.commits: dict[tuple[str, str], dict[str, Any]] = {}
        self.pull_requests: dict[str, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- what a test declares ------------------------------------------------------------------

    def add_pipeline(self, pipeline: StoredPipeline) -> StoredPipeline:
        self.pipelines[pipeline.name] = pipeline
        return pipeline

    def add_commit(self, repository: str, commit_id: str, message: str, *, branch: str | None = None) -> None:
        self.commits[(repository, commit_id)] = {
            "commitId": commit_id,
            "treeId": "0" * 40,
            "parents": [],
            "message": message,
            "author": {"name": "Alice", "email": "alice@example.com", "date": "1765130000 +0000"},
            "committer": {"name": "Alice", "email": "alice@example.com", "date": "1765130000 +0000"},
        }
        if branch is not None:
            self.branches[(repository, branch)] = commit_id

    def add_pull_request(self, pull_request_id: str, repository: str, source: str, commit_id: str) -> None:
        self.pull_requests[pull_request_id] = {
            "pullRequestId": pull_request_id,
            "title": f"Pull request {pull_request_id}",
            "pullRequestStatus": "OPEN",
            "authorArn": "arn:aws:iam::123456789012:user/bob",
            "pullRequestTargets": [
                {
                    "repositoryName": repository,
                    "sourceReference": f"refs/heads/{source}",
                    "destinationReference": "refs/heads/main",
                    "sourceCommit": commit_id,
                    "destinationCommit": "f" * 40,
                }
            ],
        }

    def operations(self, service: str = "codepipeline") -> list[str]:
        return [call.operation for call in self.calls if call.service == service]

    # -- serving ----------------------------------------------------------------------------

    def start(self) -> CodePipelineStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                signed = _CREDENTIAL.search(self.headers.get("Authorization", ""))
                access_key = signed.group(1) if signed else ""
                target = self.headers.get("X-Amz-Target", "")
                service = "codepipeline" if target.startswith(PIPELINE_PREFIX) else "codecommit"
                operation = target.removeprefix(PIPELINE_PREFIX).removeprefix(CODECOMMIT_PREFIX)
                status, answer = stand_in.answer(service, operation, json.loads(raw or b"{}"), access_key)
                data = json.dumps(answer, default=lambda when: when.timestamp()).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-amzn-RequestId", "standin")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self.serve(Handler)
        return self

    def answer(
        self, service: str, operation: str, body: dict[str, Any], access_key: str
    ) -> tuple[int, dict[str, Any]]:
        operation_model = MODELS[service].operation_model(operation)
        report = ParamValidator().validate(body, operation_model.input_shape)
        if report.has_errors():
            raise AssertionError(
                f"{service} {operation}: botocore's model refuses {body}: {report.generate_report()}"
            )
        with self._lock:
            self.calls.append(Call(service, operation, body, access_key))
        handler = getattr(self, f"_{service}_{_snake(operation)}", None)
        if handler is None:
            raise AssertionError(f"the stand-in does not answer {service} {operation}")
        try:
            answer: dict[str, Any] = handler(body)
        except ServiceError as error:
            return error.status, {"__type": error.code, "message": error.message}
        check_keys(answer, operation_model.output_shape, operation)
        return 200, answer

    # -- CodePipeline ---------------------------------------------------------------------------

    def _pipeline(self, name: str) -> StoredPipeline:
        if name not in self.pipelines:
            raise ServiceError(
                "PipelineNotFoundException", f"Account does not have a pipeline with name '{name}'"
            )
        return self.pipelines[name]

    def _codepipeline_get_pipeline(self, body: dict[str, Any]) -> dict[str, Any]:
        pipeline = self._pipeline(body["name"])
        return {
            "pipeline": pipeline.declaration,
            "metadata": {"pipelineArn": f"arn:aws:codepipeline:eu-west-1:123456789012:{pipeline.name}"},
        }

    def _execution(self, pipeline: StoredPipeline, execution_id: str) -> dict[str, Any]:
        for execution in pipeline.executions:
            if execution["pipelineExecutionId"] == execution_id:
                return execution
        raise ServiceError(
            "PipelineExecutionNotFoundException", f"Pipeline execution {execution_id} not found"
        )

    def _codepipeline_get_pipeline_execution(self, body: dict[str, Any]) -> dict[str, Any]:
        pipeline = self._pipeline(body["pipelineName"])
        execution = self._execution(pipeline, body["pipelineExecutionId"])
        full = {
            key: value
            for key, value in execution.items()
            if key not in ("startTime", "lastUpdateTime", "sourceRevisions")
        }
        full["pipelineName"] = pipeline.name
        full.setdefault("pipelineVersion", int(pipeline.declaration.get("version", 1)))
        full.setdefault(
            "artifactRevisions",
            [
                {
                    "name": "SourceArtifact",
                    "revisionId": revision["revisionId"],
                    "revisionSummary": revision.get("revisionSummary", ""),
                    **({"revisionUrl": revision["revisionUrl"]} if "revisionUrl" in revision else {}),
                }
                for revision in execution.get("sourceRevisions", [])
            ],
        )
        return {"pipelineExecution": full}

    def _codepipeline_get_pipeline_state(self, body: dict[str, Any]) -> dict[str, Any]:
        pipeline = self._pipeline(body["name"])
        return {"pipelineName": pipeline.name, "pipelineVersion": 1, "stageStates": pipeline.stage_states}

    def _codepipeline_list_pipeline_executions(self, body: dict[str, Any]) -> dict[str, Any]:
        pipeline = self._pipeline(body["pipelineName"])
        limit = int(body.get("maxResults", 100))
        summaries = [
            {key: value for key, value in execution.items() if key not in ("artifactRevisions",)}
            for execution in pipeline.executions
        ]
        return {"pipelineExecutionSummaries": summaries[:limit]}

    def _codepipeline_start_pipeline_execution(self, body: dict[str, Any]) -> dict[str, Any]:
        pipeline = self._pipeline(body["name"])
        execution_id = str(uuid.uuid4())
        pipeline.executions.insert(
            0,
            {
                "pipelineExecutionId": execution_id,
                "status": "InProgress",
                "startTime": datetime.now(UTC),
                "trigger": {"triggerType": "StartPipelineExecution", "triggerDetail": "standin"},
            },
        )
        return {"pipelineExecutionId": execution_id}

    def _codepipeline_rollback_stage(self, body: dict[str, Any]) -> dict[str, Any]:
        pipeline = self._pipeline(body["pipelineName"])
        if not any(stage["name"] == body["stageName"] for stage in pipeline.declaration["stages"]):
            raise ServiceError("StageNotFoundException", f"Stage {body['stageName']} not found")
        self._execution(pipeline, body["targetPipelineExecutionId"])
        execution_id = str(uuid.uuid4())
        pipeline.executions.insert(
            0,
            {
                "pipelineExecutionId": execution_id,
                "status": "InProgress",
                "executionType": "ROLLBACK",
                "trigger": {"triggerType": "ManualRollback", "triggerDetail": "standin"},
            },
        )
        return {"pipelineExecutionId": execution_id}

    def _codepipeline_put_approval_result(self, body: dict[str, Any]) -> dict[str, Any]:
        pipeline = self._pipeline(body["pipelineName"])
        for stage in pipeline.stage_states:
            if stage["stageName"] != body["stageName"]:
                continue
            for action in stage.get("actionStates", []):
                if action["actionName"] != body["actionName"]:
                    continue
                latest = action.get("latestExecution", {})
                if latest.get("status") != "InProgress":
                    raise ServiceError(
                        "ApprovalAlreadyCompletedException", "The approval action has already completed"
                    )
                if latest.get("token") != body["token"]:
                    raise ServiceError("InvalidApprovalTokenException", "The approval token is not valid")
                latest["status"] = "Succeeded" if body["result"]["status"] == "Approved" else "Failed"
                latest["summary"] = body["result"]["summary"]
                latest.pop("token", None)
                return {"approvedAt": datetime.now(UTC)}
            raise ServiceError("ActionNotFoundException", f"Action {body['actionName']} not found")
        raise ServiceError("StageNotFoundException", f"Stage {body['stageName']} not found")

    # -- CodeCommit -----------------------------------------------------------------------------

    def _codecommit_get_branch(self, body: dict[str, Any]) -> dict[str, Any]:
        key = (body["repositoryName"], body["branchName"])
        if key not in self.branches:
            raise ServiceError("BranchDoesNotExistException", f"Branch '{body['branchName']}' does not exist")
        return {"branch": {"branchName": key[1], "commitId": self.branches[key]}}

    def _codecommit_get_commit(self, body: dict[str, Any]) -> dict[str, Any]:
        key = (body["repositoryName"], body["commitId"])
        if key not in self.commits:
            raise ServiceError("CommitIdDoesNotExistException", f"Commit '{body['commitId']}' does not exist")
        return {"commit": self.commits[key]}

    def _codecommit_list_pull_requests(self, body: dict[str, Any]) -> dict[str, Any]:
        ids = [
            pull_request_id
            for pull_request_id, pull_request in self.pull_requests.items()
            if pull_request["pullRequestTargets"][0]["repositoryName"] == body["repositoryName"]
            and pull_request["pullRequestStatus"]
            == body.get("pullRequestStatus", pull_request["pullRequestStatus"])
        ]
        return {"pullRequestIds": ids}

    def _codecommit_get_pull_request(self, body: dict[str, Any]) -> dict[str, Any]:
        if body["pullRequestId"] not in self.pull_requests:
            raise ServiceError("PullRequestDoesNotExistException", "no such pull request")
        return {"pullRequest": self.pull_requests[body["pullRequestId"]]}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def codecommit_pipeline(
    name: str,
    *,
    repository: str = "app",
    branch: str = "main",
    pipeline_type: str = "V2",
    provider: str = "CodeCommit",
    stages: tuple[str, ...] = ("Build", "Deploy"),
) -> dict[str, Any]:
    """A pipeline declaration whose first stage is a source action (CodeCommit by default)."""
    configuration = (
        {"RepositoryName": repository, "BranchName": branch}
        if provider == "CodeCommit"
        else {
            "ConnectionArn": "arn:aws:codeconnections:eu-west-1:123456789012:connection/x",
            "FullRepositoryId": "org/app",
            "BranchName": branch,
        }
    )
    owner = "AWS"
    source = {
        "name": "Source",
        "actions": [
            {
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": owner, "provider": provider, "version": "1"},
                "configuration": configuration,
                "outputArtifacts": [{"name": "SourceArtifact"}],
            }
        ],
    }
    others = [
        {
            "name": stage,
            "actions": [
                {
                    "name": stage,
                    "actionTypeId": {
                        "category": "Build",
                        "owner": "AWS",
                        "provider": "CodeBuild",
                        "version": "1",
                    },
                    "configuration": {"ProjectName": f"{name}-{stage.lower()}"},
                    "inputArtifacts": [{"name": "SourceArtifact"}],
                }
            ],
        }
        for stage in stages
    ]
    return {
        "name": name,
        "roleArn": "arn:aws:iam::123456789012:role/pipeline",
        "artifactStore": {"type": "S3", "location": "artifacts"},
        "stages": [source, *others],
        "version": 1,
        "pipelineType": pipeline_type,
    }
