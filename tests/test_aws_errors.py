"""Every error code botocore's service models list for the function's operations is classified.

The models are botocore's own, full ones (not the trimmed copies under ``handler/aws/data/``), so a
botocore upgrade whose model adds a code to an operation the function calls fails here until the
code is given a meaning in :data:`handler.aws.errors.ERRORS` (issue 17, item 2).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.loaders import Loader
from botocore.model import ServiceModel
from botocore.stub import Stubber

from handler.aws.errors import ERRORS, Handling, meaning
from handler.aws.models import OPERATIONS, PULL_REQUEST_READS, PUSH_READS
from handler.enrich.pull_request_reader import CodeCommitPullRequestReader, Unreadable
from handler.enrich.reader import CodeCommitReader
from handler.errors import CommitUnavailable, RepositoryReadError
from tests.conftest import codecommit_client


def full_model(service: str) -> dict[str, Any]:
    """botocore's own service model, from its data directory (never the trimmed copy)."""
    loader = Loader(include_default_search_paths=True)
    data: dict[str, Any] = loader.load_service_model(service, "service-2")
    return data


def listed_codes(service: str, model: dict[str, Any], operations: tuple[str, ...]) -> dict[str, set[str]]:
    """Error code → the operations whose model lists it."""
    service_model = ServiceModel(model, service)
    codes: dict[str, set[str]] = {}
    for operation in operations:
        for shape in service_model.operation_model(operation).error_shapes:
            code = shape.metadata.get("error", {}).get("code", shape.name)
            codes.setdefault(code, set()).add(operation)
    return codes


def unclassified(service: str, model: dict[str, Any]) -> dict[str, set[str]]:
    """The codes ``model`` lists for the function's operations that :data:`ERRORS` does not name."""
    return {
        code: operations
        for code, operations in listed_codes(service, model, OPERATIONS[service]).items()
        if meaning(service, code) is None
    }


@pytest.mark.parametrize("service", sorted(OPERATIONS))
def test_every_code_the_model_lists_is_classified(service: str) -> None:
    missing = unclassified(service, full_model(service))
    assert not missing, (
        f"botocore's {service} model lists codes handler/aws/errors.py does not classify: {missing}; "
        "give each a Handling (unreadable, answer, transient, configuration or bug)"
    )


@pytest.mark.parametrize("service", sorted(OPERATIONS))
def test_every_classified_code_is_one_the_model_lists(service: str) -> None:
    """No stale entries: a code no operation of ours can answer is not kept in the table."""
    listed = listed_codes(service, full_model(service), OPERATIONS[service])
    assert set(ERRORS[service]) <= set(listed), set(ERRORS[service]) - set(listed)


def test_a_code_the_model_gains_fails_the_check() -> None:
    """The check can fail: a model with one more error on GetMergeOptions is caught."""
    model = copy.deepcopy(full_model("codecommit"))
    model["shapes"]["BrandNewLimitExceededException"] = {
        "type": "structure",
        "members": {},
        "exception": True,
    }
    model["operations"]["GetMergeOptions"]["errors"].append({"shape": "BrandNewLimitExceededException"})
    assert unclassified("codecommit", model) == {"BrandNewLimitExceededException": {"GetMergeOptions"}}


def test_the_trimmed_models_list_the_same_codes() -> None:
    """The shipped, trimmed models (handler/aws/data/) keep every error shape of their operations."""
    import json

    from handler.aws.models import DATA_DIR, api_versions

    for service, version in api_versions().items():
        trimmed = json.loads((DATA_DIR / service / version / "service-2.json").read_text(encoding="utf-8"))
        assert listed_codes(service, trimmed, OPERATIONS[service]) == listed_codes(
            service, full_model(service), OPERATIONS[service]
        ), service


# -- the readers follow the table, code by code ----------------------------------------------------

PUSH_CODES = sorted(listed_codes("codecommit", full_model("codecommit"), PUSH_READS))
PULL_REQUEST_CODES = sorted(listed_codes("codecommit", full_model("codecommit"), PULL_REQUEST_READS))


@pytest.mark.parametrize("code", PUSH_CODES)
def test_the_push_reader_tolerates_exactly_the_unreadable_codes(code: str) -> None:
    client = codecommit_client("https://codecommit.us-east-2.amazonaws.com")
    reader = CodeCommitReader(client, "repo")
    expected = meaning("codecommit", code)
    assert expected is not None
    with Stubber(client) as stubber:
        stubber.add_client_error("get_merge_options", code, http_status_code=400)
        if expected.handling is Handling.UNREADABLE:
            with pytest.raises(CommitUnavailable) as unavailable:
                reader.merge_base("a" * 40, "main")
            assert unavailable.value.reason == expected.says
        else:
            with pytest.raises(RepositoryReadError) as failed:
                reader.merge_base("a" * 40, "main")
            assert code in str(failed.value) and expected.says in str(failed.value)


@pytest.mark.parametrize("code", PULL_REQUEST_CODES)
def test_the_pull_request_reader_tolerates_exactly_the_unreadable_codes(code: str) -> None:
    expected = meaning("codecommit", code)
    assert expected is not None

    def refuse() -> None:
        raise ClientError({"Error": {"Code": code, "Message": "no"}}, "GetPullRequest")

    if expected.handling is Handling.UNREADABLE:
        with pytest.raises(Unreadable):
            CodeCommitPullRequestReader._call("GetPullRequest", "pull request 7", refuse)
    else:
        with pytest.raises(RepositoryReadError):
            CodeCommitPullRequestReader._call("GetPullRequest", "pull request 7", refuse)
