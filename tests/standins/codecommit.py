"""A CodeCommit stand-in on 127.0.0.1 that speaks the service's JSON 1.1 protocol from real git repos.

boto3 talks to it unchanged, through ``AWS_ENDPOINT_URL_CODECOMMIT`` (or ``endpoint_url``), so
the notifier's real :class:`~handler.enrich.reader.CodeCommitReader`, botocore's retry logic and its
paginator are all exercised. It answers GetCommit from ``git cat-file commit`` and GetDifferences
by comparing two ``git ls-tree -r`` snapshots: deliberately not the plumbing LocalGitReader uses,
so the two readers are checked against each other rather than against themselves.

Used by the tests and by ``bench/``: it counts calls per operation and can inject faults
(throttling, 5xx, slow answers) in front of any operation.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.standins import LoopbackServer, pull_requests

TARGET_PREFIX = "CodeCommit_20150413."


@dataclass
class Fault:
    """Answer the next ``count`` calls of ``operation`` (or of any, if None) with this instead,
    after letting the first ``after`` of them through."""

    status: int = 400
    code: str = "ThrottlingException"
    message: str = "Rate exceeded"
    delay: float = 0.0
    count: int = 1
    operation: str | None = None
    after: int = 0


class CodeCommitError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class CodeCommitStandIn(LoopbackServer):
    """Serves repositories by name; see the module docstring."""

    def __init__(self, repositories: dict[str, Path], *, page_size: int = 100) -> None:
        self.repositories = dict(repositories)
        self.page_size = page_size
        self.calls: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.faults: list[Fault] = []
        #: repository name → its triggers, as Get/PutRepositoryTriggers see them
        self.triggers: dict[str, list[dict[str, Any]]] = {name: [] for name in repositories}
        #: pull requests, comments and approvals (tests/standins/pull_requests.py)
        self.pull_requests = pull_requests.PullRequestBook()
        self._lock = threading.Lock()
        self._trees: dict[tuple[Path, str], dict[str, tuple[str, str]]] = {}
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def start(self) -> CodeCommitStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else a 40 ms delayed-ACK stall between headers and body

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                operation = self.headers.get("X-Amz-Target", "").removeprefix(TARGET_PREFIX)
                status, answer = stand_in.answer(operation, body)
                data = json.dumps(answer).encode()
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

    def answer(self, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: PLR0911
        with self._lock:
            self.calls[operation] += 1
            self.requests.append((operation, body))
            fault = self._take_fault(operation)
        if fault is not None:
            time.sleep(fault.delay)
            return fault.status, {"__type": fault.code, "message": fault.message}
        if operation in pull_requests.OPERATIONS:
            return self.pull_requests.answer(operation, body)
        if operation == "ListRepositories":
            return 200, self._list_repositories(body)
        try:
            repo = self._repository(body.get("repositoryName", ""))
            if operation == "GetCommit":
                return 200, {"commit": self._get_commit(repo, body["commitId"])}
            if operation == "GetDifferences":
                return 200, self._get_differences(repo, body)
            if operation in self._history_operations:
                return 200, self._history_operations[operation](repo, body)
            if operation == "GetRepositoryTriggers":
                return 200, {"configurationId": "standin", "triggers": self.triggers[body["repositoryName"]]}
            if operation == "PutRepositoryTriggers":
                if len(body["triggers"]) > 10:
                    raise CodeCommitError(
                        "MaximumRepositoryTriggersExceededException",
                        "The number of triggers allowed for the repository was exceeded.",
                    )
                self.triggers[body["repositoryName"]] = body["triggers"]
                return 200, {"configurationId": "standin"}
            raise CodeCommitError("UnknownOperationException", f"{operation} is not served here")
        except CodeCommitError as error:
            return error.status, {"__type": error.code, "message": error.message}

    def _take_fault(self, operation: str) -> Fault | None:
        """The fault this call of ``operation`` answers with, if any (the caller holds the lock)."""
        fault = next((f for f in self.faults if f.operation in (None, operation) and f.count > 0), None)
        if fault is None:
            return None
        if fault.after > 0:
            fault.after -= 1
            return None
        fault.count -= 1
        return fault

    @property
    def _history_operations(self) -> dict[str, Any]:
        """The calls a whole-push walk makes: commits in batches, merge bases, branches, peeling."""
        return {
            "BatchGetCommits": self._batch_get_commits,
            "GetMergeOptions": self._get_merge_options,
            "GetBranch": self._get_branch,
            "GetRepository": self._get_repository,
            "GetFolder": self._get_folder,
        }

    def _batch_get_commits(self, repo: Path, body: dict[str, Any]) -> dict[str, Any]:
        commit_ids = body.get("commitIds") or []
        if not commit_ids:
            raise CodeCommitError("CommitIdsListRequiredException", "A list of commit IDs is required.")
        if len(commit_ids) > 100:
            raise CodeCommitError(
                "CommitIdsLimitExceededException",
                "The maximum number of allowed commit IDs in a batch request is 100.",
            )
        commits, errors = [], []
        for commit_id in commit_ids:
            try:
                commits.append(self._get_commit(repo, commit_id))
            except CodeCommitError as error:
                errors.append({"commitId": commit_id, "errorCode": error.code, "errorMessage": error.message})
        return {"commits": commits, "errors": errors}

    def _resolve(self, repo: Path, specifier: str) -> str:
        """A commit specifier (id, branch name or full ref) → commit id, as the service resolves it."""
        for candidate in (specifier, f"refs/heads/{specifier}"):
            if candidate.startswith("-"):
                break
            try:
                output = self._git(repo, "rev-parse", "--verify", "-q", f"{candidate}^{{commit}}")
                return output.decode().strip()
            except subprocess.CalledProcessError:
                continue
        raise CodeCommitError("CommitDoesNotExistException", f"Could not find commit {specifier[:80]}")

    def _get_merge_options(self, repo: Path, body: dict[str, Any]) -> dict[str, Any]:
        source = self._resolve(repo, body["sourceCommitSpecifier"])
        destination = self._resolve(repo, body["destinationCommitSpecifier"])
        answer: dict[str, Any] = {"sourceCommitId": source, "destinationCommitId": destination}
        try:
            base = self._git(repo, "merge-base", source, destination).decode().strip()
        except subprocess.CalledProcessError:
            base = ""
        options = ["SQUASH_MERGE", "THREE_WAY_MERGE"]
        if base == destination:
            options.insert(0, "FAST_FORWARD_MERGE")
        answer["mergeOptions"] = options
        if base:
            answer["baseCommitId"] = base
        return answer

    def _get_branch(self, repo: Path, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("branchName") or ""
        try:
            commit_id = self._git(repo, "rev-parse", "--verify", "-q", f"refs/heads/{name}").decode().strip()
        except subprocess.CalledProcessError as error:
            message = f"Could not find branch {name[:80]}"
            raise CodeCommitError("BranchDoesNotExistException", message) from error
        return {"branch": {"branchName": name, "commitId": commit_id}}

    def _get_repository(self, repo: Path, body: dict[str, Any]) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "accountId": "111122223333",
            "repositoryId": "00000000-0000-4000-8000-000000000001",
            "repositoryName": body["repositoryName"],
        }
        with suppress(subprocess.CalledProcessError):
            head = self._git(repo, "symbolic-ref", "-q", "--short", "HEAD")
            metadata["defaultBranch"] = head.decode().strip()
        return {"repositoryMetadata": metadata}

    def _get_folder(self, repo: Path, body: dict[str, Any]) -> dict[str, Any]:
        commit_id = self._resolve(repo, body.get("commitSpecifier") or "HEAD")
        tree = self._git(repo, "rev-parse", f"{commit_id}^{{tree}}").decode().strip()
        return {"commitId": commit_id, "folderPath": body["folderPath"], "treeId": tree, "files": []}

    def _list_repositories(self, body: dict[str, Any]) -> dict[str, Any]:
        """Repository names in order, ``page_size`` per page; ``nextToken`` is the next index."""
        names = sorted(self.repositories)
        start = int(body.get("nextToken") or 0)
        page: dict[str, Any] = {
            "repositories": [
                {"repositoryName": name, "repositoryId": f"id-{name}"}
                for name in names[start : start + self.page_size]
            ]
        }
        if start + self.page_size < len(names):
            page["nextToken"] = str(start + self.page_size)
        return page

    def _repository(self, name: str) -> Path:
        if name not in self.repositories:
            raise CodeCommitError("RepositoryDoesNotExistException", f"{name} does not exist")
        return self.repositories[name]

    @staticmethod
    def _git(repo: Path, *args: str) -> bytes:
        return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout

    def _object_type(self, repo: Path, object_id: str) -> str:
        try:
            return self._git(repo, "cat-file", "-t", object_id).decode().strip()
        except subprocess.CalledProcessError:
            return "missing"

    def _get_commit(self, repo: Path, commit_id: str) -> dict[str, Any]:
        if not re.fullmatch(r"[0-9a-f]{40}", commit_id):
            raise CodeCommitError("InvalidCommitIdException", f"{commit_id[:50]} is not a valid commit id")
        if self._object_type(repo, commit_id) != "commit":
            raise CodeCommitError("CommitIdDoesNotExistException", f"Could not find commit {commit_id}")
        raw = self._git(repo, "cat-file", "commit", commit_id).decode("utf-8", errors="replace")
        header, _, message = raw.partition("\n\n")
        commit: dict[str, Any] = {
            "commitId": commit_id,
            "parents": [],
            "message": message,
            "additionalData": "",
        }
        for line in header.splitlines():
            key, _, value = line.partition(" ")
            if key == "tree":
                commit["treeId"] = value
            elif key == "parent":
                commit["parents"].append(value)
            elif key in ("author", "committer"):
                name, _, rest = value.partition(" <")
                email, _, date = rest.partition("> ")
                commit[key] = {"name": name, "email": email, "date": date}
        return commit

    def _tree(self, repo: Path, commit_id: str) -> dict[str, tuple[str, str]]:
        """``git ls-tree -r`` of a commit, cached: a commit's tree never changes."""
        key = (repo, commit_id)
        if key not in self._trees:
            self._trees[key] = self._read_tree(repo, commit_id)
        return self._trees[key]

    def _read_tree(self, repo: Path, commit_id: str) -> dict[str, tuple[str, str]]:
        entries: dict[str, tuple[str, str]] = {}
        for entry in self._git(repo, "ls-tree", "-r", "-z", commit_id).split(b"\x00"):
            if entry:
                meta, _, path = entry.partition(b"\t")
                mode, _kind, blob_id = meta.decode().split(" ")
                entries[path.decode("utf-8", errors="replace")] = (mode, blob_id)
        return entries

    def _get_differences(self, repo: Path, body: dict[str, Any]) -> dict[str, Any]:
        after_id, before_id = body["afterCommitSpecifier"], body.get("beforeCommitSpecifier")
        for commit_id in filter(None, (after_id, before_id)):
            if self._object_type(repo, commit_id) != "commit":
                raise CodeCommitError("CommitDoesNotExistException", f"{commit_id} is not a commit")
        after = self._tree(repo, after_id)
        before = self._tree(repo, before_id) if before_id else {}
        differences = []
        for path in sorted(set(before) | set(after)):
            old, new = before.get(path), after.get(path)
            if old == new:
                continue
            difference: dict[str, Any] = {"changeType": "A" if old is None else "D" if new is None else "M"}
            if old is not None:
                difference["beforeBlob"] = {"blobId": old[1], "path": path, "mode": old[0]}
            if new is not None:
                difference["afterBlob"] = {"blobId": new[1], "path": path, "mode": new[0]}
            differences.append(difference)
        page_size = min(int(body.get("MaxResults") or self.page_size), self.page_size)
        start = int(base64.b64decode(body["NextToken"])) if body.get("NextToken") else 0
        page = differences[start : start + page_size]
        answer: dict[str, Any] = {"differences": page}
        if start + page_size < len(differences):
            answer["NextToken"] = base64.b64encode(str(start + page_size).encode()).decode()
        return answer


@contextmanager
def running(repositories: dict[str, Path], **kwargs: Any) -> Iterator[CodeCommitStandIn]:
    stand_in = CodeCommitStandIn(repositories, **kwargs).start()
    try:
        yield stand_in
    finally:
        stand_in.stop()
