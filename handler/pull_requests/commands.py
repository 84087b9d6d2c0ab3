"""Review commands: a pull-request comment whose first word asks someone to act.

==================  =====================  ============================================
command             default aliases        who is mentioned
==================  =====================  ============================================
``/review-done``    ``/리뷰완료``           the author (a reviewer says the review is done)
``/re-review``      ``/리뷰다시``           the reviewers (the author asks for another look)
``/ping-reviewers`` ``/리뷰어호출``         the reviewers (the author has a question)
==================  =====================  ============================================

``REVIEW_COMMANDS`` is a JSON object from a word to a command name (``review-done``,
``re-review``, ``ping-reviewers``), or to ``null`` to retire a word: ``{"/lgtm": "review-done",
"/리뷰완료": null}`` adds ``/lgtm`` and drops the Korean alias. Words match without regard to case.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from handler.errors import ConfigurationError
from handler.pull_requests.model import ReviewCommand

DEFAULT_COMMANDS: Mapping[str, ReviewCommand] = {
    "/review-done": ReviewCommand.REVIEW_DONE,
    "/re-review": ReviewCommand.RE_REVIEW,
    "/ping-reviewers": ReviewCommand.PING_REVIEWERS,
    "/리뷰완료": ReviewCommand.REVIEW_DONE,
    "/리뷰다시": ReviewCommand.RE_REVIEW,
    "/리뷰어호출": ReviewCommand.PING_REVIEWERS,
}


def parse_review_commands(text: str) -> dict[str, ReviewCommand]:
    """``REVIEW_COMMANDS`` applied to the defaults; raise :class:`ConfigurationError` if malformed."""
    commands = {word.casefold(): command for word, command in DEFAULT_COMMANDS.items()}
    if not text.strip():
        return commands
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise ConfigurationError(f"REVIEW_COMMANDS is not valid JSON: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigurationError('REVIEW_COMMANDS must be a JSON object like {"/lgtm": "review-done"}')
    names = {command.value: command for command in ReviewCommand}
    for word, name in raw.items():
        if not word.startswith("/") or len(word) < 2 or any(char.isspace() for char in word):
            raise ConfigurationError(f"REVIEW_COMMANDS key {word[:40]!r} must be one word starting with /")
        if name is None:
            commands.pop(word.casefold(), None)
        elif isinstance(name, str) and name in names:
            commands[word.casefold()] = names[name]
        else:
            raise ConfigurationError(
                f"REVIEW_COMMANDS[{word[:40]!r}] must be one of {', '.join(names)} or null, got {name!r}"
            )
    return commands


def split_command(content: str, commands: Mapping[str, ReviewCommand]) -> tuple[ReviewCommand | None, str]:
    """The command a comment starts with (None if its first word is not one) and the rest of it."""
    stripped = content.lstrip()
    parts = stripped.split(maxsplit=1)
    if not parts:
        return None, content
    command = commands.get(parts[0].casefold())
    if command is None:
        return None, content
    return command, parts[1].strip() if len(parts) > 1 else ""
