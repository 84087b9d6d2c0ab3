"""The I/O edges every event path shares: where commits and pull requests are read, where state is
kept, where each destination's secret comes from, and who posts to it.

Every pipeline (``handler/pipelines/``) takes a :class:`Runtime` and imports this module downward;
nothing here imports a pipeline or an entry. The deployed function builds its runtime with
:func:`aws_runtime` (CodeCommit through botocore, state in DynamoDB, secrets from Secrets Manager);
``python -m handler`` and ``make demo`` build one over a local git repository and a local store.
Nothing else differs between them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from handler.aws.clients import AwsClients
from handler.deadline import Deadline
from handler.deliver.senders import Senders
from handler.deliver.webhook_url import DestinationSecrets
from handler.enrich.reader import CodeCommitReader, CommitReader, botocore_config
from handler.metrics import Metrics
from handler.settings import Settings
from handler.state import StateStore
from handler.state.heads import RefHeads
from handler.state.ledger import DeliveryLedger

if TYPE_CHECKING:  # the pull-request modules load only when such an event arrives: pushes never pay
    from handler.enrich.codepipeline import PipelineRunRuntime
    from handler.enrich.pull_request_reader import PullRequestReader
    from handler.model import Repository
    from handler.pull_requests.settings import PullRequestSettings


@dataclass
class PullRequestRuntime:
    """The pull-request path's I/O edges: where pull requests are read, and its state.

    Settings are loaded on first use, so a bad ``USER_MAP`` fails pull-request events (loudly,
    with the setting's name) without stopping push messages.
    """

    load_settings: Callable[[], PullRequestSettings]
    reader_for: Callable[[Repository], PullRequestReader]
    #: None: the push pipeline's store (``Runtime.state``), or this process's memory without one.
    state: StateStore | None = None
    clock: Callable[[], float] = time.time

    @cached_property
    def settings(self) -> PullRequestSettings:
        """The settings, read once."""
        return self.load_settings()


def offline_runtime(settings: PullRequestSettings | None = None) -> PullRequestRuntime:
    """Reads nothing from AWS (local previews): messages show what the event says."""
    from handler.enrich.pull_request_reader import OfflinePullRequestReader
    from handler.pull_requests.settings import PullRequestSettings

    return PullRequestRuntime(
        load_settings=lambda: settings or PullRequestSettings(),
        reader_for=lambda repository: OfflinePullRequestReader(),
    )


def aws_pull_request_runtime(
    environ: Mapping[str, str], client: Callable[[str, str | None], Any], state: StateStore | None = None
) -> PullRequestRuntime:
    """The deployed runtime: CodeCommit in the repository's region, ``USER_MAP_PARAMETER`` from SSM."""
    from handler.enrich.pull_request_reader import CodeCommitPullRequestReader
    from handler.pull_requests.settings import PullRequestSettings

    def read_parameter(name: str) -> str:
        response = client("ssm", None).get_parameter(Name=name, WithDecryption=True)
        return str(response["Parameter"]["Value"])

    return PullRequestRuntime(
        load_settings=lambda: PullRequestSettings.from_environ(environ, read_parameter=read_parameter),
        reader_for=lambda repository: CodeCommitPullRequestReader(client("codecommit", repository.region)),
        state=state,
    )


def lazy_aws_runtime(
    environ: Mapping[str, str], client: Callable[[str, str | None], Any]
) -> Callable[[], PullRequestRuntime]:
    """The deployed pull-request runtime, built on first use: push events never pay for it."""
    return lambda: aws_pull_request_runtime(environ, client)


@dataclass
class Runtime:
    """The I/O edges of the pipeline: where commits are read, state is kept and messages go.

    Attributes:
        settings: the validated settings.
        reader_for: the commit reader for a repository.
        secrets: where each destination's webhook URL or bot token comes from.
        state: the state store: delivery marks always, and branch heads when ``track_heads``.
            None: no redelivery guard and no commit lists (each branch shows its tip).
        track_heads: remember branch heads, so a push lists every commit it added.
        pull_requests: pull-request events' reader and settings (handler/pull_requests/); they
            keep drafts in ``state`` too.
    """

    settings: Settings
    reader_for: Callable[[Repository], CommitReader]
    secrets: DestinationSecrets
    state: StateStore | None = None
    track_heads: bool = True
    #: Pull-request events' reader and settings, or a factory for them (None: read nothing from AWS).
    pull_requests: PullRequestRuntime | Callable[[], PullRequestRuntime] | None = None
    #: The Slack Web API's base URL for app destinations (None: Slack's; the demo and tests use a stand-in).
    slack_api_url: str | None = None
    #: This invocation's metrics (the Lambda entry writes them after each invocation; elsewhere kept).
    metrics: Metrics = field(default_factory=Metrics)
    #: The deployed function's AWS clients, whose every call the invocation's deadline bounds.
    aws: AwsClients | None = None
    #: Pipeline and build events' CodePipeline/CodeCommit readers, or a factory for them (None: the
    #: messages say what the event says; handler/pipelines/pipeline_run.py).
    pipeline_runs: PipelineRunRuntime | Callable[[], PipelineRunRuntime] | None = None
    _senders: Senders | None = field(default=None, repr=False)

    def start_invocation(self, deadline: Deadline) -> None:
        """Bound every AWS call from now on by this invocation's ``deadline``."""
        if self.aws is not None:
            self.aws.deadline = deadline

    @property
    def ledger(self) -> DeliveryLedger | None:
        """Delivery marks, when there is a store."""
        return DeliveryLedger(self.state) if self.state is not None else None

    @property
    def heads(self) -> RefHeads | None:
        """Recorded branch heads, when there is a store and heads are tracked."""
        return RefHeads(self.state) if self.state is not None and self.track_heads else None

    def reader(self, repository: Repository, deadline: Deadline) -> CommitReader:
        """The commit reader for ``repository``, bounded by this invocation's ``deadline`` when it
        reads over the network (a reader with ``bounded_by``: CodeCommit's); local git is not."""
        reader = self.reader_for(repository)
        bounded_by = getattr(reader, "bounded_by", None)
        return bounded_by(deadline) if callable(bounded_by) else reader

    @property
    def senders(self) -> Senders:
        """Each destination's sender (handler/deliver/senders.py), made on first use and kept."""
        if self._senders is None:
            self._senders = Senders(self.settings, self.secrets, slack_api_url=self.slack_api_url)
        return self._senders


def aws_runtime(settings: Settings, environ: dict[str, str] | None = None) -> Runtime:
    """The runtime the deployed function uses: CodeCommit and Secrets Manager through botocore,
    state in DynamoDB when ``STATE_TABLE_NAME`` is set (otherwise in memory, marks only), all
    clients from one session (:class:`~handler.aws.clients.AwsClients`); the webhook from the environment."""
    environ = dict(os.environ) if environ is None else environ
    from handler.state.dynamodb import state_client_config

    codecommit_config = botocore_config(
        max_attempts=settings.codecommit_max_attempts, read_timeout=settings.codecommit_timeout_seconds
    )
    clients = AwsClients(codecommit_config, state_client_config())
    table_name = settings.state_table_name
    state: StateStore
    if table_name:
        from handler.state.dynamodb import DynamoDBStore

        # The region rule botocore follows: AWS_REGION (which Lambda sets) before AWS_DEFAULT_REGION,
        # the client comes from the one shared session.
        region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None
        state = DynamoDBStore(clients.get("dynamodb", region), table_name)
    else:
        from handler.state.memory import MemoryStore

        state = MemoryStore()
    return Runtime(
        settings=settings,
        reader_for=lambda repository: CodeCommitReader(
            clients.get("codecommit", repository.region), repository.name
        ),
        secrets=DestinationSecrets(
            url=settings.webhook_url,
            secret_arn=settings.webhook_secret_arn,
            secrets_client=lambda region: clients.get("secretsmanager", region),
            flavor=settings.destination_flavor,
        ),
        state=state,
        track_heads=table_name is not None,
        pull_requests=lazy_aws_runtime(environ, clients.get),
        metrics=Metrics.to_stdout(settings.metrics_namespace, by_repository=settings.metrics_by_repository),
        aws=clients,
        slack_api_url=settings.slack_api_url,  # SLACK_API_URL: every Web API call, the notifier's too
        pipeline_runs=lambda: pipeline_readers(clients.get),
    )


def pipeline_readers(client: Callable[[str, str | None], Any]) -> PipelineRunRuntime:
    """The pipeline path's readers over the notifier's clients (made on its first event)."""
    from handler.enrich.codepipeline import PipelineRunRuntime

    return PipelineRunRuntime(
        lambda region: client("codepipeline", region), lambda region: client("codecommit", region)
    )
