"""Pull requests, comments and approvals: from CodeCommit's EventBridge events to Slack messages.

The pipeline is in :mod:`handler.pull_requests.pipeline`; see the README's "Pull requests". This
package's own import is light on purpose: ``handler.app`` loads the pipeline only when a
pull-request event arrives, so push events don't pay for it at cold start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from handler.pull_requests.pipeline import PullRequestRuntime


def lazy_aws_runtime(
    environ: Mapping[str, str], client: Callable[[str, str | None], Any]
) -> Callable[[], PullRequestRuntime]:
    """The deployed pull-request runtime, built (and its modules imported) on first use."""

    def build() -> PullRequestRuntime:
        from handler.pull_requests.pipeline import aws_pull_request_runtime

        return aws_pull_request_runtime(environ, client)

    return build
