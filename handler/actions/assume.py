"""Acting as the person: AWS clients under the actor role, assumed with the person's session name.

``CHAT_ACTOR_ROLE_ARN`` names a role the chat function's own role may assume (and nothing else may).
:class:`AssumedRoleContext` assumes it once per action, on the first :meth:`client` call, with

* ``RoleSessionName`` = the person's session name, so CodeCommit and CloudTrail record
  ``arn:aws:sts::<account>:assumed-role/<role>/<session name>`` as the approver or commenter;
* ``SourceIdentity`` = the same: it survives role chaining and the session cannot change it.

The function's own role never approves, merges or comments: it may only assume this role.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from handler.actions.context import Actor

#: The shortest session STS issues: one action needs seconds, not hours.
SESSION_SECONDS = 900


class AssumedRoleContext:
    """An :class:`~handler.actions.context.ActionContext`: ``client()`` hands out clients that act
    as :attr:`actor` through the assumed actor role.

    Args:
        actor: the person acting.
        role_arn: ``CHAT_ACTOR_ROLE_ARN``.
        base_client: makes a client with the function's own credentials (for STS), and with given
            credentials (for everything else): ``base_client(service, region, credentials or None)``.
    """

    def __init__(
        self, actor: Actor, role_arn: str, base_client: Callable[[str, str, dict[str, str] | None], Any]
    ) -> None:
        self._actor = actor
        self._role_arn = role_arn
        self._base_client = base_client
        self._credentials: dict[str, str] | None = None
        self._clients: dict[tuple[str, str], Any] = {}

    @property
    def actor(self) -> Actor:
        """The person acting."""
        return self._actor

    def client(self, service: str, region: str) -> Any:
        """A client for ``service`` in ``region`` as the person (the role is assumed on first use)."""
        if (service, region) not in self._clients:
            if self._credentials is None:
                self._credentials = self._assume(region)
            self._clients[(service, region)] = self._base_client(service, region, self._credentials)
        return self._clients[(service, region)]

    def _assume(self, region: str) -> dict[str, str]:
        sts = self._base_client("sts", region, None)
        answer = sts.assume_role(
            RoleArn=self._role_arn,
            RoleSessionName=self._actor.session_name,
            SourceIdentity=self._actor.session_name,
            DurationSeconds=SESSION_SECONDS,
        )
        credentials = answer["Credentials"]
        return {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
