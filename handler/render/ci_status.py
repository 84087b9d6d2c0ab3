"""Render: a CI pipeline run that failed, or that fixed a failure, as one message. Pure.

::

    text          :x: Pipeline <url|#31> failed on branch `main` in <project|group/project>
    attachment    <commit|`bcbb5ec`> Fix the flaky test — started by Administrator
                  Failed: `test` › `test-build` (script_failure)
      footer      GitLab · gitlab.example.com · group/project

Only failures and the first success after one are messages (the pipeline decides, from the
status it last recorded for the ref): a channel hears when the build breaks and when it mends,
not every green run. Every piece of run- or git-controlled text is escaped for the destination's
dialect; links come from :mod:`handler.render.links`.
"""

from __future__ import annotations

from typing import Any

from handler.model import PipelineRun, RunStatus
from handler.render.links import commit_url, ref_url, repository_url, web_base
from handler.render.markup import SLACK, Markup

FAILED_COLOR = "#D50200"
FIXED_COLOR = "#2EB886"
SHORT_ID = 7
_LINE_LIMIT = 300
_JOBS_LISTED = 5


def render_pipeline_run(run: PipelineRun, m: Markup = SLACK) -> dict[str, Any]:
    """The message for ``run`` in ``m``'s dialect."""
    repository = run.repository
    repo = m.link(repository_url(repository), m.escape(repository.name))
    kind = "tag" if run.is_tag else "branch"
    full_ref = f"refs/tags/{run.ref}" if run.is_tag else f"refs/heads/{run.ref}"
    ref = m.link(ref_url(repository, full_ref), m.code(run.ref, 100))
    number = m.link(web_base(run.url), m.escape(f"#{run.run_id}"))
    if run.status is RunStatus.FAILED:
        top = f":x: Pipeline {number} failed on {kind} {ref} in {repo}"
    else:
        top = f":white_check_mark: Pipeline {number} passed on {kind} {ref} in {repo} again, after a failure"
    lines = [_commit_line(run, m)]
    for stage, name, reason in run.failed_jobs[:_JOBS_LISTED]:
        because = f" ({m.escape(reason)})" if reason else ""
        where = " › ".join(m.code(part, 120) for part in (stage, name) if part.strip()) or "a job"
        lines.append(m.fit(f"Failed: {where}{because}", _LINE_LIMIT))
    if len(run.failed_jobs) > _JOBS_LISTED:
        lines.append(f"… and {len(run.failed_jobs) - _JOBS_LISTED} more failed jobs")
    attachment = {
        "color": FAILED_COLOR if run.status is RunStatus.FAILED else FIXED_COLOR,
        "fallback": m.fit(
            m.plain(f"Pipeline #{run.run_id} {run.status.value} on {run.ref} in {repository.name}"),
            _LINE_LIMIT,
        ),
        "text": "\n".join(lines),
        "footer": m.fit(m.plain(f"{repository.source_label} · {repository.name}"), _LINE_LIMIT),
    }
    return m.payload(m.fit(top, 1000), [m.attachment(attachment, markdown_in=["text"], at=run.finished_at)])


def _commit_line(run: PipelineRun, m: Markup) -> str:
    short = m.code(run.commit_id[:SHORT_ID], 20) if run.commit_id else "(unknown commit)"
    commit = m.link(commit_url(run.repository, run.commit_id), short) if run.commit_id else short
    title = f" {m.escape(run.commit_title)}" if run.commit_title else ""
    who = run.started_by.label
    by = f" — started by {m.escape(who)}" if who else ""
    return m.fit(f"{commit}{title}{by}", _LINE_LIMIT)
