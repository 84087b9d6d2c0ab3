"""One pull-request notice on its way out: rendered per destination, with the state writes that
follow its delivery. Shared by the pull-request path and its Slack-app threads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from handler.pull_requests.model import Activity, Notice
from handler.pull_requests.settings import PullRequestSettings
from handler.render.markup import SLACK, Markup
from handler.render.pull_request import render_notice
from handler.settings import RenderSettings


@dataclass(frozen=True)
class Outgoing:
    """One notice to post (rendered per destination), and the state writes that follow its delivery."""

    activity: Activity
    notice: Notice
    settings: PullRequestSettings
    limits: RenderSettings
    after_delivery: tuple[Callable[[], None], ...] = ()

    def render(self, markup: Markup = SLACK) -> dict[str, Any]:
        """The payload in ``markup``'s dialect."""
        return render_notice(self.notice, self.settings, self.limits, markup)

    @property
    def payload(self) -> dict[str, Any]:
        """The Slack payload."""
        return self.render()
