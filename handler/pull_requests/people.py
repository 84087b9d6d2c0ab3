"""People: who an IAM identity is in chat (``USER_MAP``), and who a pull request's reviewers are.

``USER_MAP`` is a JSON object from an identity to a chat user. A key is one of

* a full ARN: ``arn:aws:iam::123456789012:user/alice``,
  ``arn:aws:sts::123456789012:assumed-role/Dev/alice@example.com``;
* with ``IDENTITY_MATCH=name`` only: an IAM user name, an assumed-role session name or a
  federated user's name (``alice``), or an e-mail address (matched against session names and
  the e-mail CodeCommit passes on from session tags: ``alice@example.com``).

Session names and session-tag e-mails are chosen by whoever assumes the role, so a name key
mentions anyone who calls their session that. With the default ``IDENTITY_MATCH=arn`` name keys
are ignored (and logged once as such); see docs/security.md, "Who is who".

A value is a Slack member id (``U…`` or ``W…``, rendered ``<@U…>`` in Slack) or a Mattermost
username (rendered ``@name`` in Mattermost), or, for teams that post to both, an object with
either or both: ``{"slack": "U024BE7LH", "mattermost": "alice.kim"}``. A person is mentioned only
in the product they have a handle for; elsewhere they are shown by name. Values are validated
when the map is loaded, so a map can never make the notifier write ``<!channel>`` or ``@here``.
Lookups try the full ARN first, then (``IDENTITY_MATCH=name``) the e-mail, then the name; names
and e-mails match without regard to case.

Approval-pool members are ARNs, possibly with wildcards
(``arn:aws:sts::123456789012:assumed-role/CodeCommitReview/*``), or CodeCommit's short form
``CodeCommitApprovers:<account>:<name>``. A wildcard entry is listed as written ("anyone in role
CodeCommitReview") and expanded to every ``USER_MAP`` key that is a full ARN matching it.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from handler.errors import ConfigurationError
from handler.model import IdentityMatch, parse_pusher
from handler.pull_requests.model import Identity

SLACK_MEMBER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")
MATTERMOST_USERNAME = re.compile(r"[a-z][a-z0-9._-]{0,63}")
_BROADCAST_NAMES = frozenset({"all", "channel", "here", "everyone"})
_MAX_KEY = 2048
_APPROVERS_PREFIX = "CodeCommitApprovers:"


@dataclass(frozen=True)
class ChatUser:
    """The chat accounts a person can be mentioned as: ``handle`` (the first one given) and,
    when the map names both, ``mattermost_handle``."""

    handle: str
    mattermost_handle: str | None = None

    @property
    def slack(self) -> str | None:
        """The Slack member id, if there is one."""
        return self.handle if SLACK_MEMBER_ID.fullmatch(self.handle) else None

    @property
    def mattermost(self) -> str | None:
        """The Mattermost username, if there is one."""
        return self.mattermost_handle or (None if self.slack else self.handle)

    @property
    def mention(self) -> str:
        """``<@U024BE7LH>`` for a Slack member id, ``@alice`` for a Mattermost username."""
        return f"<@{self.slack}>" if self.slack else f"@{self.mattermost}"


@dataclass(frozen=True)
class Person:
    """Someone a message names: how to show them, and how to mention them if they are mapped.

    Attributes:
        label: what to show (not yet escaped): a name, or a pool pattern as a phrase.
        arn: the ARN (or pool entry) they came from.
        chat: their chat user, when ``USER_MAP`` has one.
    """

    label: str
    arn: str = ""
    chat: ChatUser | None = None

    def shown(self, *, mention: bool) -> str | None:
        """The mention when asked for and mapped; None means "show ``label``, escaped"."""
        if mention and self.chat is not None:
            return self.chat.mention
        return None


def validate_handle(value: object, key: str) -> ChatUser:
    """Check one map value; raise :class:`ConfigurationError` naming the key when it is not safe."""
    if isinstance(value, dict) and value and set(value) <= {"slack", "mattermost"}:
        slack = validate_handle(value["slack"], key).slack if "slack" in value else None
        mattermost = validate_handle(value["mattermost"], key).mattermost if "mattermost" in value else None
        if ("slack" in value and slack is None) or ("mattermost" in value and mattermost is None):
            raise ConfigurationError(
                f'USER_MAP[{key[:80]!r}] must be {{"slack": "U024BE7LH", "mattermost": "alice.kim"}} '
                "(either or both): a Slack member id under slack, a Mattermost username under mattermost"
            )
        return ChatUser(slack, mattermost) if slack else ChatUser(str(mattermost))
    if isinstance(value, str):
        handle = value.strip().removeprefix("@")
        if SLACK_MEMBER_ID.fullmatch(handle):
            return ChatUser(handle)
        if MATTERMOST_USERNAME.fullmatch(handle) and handle not in _BROADCAST_NAMES:
            return ChatUser(handle)
    raise ConfigurationError(
        f"USER_MAP[{key[:80]!r}] must be a Slack member id like U024BE7LH (or a Mattermost username "
        f'like alice.kim, or {{"slack": "U…", "mattermost": "alice.kim"}}), got {str(value)[:40]!r}'
    )


class UserMap:
    """The identity → chat user map, with the lookups the module docstring describes.

    ``identity_match`` says which keys a lookup may use: full ARNs only (:attr:`IdentityMatch.ARN`,
    the default), or also names and e-mails (:attr:`IdentityMatch.NAME`).
    """

    def __init__(
        self,
        entries: Mapping[str, ChatUser] | None = None,
        *,
        identity_match: IdentityMatch = IdentityMatch.ARN,
    ) -> None:
        self.identity_match = identity_match
        self._arns: dict[str, ChatUser] = {}
        self._names: dict[str, ChatUser] = {}
        self._keys: dict[str, ChatUser] = dict(entries or {})  # as written, for keys_of
        for key, chat in (entries or {}).items():
            if key.startswith("arn:"):
                self._arns[key] = chat
            else:
                self._names[key.casefold()] = chat

    def __len__(self) -> int:
        return len(self._arns) + len(self._names)

    @classmethod
    def parse(cls, text: str, source: str = "USER_MAP") -> UserMap:
        """Read a JSON object; raise :class:`ConfigurationError` saying what to fix."""
        if not text.strip():
            return cls()
        try:
            raw = json.loads(text)
        except ValueError as error:
            raise ConfigurationError(f"{source} is not valid JSON: {error}") from error
        if not isinstance(raw, dict):
            raise ConfigurationError(f'{source} must be a JSON object like {{"alice": "U024BE7LH"}}')
        entries = {}
        for key, value in raw.items():
            if not key.strip() or len(key) > _MAX_KEY:
                raise ConfigurationError(f"{source} has an empty or over-long key")
            entries[key.strip()] = validate_handle(value, key)
        return cls(entries)

    def merged(self, other: UserMap) -> UserMap:
        """This map with ``other``'s entries added (``other`` wins on the same key); this map's
        ``identity_match``."""
        combined = UserMap(identity_match=self.identity_match)
        combined._arns = {**self._arns, **other._arns}
        combined._names = {**self._names, **other._names}
        combined._keys = {**self._keys, **other._keys}
        return combined

    def keys_of(self, slack_member_id: str) -> list[str]:
        """Every key (as written) whose Slack member id is ``slack_member_id``: the reverse lookup a
        chat action starts from (who clicked → who they are in AWS)."""
        return [key for key, chat in self._keys.items() if chat.slack and chat.slack == slack_member_id]

    def entries(self) -> list[tuple[str, ChatUser]]:
        """Every key as written with its chat user, in map order (a chat action checks that no two
        people share the session name their keys reduce to)."""
        return list(self._keys.items())

    def matching(self, identity_match: IdentityMatch) -> UserMap:
        """The same entries, looked up as ``identity_match`` says."""
        return UserMap(identity_match=identity_match).merged(self)

    @property
    def name_keys(self) -> tuple[str, ...]:
        """The keys that are names or e-mails (casefolded): unused with :attr:`IdentityMatch.ARN`."""
        return tuple(self._names)

    def lookup(self, identity: Identity) -> ChatUser | None:
        """The chat user for an identity: its key (full ARN, or a GitLab username), then (with
        :attr:`IdentityMatch.NAME`) e-mail, then name."""
        if identity.arn and identity.arn in self._arns:
            return self._arns[identity.arn]
        if self.identity_match is IdentityMatch.ARN:
            # the key the source vouches for, as written: a GitLab username; a CodeCommit actor's
            # is an ARN, so a name key can never equal it
            return self._keys.get(identity.arn) if identity.arn else None
        for candidate in (identity.email, identity.name):
            if candidate and candidate.casefold() in self._names:
                return self._names[candidate.casefold()]
        return None

    def arn_keys_matching(self, pattern: str) -> list[tuple[str, ChatUser]]:
        """Every full-ARN key a wildcard pool entry covers, in map order."""
        return [(arn, chat) for arn, chat in self._arns.items() if fnmatch.fnmatchcase(arn, pattern)]


def identity_from_arn(arn: str) -> Identity:
    """An :class:`Identity` from an ARN alone (no session tags)."""
    pusher = parse_pusher(arn)
    return Identity(arn=arn, name=pusher.display_name, role_name=pusher.role_name)


def person(identity: Identity, user_map: UserMap) -> Person:
    """Resolve someone through the map."""
    return Person(label=identity.label, arn=identity.arn, chat=user_map.lookup(identity))


def pool_people(member: str, user_map: UserMap) -> list[Person]:
    """The people one approval-pool entry stands for (see the module docstring)."""
    if member.startswith(_APPROVERS_PREFIX):
        name = member.rsplit(":", 1)[-1]
        return [Person(label=name, arn=member, chat=user_map.lookup(Identity(arn="", name=name)))]
    if "*" in member or "?" in member:
        phrase = _pattern_phrase(member)
        expanded = [person(identity_from_arn(arn), user_map) for arn, _ in user_map.arn_keys_matching(member)]
        return [Person(label=phrase, arn=member), *expanded]
    return [person(identity_from_arn(member), user_map)]


def _pattern_phrase(pattern: str) -> str:
    """``arn:aws:sts::1:assumed-role/CodeCommitReview/*`` → ``anyone in role CodeCommitReview``."""
    resource = pattern.split(":", 5)[-1]
    kind, _, path = resource.partition("/")
    segments = [segment for segment in path.split("/") if segment]
    if kind == "assumed-role" and len(segments) == 2 and segments[1] == "*":
        return f"anyone in role {segments[0]}"
    if kind == "user" and segments == ["*"]:
        return "any IAM user"
    return pattern


def reviewers(pool_members: tuple[str, ...], author: Person, user_map: UserMap) -> tuple[Person, ...]:
    """The approval-pool members other than the author, each once; wildcard entries kept as a phrase."""
    found: dict[str, Person] = {}
    for member in pool_members:
        for candidate in pool_people(member, user_map):
            if _same_person(candidate, author):
                continue
            key = candidate.chat.handle if candidate.chat else candidate.arn or candidate.label
            found.setdefault(key, candidate)
    return tuple(found.values())


def _same_person(one: Person, other: Person) -> bool:
    if one.chat is not None and one.chat == other.chat:
        return True
    return bool(one.arn) and one.arn == other.arn
