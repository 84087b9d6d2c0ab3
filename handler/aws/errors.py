"""Every error code the service models list for the operations the function calls, classified.

botocore's service model names, for each operation, the errors it can answer. Each one here is
given one :class:`Handling`, on purpose, so a failure never takes a path by accident (a size limit
of GetMergeOptions, say, raising until the event lands in the dead-letter queue, where "can't
compare" should have posted what is known). ``tests/test_aws_errors.py`` loads botocore's *full*
model for each operation in :data:`handler.aws.models.OPERATIONS` and fails when it lists a code
that :data:`ERRORS` does not name: a botocore upgrade that adds a code fails the suite until
someone decides what the new code means.

Codes a service answers without its model listing them (``AccessDeniedException``,
``ThrottlingException`` for CodeCommit, ``UnrecognizedClientException``, ...) are not here: botocore
retries the throttling ones, and the callers raise the rest with what to check, so Lambda retries
the event and keeps it.

The pipeline actions (``handler/actions/pipelines.py``) read CodePipeline and handle its codes
themselves; their classification is here so that a new code still fails the suite. The readers
that use the table: :class:`handler.enrich.reader.CodeCommitReader` (push reads) and
:class:`handler.enrich.pull_request_reader.CodeCommitPullRequestReader` (pull-request reads) turn
:attr:`Handling.UNREADABLE` into "post what is known, and why". The state table, the secret and
the parameter have their own callers (``handler/state/dynamodb.py``,
``handler/deliver/webhook_url.py``, ``handler/pull_requests/settings.py``), which raise for every
code but ``ConditionalCheckFailedException``, as this table says.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Handling(enum.Enum):
    """What an error code means for the event being handled."""

    #: The thing asked for can't be read or compared (gone, not a commit, too big to compare,
    #: behind an unusable key): tolerated; the message says what is known and why.
    UNREADABLE = "unreadable"
    #: An answer, not a failure: the caller expects it (a conditional write whose condition failed).
    ANSWER = "answer"
    #: The service or the network may answer differently soon: botocore retried; raise so Lambda
    #: retries the event.
    TRANSIENT = "transient"
    #: The deployment is wrong (a table, secret, key or parameter missing or unusable): raise with
    #: what to fix; the event waits in the dead-letter queue to be redriven once it is fixed.
    CONFIGURATION = "configuration"
    #: The notifier sent a request the service calls malformed (a required field missing, a value
    #: it never sends): raise; a bug to report, the event is kept.
    BUG = "bug"


@dataclass(frozen=True)
class ErrorMeaning:
    """How to handle one code, and what to say: the reason shown (unreadable) or what to fix."""

    handling: Handling
    says: str


def _unreadable(reason: str) -> ErrorMeaning:
    return ErrorMeaning(Handling.UNREADABLE, reason)


def _bug(what: str) -> ErrorMeaning:
    return ErrorMeaning(
        Handling.BUG, f"{what}: the notifier's request was malformed; please report this with the log line"
    )


_TRANSIENT = ErrorMeaning(Handling.TRANSIENT, "Lambda retries the event")

#: Why a commit can't be read, worded the same by every reader (a push renders identically
#: whether its commits come from CodeCommit or from a local git repository).
NOT_A_COMMIT = "no commit has this id in the repository"
INVALID_COMMIT_ID = "not a valid commit id"
REPOSITORY_GONE = "the repository no longer exists"
PULL_REQUEST_GONE = "it does not exist or was removed"

_CODECOMMIT: dict[str, ErrorMeaning] = {
    # the thing asked for is not there (any more), or is not what was asked for
    "CommitDoesNotExistException": _unreadable(NOT_A_COMMIT),
    "CommitIdDoesNotExistException": _unreadable(NOT_A_COMMIT),
    "InvalidCommitException": _unreadable(INVALID_COMMIT_ID),
    "InvalidCommitIdException": _unreadable(INVALID_COMMIT_ID),
    "RepositoryDoesNotExistException": _unreadable(REPOSITORY_GONE),
    "BranchDoesNotExistException": _unreadable("no such branch"),
    "InvalidBranchNameException": _unreadable("not a branch name CodeCommit accepts"),
    "FolderDoesNotExistException": _unreadable("the reference has no readable tree"),
    "PullRequestDoesNotExistException": _unreadable(PULL_REQUEST_GONE),
    "InvalidPullRequestIdException": _unreadable("not a valid pull request id"),
    "RepositoryNotAssociatedWithPullRequestException": _unreadable(
        "the pull request is not in that repository"
    ),
    "CommentDoesNotExistException": _unreadable(PULL_REQUEST_GONE),
    "CommentDeletedException": _unreadable("it was deleted"),
    "InvalidCommentIdException": _unreadable("not a valid comment id"),
    "InvalidRevisionIdException": _unreadable("not a valid revision id"),
    "RevisionNotCurrentException": _unreadable("the pull request has a newer revision"),
    # can't compare: the service will not compute a merge base for histories this far apart or
    # this large (GetMergeOptions), so the tip is shown, as for a history that can't be read
    "TipsDivergenceExceededException": _unreadable("the histories are too far apart to compare"),
    "MaximumFileContentToLoadExceededException": _unreadable(
        "the histories hold too much file content for CodeCommit to compare"
    ),
    "MaximumItemsToCompareExceededException": _unreadable(
        "the histories differ in too many files for CodeCommit to compare"
    ),
    # the repository's KMS key can't be used: the message says so (an operator sees it in the
    # channel); fixing the key and redriving is not needed to learn what happened
    "EncryptionKeyAccessDeniedException": _unreadable("the repository's KMS key cannot be used"),
    "EncryptionKeyDisabledException": _unreadable("the repository's KMS key is disabled"),
    "EncryptionKeyNotFoundException": _unreadable("the repository's KMS key was not found"),
    "EncryptionKeyUnavailableException": _unreadable("the repository's KMS key is unavailable"),
    # the service's own failures, and a paginator token it no longer takes (a retry starts over)
    "EncryptionIntegrityChecksFailedException": _TRANSIENT,
    "InvalidContinuationTokenException": _TRANSIENT,
    # requests the notifier never sends: every required field is given, limits are kept
    "RepositoryNameRequiredException": _bug("CodeCommit says the repository name is missing"),
    "InvalidRepositoryNameException": _bug("CodeCommit refused the repository name the event gave"),
    "CommitIdRequiredException": _bug("CodeCommit says the commit id is missing"),
    "CommitRequiredException": _bug("CodeCommit says the commit specifier is missing"),
    "CommitIdsListRequiredException": _bug("CodeCommit says the list of commit ids is empty"),
    "CommitIdsLimitExceededException": _bug("CodeCommit says more than 100 commit ids were asked at once"),
    "BranchNameRequiredException": _bug("CodeCommit says the branch name is missing"),
    "PathRequiredException": _bug("CodeCommit says the folder path is missing"),
    "InvalidPathException": _bug("CodeCommit refused the folder path"),
    "PathDoesNotExistException": _bug("CodeCommit says the folder path does not exist"),
    "InvalidMaxResultsException": _bug("CodeCommit refused the page size"),
    "InvalidConflictDetailLevelException": _bug("CodeCommit refused a conflict detail level"),
    "InvalidConflictResolutionStrategyException": _bug("CodeCommit refused a conflict resolution strategy"),
    "PullRequestIdRequiredException": _bug("CodeCommit says the pull request id is missing"),
    "RevisionIdRequiredException": _bug("CodeCommit says the revision id is missing"),
    "CommentIdRequiredException": _bug("CodeCommit says the comment id is missing"),
    # ListPullRequests (the review queue, build status): asked for OPEN, with no author filter
    "InvalidPullRequestStatusException": _bug("CodeCommit refused the pull-request status asked for"),
    "AuthorDoesNotExistException": _bug("CodeCommit says the author filter names no one"),
    "InvalidAuthorArnException": _bug("CodeCommit refused the author filter"),
}

_DYNAMODB: dict[str, ErrorMeaning] = {
    "ConditionalCheckFailedException": ErrorMeaning(
        Handling.ANSWER, "the conditional write's condition failed: someone else holds the claim"
    ),
    "ProvisionedThroughputExceededException": _TRANSIENT,
    "RequestLimitExceeded": _TRANSIENT,
    "ThrottlingException": _TRANSIENT,
    "InternalServerError": _TRANSIENT,
    "TransactionConflictException": _TRANSIENT,
    "ReplicatedWriteConflictException": _TRANSIENT,
    "ResourceNotFoundException": ErrorMeaning(
        Handling.CONFIGURATION, "check STATE_TABLE_NAME and that the table exists in this region"
    ),
    "ItemCollectionSizeLimitExceededException": _bug(
        "DynamoDB says an item collection is too large, but the state table has no local index"
    ),
}

_SECRETS_MANAGER: dict[str, ErrorMeaning] = {
    "ResourceNotFoundException": ErrorMeaning(
        Handling.CONFIGURATION, "the webhook secret does not exist: check SLACK_WEBHOOK_SECRET_ARN"
    ),
    "InvalidParameterException": ErrorMeaning(
        Handling.CONFIGURATION, "Secrets Manager refused the secret id: check SLACK_WEBHOOK_SECRET_ARN"
    ),
    "InvalidRequestException": ErrorMeaning(
        Handling.CONFIGURATION, "the secret is scheduled for deletion or disabled: restore it"
    ),
    "DecryptionFailure": ErrorMeaning(
        Handling.CONFIGURATION, "grant the function's role kms:Decrypt on the secret's KMS key"
    ),
    "InternalServiceError": _TRANSIENT,
}

_SSM: dict[str, ErrorMeaning] = {
    "ParameterNotFound": ErrorMeaning(
        Handling.CONFIGURATION, "the USER_MAP_PARAMETER parameter does not exist in this region"
    ),
    "ParameterVersionNotFound": ErrorMeaning(
        Handling.CONFIGURATION, "USER_MAP_PARAMETER names a version of the parameter that does not exist"
    ),
    "InvalidKeyId": ErrorMeaning(
        Handling.CONFIGURATION, "the parameter's KMS key can't be used: grant kms:Decrypt on it"
    ),
    "InternalServerError": _TRANSIENT,
}

_CODEPIPELINE: dict[str, ErrorMeaning] = {
    "PipelineNotFoundException": ErrorMeaning(
        Handling.CONFIGURATION,
        "no pipeline has that name in this account and region: check the pipeline names",
    ),
    # an execution or pipeline version an event named, gone since (old executions expire)
    "PipelineExecutionNotFoundException": _unreadable("the pipeline execution can no longer be read"),
    "PipelineVersionNotFoundException": _unreadable("that version of the pipeline no longer exists"),
    "InvalidNextTokenException": _TRANSIENT,
    "ValidationException": _bug("CodePipeline refused the request's parameters"),
}

#: botocore service name → error code → its meaning (see the module docstring).
ERRORS: dict[str, dict[str, ErrorMeaning]] = {
    "codecommit": _CODECOMMIT,
    "codepipeline": _CODEPIPELINE,
    "dynamodb": _DYNAMODB,
    "secretsmanager": _SECRETS_MANAGER,
    "ssm": _SSM,
}


def meaning(service: str, code: str) -> ErrorMeaning | None:
    """What ``code`` means from ``service``; None for a code its model does not list."""
    return ERRORS.get(service, {}).get(code)


def unreadable_reasons(service: str) -> dict[str, str]:
    """Every code of ``service`` that means "can't read or compare", with the reason to show."""
    return {
        code: meaning.says
        for code, meaning in ERRORS.get(service, {}).items()
        if meaning.handling is Handling.UNREADABLE
    }
