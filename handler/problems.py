"""Reporting every problem in a JSON configuration document at once, each by its path, with its fix.

``ROUTES`` and ``DESTINATIONS`` are written by hand in ``cdk.json``; a deploy that stops at the
first typo, then at the next one, wastes the reader's time. The parsers walk the whole document,
:meth:`Problems.add` one line per problem (``routes[1].events[0]: 'psuh' is not an event kind; did
you mean 'push'? ...``), and raise one :class:`DocumentError` listing them all.

::

    ValueError
    └── DocumentError          a configuration document is invalid; .problems lists each one
        ├── RoutingError       (handler.routing) ROUTES
        └── DestinationError   (handler.deliver.destinations) DESTINATIONS
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

__all__ = ["DocumentError", "Problems", "did_you_mean", "path_of"]

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)


class DocumentError(ValueError):
    """A configuration document is invalid; ``problems`` lists each problem, path first.

    The message reads after the variable's name (``ROUTES has 2 problems:`` then one indented
    line per problem), which is how :func:`handler.settings.read_settings` reports it.
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        count = "1 problem" if len(self.problems) == 1 else f"{len(self.problems)} problems"
        super().__init__(f"has {count}:" + "".join(f"\n    - {problem}" for problem in self.problems))


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``" (did you mean 'push'?)"`` when ``word`` is close to one of ``choices``, else ``""``."""
    if not isinstance(word, str):
        return ""
    import difflib  # here: only a configuration mistake needs it, and a cold start would pay for it

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close and word.lower() != word:
        close = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def path_of(parent: str, key: str | int) -> str:
    """The path of ``key`` inside ``parent``: ``routes[1]``, ``routes[1].events``, ``["odd key"]``."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _PLAIN_KEY.fullmatch(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{json.dumps(key)}]"


_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),
    (int, "a number"),
    (float, "a number"),
    (str, "a string"),
    (list, "a list"),
    (dict, "an object"),
)


def describe(value: object) -> str:
    """A JSON name for a value's type, as the reader wrote it (``a number``, ``an object``)."""
    if value is None:
        return "null"
    return next((name for kind, name in _TYPE_NAMES if isinstance(value, kind)), type(value).__name__)


class Problems:
    """Collects problems as ``path: what is wrong; what to write instead``."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, path: str, message: str) -> None:
        """Record one problem at ``path`` (empty: the whole document)."""
        self.lines.append(f"{path}: {message}" if path else message)

    def unknown_keys(self, path: str, value: Mapping[str, Any], allowed: Collection[str]) -> None:
        """Record each key of ``value`` outside ``allowed``, with the closest allowed key."""
        for key in value:
            if key not in allowed:
                self.add(
                    path_of(path, str(key)),
                    f"unknown key{did_you_mean(key, allowed)}; the keys are {', '.join(allowed)}",
                )

    def __bool__(self) -> bool:
        return bool(self.lines)
