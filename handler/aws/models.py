"""The AWS operations the function calls, and botocore's data for them, trimmed to just those.

Creating the first botocore client of a cold start is dominated by data, not code: botocore lists
every service directory it ships (about 440) to check the name, parses ``endpoints.json`` (1.2 MB,
every service in every region) and parses the whole service model (DynamoDB's is 1 MB, for 57
operations where the notifier calls 3). ``handler/aws/data/`` holds the same files cut down to
what the function uses, written from the pinned botocore by :mod:`handler.aws.trim`:

* ``<service>/<version>/service-2.json`` for each service in :data:`OPERATIONS`: those
  operations, every shape they reach (input, output and errors), nothing else, documentation
  dropped;
* ``endpoints.json``: the entries of those services and of :data:`CREDENTIAL_SERVICES`, in every
  partition and region.

:class:`TrimmedDataLoader` puts that directory first on botocore's search path and loads those
services' models without the directory scan. Everything else (partitions, retry rules, the
endpoint rule sets, any other service) still comes from botocore's own data, unchanged: in Lambda,
from the runtime's botocore, whose version may differ from the pinned one. Service models are
data that botocore loads across versions (the same mechanism as ``AWS_DATA_PATH`` and
``~/.aws/models``), and the three services here use long-stable JSON protocols.

The saving is measured in ``python -m bench.levers`` (the ``full-data`` variant; README,
Performance). Requests and parsed answers are the same byte for byte as with botocore's own
data (``tests/test_aws_models.py`` checks every operation in several partitions).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from botocore.exceptions import DataNotFoundError
from botocore.loaders import Loader, instance_cache

#: Where the trimmed data lives, inside the package so it ships in the Lambda asset.
DATA_DIR = Path(__file__).resolve().parent / "data"

#: The CodeCommit reads of a push: its commits, diffs, merge bases, branches, default branch and
#: annotated tags (handler/enrich/reader.py; a test compares this list with that file).
PUSH_READS = (
    "BatchGetCommits",
    "GetBranch",
    "GetCommit",
    "GetDifferences",
    "GetFolder",
    "GetMergeOptions",
    "GetRepository",
)
#: The CodeCommit reads of pull requests, comments and approvals (handler/enrich/pull_request_reader.py).
PULL_REQUEST_READS = (
    "EvaluatePullRequestApprovalRules",
    "GetComment",
    "GetCommentsForComparedCommit",
    "GetCommentsForPullRequest",
    "GetPullRequest",
    "GetPullRequestApprovalStates",
)
#: The CodePipeline reads of pipeline and build events (handler/enrich/codepipeline.py), granted on
#: the pipelines in context ``pipelines`` only (cdk/pipelines.py).
PIPELINE_READS = ("GetPipeline", "GetPipelineExecution", "GetPipelineState", "ListPipelineExecutions")
#: The CodeCommit read that finds the pull request a run built (its source branch's tip).
BUILD_STATUS_READS = ("ListPullRequests",)
#: The review queue's own read (handler/actions/review_queue.py): the open pull requests of a
#: repository; each one's details and approvals are read with :data:`PULL_REQUEST_READS`.
REVIEW_QUEUE_READS = ("ListPullRequests",)
#: Every AWS operation the function calls, by botocore service name. The IAM policy is built from
#: these lists (cdk/function.py, cdk/pull_request_events.py, cdk/state_table.py; a test checks the
#: synthesized policy). A call missing here fails loudly: the trimmed model has no such method.
OPERATIONS: dict[str, tuple[str, ...]] = {
    "codecommit": PUSH_READS + PULL_REQUEST_READS + BUILD_STATUS_READS,
    "codepipeline": PIPELINE_READS,
    "dynamodb": ("DeleteItem", "GetItem", "PutItem"),
    "secretsmanager": ("GetSecretValue",),
    "ssm": ("GetParameter",),
}

#: Services botocore's credential providers make clients for (assumed roles, web identity, SSO,
#: ``aws login``). Their endpoint entries are kept so those providers resolve exactly as before;
#: their models come from botocore, untouched.
CREDENTIAL_SERVICES = ("signin", "sso", "sso-oidc", "sts")


def api_versions() -> dict[str, str]:
    """Each trimmed service's API version, as found in :data:`DATA_DIR` (one per service)."""
    versions = {}
    for service in OPERATIONS:
        found = sorted(p.name for p in (DATA_DIR / service).iterdir() if p.is_dir())
        if len(found) != 1:
            found_text = ", ".join(found) or "none"
            raise RuntimeError(
                f"{DATA_DIR / service}: expected one API version, found {found_text}; run make aws-models"
            )
        versions[service] = found[0]
    return versions


class TrimmedDataLoader(Loader):  # type: ignore[misc]  # botocore ships no type hints
    """botocore's data loader with :data:`DATA_DIR` first, and no service scan for our services.

    ``AWS_DATA_PATH``, when set, still comes first, as it does for botocore's own loader.
    """

    def __init__(self, data_path: str | None = None) -> None:
        extra = [p for p in (data_path or "").split(os.pathsep) if p]
        super().__init__(extra_search_paths=[*[os.path.expanduser(p) for p in extra], str(DATA_DIR)])
        self._trimmed_versions = api_versions()

    def is_builtin_path(self, path: str) -> bool:
        """Whether ``path`` is botocore's own data; the trimmed data counts as its own.

        botocore asks this of the ``endpoints.json`` it loaded: data that is not built in is
        treated as a custom endpoint, passed to the endpoint rules as an override, which changes
        dual-stack, FIPS and account-based endpoints (and refuses dual-stack altogether).
        """
        return bool(super().is_builtin_path(path)) or Path(path).resolve().is_relative_to(DATA_DIR)

    @instance_cache  # type: ignore[untyped-decorator]
    def load_service_model(self, service_name: str, type_name: str, api_version: str | None = None) -> Any:
        """A service's data; for ours, read straight from its known version's directory.

        botocore's own method first lists every service directory on the search path, only to
        check that the name exists. For the services in :data:`OPERATIONS` the version is known,
        so the file is loaded directly: ``service-2`` from :data:`DATA_DIR`, the rest (endpoint
        rule set, paginators, waiters) from botocore's data, found the usual way. botocore's
        "sdk-extras" for these models are merged into the trimmed files when they are written
        (:func:`handler.aws.trim.with_extras`), so the result is the same.
        """
        version = self._trimmed_versions.get(service_name)
        if version is not None and api_version in (None, version):
            try:
                return self.load_data(f"{service_name}/{version}/{type_name}")
            except DataNotFoundError:
                pass  # this botocore has no such data at that version: let it look the usual way
        return super().load_service_model(service_name, type_name, api_version)
