"""Settings for pull-request messages, read once per container (see the README's configuration table).

=========================  ==============================================================
variable                   what
=========================  ==============================================================
``USER_MAP``               JSON object: identity → Slack member id (see :mod:`.people`)
``USER_MAP_FILE``          a JSON file with the same object, e.g. shipped in the bundle;
                           a relative path is read from the function's root
``USER_MAP_PARAMETER``     an SSM parameter (String or SecureString) holding the object;
                           for maps too big for Lambda's 4 KB of environment
``REVIEW_COMMANDS``        JSON object: word → command, or null (see :mod:`.commands`)
``PULL_REQUEST_EVENTS``    which kinds post, e.g. ``default,-comment`` or ``opened,merged``
=========================  ==============================================================

The three map sources are merged: the file first, then the parameter, then ``USER_MAP`` (a key
in a later source wins).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from handler.errors import ConfigurationError
from handler.model import IdentityMatch
from handler.pull_requests.commands import DEFAULT_COMMANDS, parse_review_commands
from handler.pull_requests.model import ActivityKind, ReviewCommand
from handler.pull_requests.people import UserMap

log = logging.getLogger(__name__)

#: The pseudo-kind for comments that start with a review command.
REVIEW_COMMAND = "review-command"
#: Off by default: edits repeat what was already posted; rule changes are housekeeping.
QUIET_BY_DEFAULT = frozenset({ActivityKind.COMMENT_EDITED, ActivityKind.RULE_CHANGED})
DEFAULT_KINDS = frozenset(kind for kind in ActivityKind if kind not in QUIET_BY_DEFAULT)
MAX_USER_MAP_BYTES = 1_000_000


@dataclass(frozen=True)
class PullRequestSettings:
    """What pull-request messages may vary.

    Attributes:
        user_map: identity → chat user.
        commands: review-command words (casefolded) → command.
        kinds: the kinds that post.
        review_commands: whether comments starting with a command post (even if ``comment`` is off).
        description_chars: characters of a description shown on "opened".
        comment_chars: characters of a comment shown.
    """

    user_map: UserMap = field(default_factory=UserMap)
    commands: Mapping[str, ReviewCommand] = field(
        default_factory=lambda: {word.casefold(): command for word, command in DEFAULT_COMMANDS.items()}
    )
    kinds: frozenset[ActivityKind] = DEFAULT_KINDS
    review_commands: bool = True
    description_chars: int = 600
    comment_chars: int = 1_200

    def posts(self, kind: ActivityKind, *, is_command: bool = False) -> bool:
        """Whether a message of this kind is posted."""
        if is_command:
            return self.review_commands
        return kind in self.kinds

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, read_parameter: Callable[[str], str] | None = None
    ) -> PullRequestSettings:
        """Read and validate; raise :class:`ConfigurationError` naming the setting to fix."""
        kinds, review_commands = parse_event_kinds(environ.get("PULL_REQUEST_EVENTS", ""))
        user_map = load_user_map(environ, read_parameter).matching(identity_match_of(environ))
        warn_of_name_keys(user_map)
        return cls(
            user_map=user_map,
            commands=parse_review_commands(environ.get("REVIEW_COMMANDS", "")),
            kinds=kinds,
            review_commands=review_commands,
        )


def identity_match_of(environ: Mapping[str, str]) -> IdentityMatch:
    """``IDENTITY_MATCH``, read with the function's own parser; unset: :attr:`IdentityMatch.ARN`.

    With ``arn``, ``USER_MAP`` keys that are names or e-mails are never used; they are logged
    (:func:`warn_of_name_keys`) whenever the settings are read, so a map written for ``name`` does
    not silently stop mentioning people.
    """
    text = environ.get("IDENTITY_MATCH", "").strip()
    try:
        return IdentityMatch.parse(text) if text else IdentityMatch.ARN
    except ValueError as error:
        raise ConfigurationError(f"IDENTITY_MATCH {error}") from error


def warn_of_name_keys(user_map: UserMap) -> None:
    """Log the ``USER_MAP`` keys that ``IDENTITY_MATCH=arn`` ignores, with what to write instead."""
    if user_map.identity_match is IdentityMatch.ARN and user_map.name_keys:
        shown = ", ".join(sorted(user_map.name_keys)[:10])
        log.warning(
            "USER_MAP keys %s are not ARNs: with IDENTITY_MATCH=arn they match a GitLab username "
            "spelled exactly so, never a CodeCommit user, session or e-mail (a role's session chooses "
            "those): key CodeCommit people by full ARN, or set IDENTITY_MATCH=name knowing anyone "
            "who can assume a role can be mentioned as them (docs/security.md)",
            shown,
        )


def load_user_map(environ: Mapping[str, str], read_parameter: Callable[[str], str] | None) -> UserMap:
    """Merge the file, the SSM parameter and ``USER_MAP``, in that order."""
    user_map = UserMap()
    file_name = environ.get("USER_MAP_FILE", "").strip()
    if file_name:
        path = Path(file_name)
        if not path.is_absolute():
            path = Path(environ.get("LAMBDA_TASK_ROOT") or Path.cwd()) / path
        try:
            if path.stat().st_size > MAX_USER_MAP_BYTES:
                raise ConfigurationError(f"USER_MAP_FILE {file_name!r} is over {MAX_USER_MAP_BYTES} bytes")
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigurationError(
                f"USER_MAP_FILE {file_name!r} cannot be read ({type(error).__name__}); ship it in the "
                "bundle or give an absolute path"
            ) from error
        user_map = user_map.merged(UserMap.parse(text, f"USER_MAP_FILE {file_name!r}"))
    parameter = environ.get("USER_MAP_PARAMETER", "").strip()
    if parameter:
        if read_parameter is None:
            raise ConfigurationError("USER_MAP_PARAMETER is set, but this runtime cannot read SSM parameters")
        from_parameter = UserMap.parse(read_parameter(parameter), f"USER_MAP_PARAMETER {parameter!r}")
        user_map = user_map.merged(from_parameter)
    return user_map.merged(UserMap.parse(environ.get("USER_MAP", ""), "USER_MAP"))


def parse_event_kinds(text: str) -> tuple[frozenset[ActivityKind], bool]:
    """``PULL_REQUEST_EVENTS``: comma-separated kinds; ``default`` and ``all`` expand, ``-kind`` removes.

    Returns the kinds that post and whether review commands post.
    """
    names = {kind.value: kind for kind in ActivityKind}
    tokens = [token.strip() for token in text.split(",") if token.strip()] or ["default"]
    kinds: set[ActivityKind] = set()
    review_commands = False
    for token in tokens:
        removing = token.startswith("-")
        name = token.removeprefix("-").strip()
        if name == "default":
            chosen, commands = set(DEFAULT_KINDS), True
        elif name == "all":
            chosen, commands = set(ActivityKind), True
        elif name == REVIEW_COMMAND:
            chosen, commands = set(), True
        elif name in names:
            chosen, commands = {names[name]}, False
        else:
            raise ConfigurationError(
                f"PULL_REQUEST_EVENTS: {name[:40]!r} is not one of default, all, {REVIEW_COMMAND}, "
                + ", ".join(names)
            )
        if removing:
            kinds -= chosen
            review_commands = review_commands and not commands
        else:
            kinds |= chosen
            review_commands = review_commands or commands
    return frozenset(kinds), review_commands
