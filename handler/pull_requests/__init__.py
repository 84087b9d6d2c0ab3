"""Code review's own rules: who a pull request's people are, what its events mean, what to post.

* :mod:`handler.pull_requests.model`: activities (what an event says) and notices (what to post);
* :mod:`handler.pull_requests.people`: ``USER_MAP``, and who is mentioned where;
* :mod:`handler.pull_requests.commands`: ``/review-done``, ``/re-review``, ``/ping-reviewers``;
* :mod:`handler.pull_requests.settings`: the pull-request settings;
* :mod:`handler.pull_requests.pipeline`: drafts, event kinds and the flow between the stages
  (parse in :mod:`handler.sources.eventbridge`, read in :mod:`handler.enrich.pull_request`,
  render in :mod:`handler.render.pull_request`).

This package's own import is light on purpose: ``handler.app`` loads the pipeline only when a
pull-request event arrives, so push events don't pay for it at cold start. See the README's
"Pull requests".
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
