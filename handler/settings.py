"""Settings read from the environment once per container, validated with errors that say what to fix.

Every variable is listed in the README's configuration table. Rendering settings are a frozen
:class:`RenderSettings` handed to the pure renderer, which never reads the environment itself.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from handler.errors import ConfigurationError

#: The original design's colours: develop yellow, main and master red, everything else purple.
DEFAULT_COLORS: tuple[tuple[str, str], ...] = (
    ("develop", "#FFE400"),
    ("main", "#FF0000"),
    ("master", "#FF0000"),
    ("*", "#5F00FF"),
)
FALLBACK_COLOR = "#5F00FF"
_HEX_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")

SLACK_MESSAGE_LIMIT = 40_000
SLACK_SECTION_LIMIT = 3_000


@dataclass(frozen=True)
class RenderSettings:
    """What the renderer may vary. The defaults are what the deployed stack uses.

    Attributes:
        colors: ``(pattern, colour)`` pairs. A pattern matches a branch's short name
            (``develop``, ``release/*``) or, when it starts with ``refs/``, the full ref name
            (``refs/tags/*``). An exact name wins over a glob; globs are tried in order.
        max_files: changed paths listed per parent diff before "and N more files".
        max_body_chars: characters of the commit message body shown before it is cut.
        max_refs: references shown in full in one message; the rest are listed by name.
        max_commits: commits listed for a push before "… and N more commits".
        message_limit: characters (UTF-16 code units) in the whole message, at most 40,000.
        section_limit: characters in one attachment's text, at most 3,000.
    """

    colors: tuple[tuple[str, str], ...] = DEFAULT_COLORS
    max_files: int = 20
    max_body_chars: int = 800
    max_refs: int = 10
    max_commits: int = 10
    message_limit: int = SLACK_MESSAGE_LIMIT
    section_limit: int = SLACK_SECTION_LIMIT

    def color_for(self, full_ref: str, short_name: str) -> str:
        """The colour of a reference's attachment bar."""
        for pattern, color in self.colors:
            if pattern in (short_name, full_ref):
                return color
        for pattern, color in self.colors:
            subject = full_ref if pattern.startswith("refs/") else short_name
            if any(char in pattern for char in "*?[") and fnmatch.fnmatchcase(subject, pattern):
                return color
        return FALLBACK_COLOR


@dataclass(frozen=True)
class Settings:
    """Everything the function reads from its environment."""

    render: RenderSettings = field(default_factory=RenderSettings)
    webhook_url: str | None = None
    webhook_secret_arn: str | None = None
    delivery_max_attempts: int = 5
    slack_timeout_seconds: float = 10.0
    codecommit_max_attempts: int = 5
    codecommit_timeout_seconds: float = 10.0
    #: Commits read at most per branch push when listing what it added (one API call each on a
    #: linear history, since CodeCommit has no log API); past it the counts are lower bounds.
    max_commits_read: int = 50

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate every setting; raise :class:`ConfigurationError` naming the bad one."""
        render = RenderSettings(
            colors=parse_colors(environ.get("BRANCH_COLORS", "")),
            max_files=_int(environ, "MAX_FILES_PER_DIFF", 20, 1, 500),
            max_body_chars=_int(environ, "MAX_BODY_CHARS", 800, 0, SLACK_SECTION_LIMIT),
            max_refs=_int(environ, "MAX_REFS_PER_MESSAGE", 10, 1, 20),
            max_commits=_int(environ, "MAX_COMMITS_LISTED", 10, 1, 50),
            message_limit=_int(environ, "MAX_MESSAGE_CHARS", SLACK_MESSAGE_LIMIT, 2_000, SLACK_MESSAGE_LIMIT),
            section_limit=_int(environ, "MAX_SECTION_CHARS", SLACK_SECTION_LIMIT, 500, SLACK_SECTION_LIMIT),
        )
        return cls(
            render=render,
            webhook_url=environ.get("SLACK_WEBHOOK_URL") or None,
            webhook_secret_arn=environ.get("SLACK_WEBHOOK_SECRET_ARN") or None,
            delivery_max_attempts=_int(environ, "DELIVERY_MAX_ATTEMPTS", 5, 1, 20),
            slack_timeout_seconds=float(_int(environ, "SLACK_TIMEOUT_SECONDS", 10, 1, 60)),
            codecommit_max_attempts=_int(environ, "CODECOMMIT_MAX_ATTEMPTS", 5, 1, 20),
            codecommit_timeout_seconds=float(_int(environ, "CODECOMMIT_TIMEOUT_SECONDS", 10, 1, 60)),
            max_commits_read=_int(environ, "MAX_COMMITS_READ", 50, 1, 500),
        )


def parse_colors(text: str) -> tuple[tuple[str, str], ...]:
    """Parse ``BRANCH_COLORS``: a JSON object of pattern → ``#RRGGBB``, replacing the defaults."""
    if not text.strip():
        return DEFAULT_COLORS
    try:
        mapping = json.loads(text)
    except ValueError as error:
        raise ConfigurationError(f"BRANCH_COLORS is not valid JSON: {error}") from error
    if not isinstance(mapping, dict) or not mapping:
        raise ConfigurationError('BRANCH_COLORS must be a JSON object like {"main": "#FF0000"}')
    for pattern, color in mapping.items():
        if not isinstance(color, str) or not _HEX_COLOR.match(color):
            raise ConfigurationError(
                f"BRANCH_COLORS[{pattern!r}] must be a colour like #FF0000, got {color!r}"
            )
    return tuple((str(pattern), color) for pattern, color in mapping.items())


def _int(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from error
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be between {low} and {high}, got {value}")
    return value
