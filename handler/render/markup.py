"""The two chat dialects a message can be written in: Slack's mrkdwn and Mattermost's Markdown.

The renderers (:mod:`handler.render.push`, :mod:`handler.render.pull_request`) lay a message out
once, from the one model, and ask a :class:`Markup` for every piece of syntax: escaping, bold,
italics, links, quotes, mentions, the payload's envelope and its size limit. So the two
flavours share everything up to the characters on the wire:

=====================  ===============================  ===================================
                       Slack (:data:`SLACK`)            Mattermost (:data:`MATTERMOST`)
=====================  ===============================  ===================================
outside text           ``&amp; &lt; &gt;``, joiner      backslash escapes, joiner after
                       after ``@here`` and the like     every ``@`` and ``~`` (any mention)
bold, italics          ``*b*``, ``_i_``                 ``**b**``, ``_i_``
link                   ``<url|label>``                  ``[label](url)``
mention (USER_MAP)     ``<@U024BE7LH>``                 ``@alice``
attachments            ``mrkdwn_in``, ``ts``            always Markdown; no ``ts``
limit                  ``MAX_MESSAGE_CHARS`` (40,000)   16,383 (and ``MAX_MESSAGE_CHARS``)
=====================  ===============================  ===================================

Both keep ``unfurl_links``/``unfurl_media`` off on Slack; Mattermost has no such switch (its
link previews are a server setting), so they are not sent there.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from handler.deliver.destinations import Flavor
from handler.render import markdown, mrkdwn

if TYPE_CHECKING:
    from handler.pull_requests.people import ChatUser

#: A longer link (a huge branch name) is dropped and its label kept.
URL_LIMIT = 1_000


@dataclass(frozen=True)
class Markup:
    """Slack's mrkdwn; :class:`MattermostMarkup` overrides what differs."""

    flavor: Flavor = Flavor.SLACK
    #: False for text that must not grow: every link is left as its label.
    links: bool = True

    def unlinked(self) -> Markup:
        """This dialect with links left out (their labels kept): for a line a link would overfill."""
        return dataclasses.replace(self, links=False)

    def escape(self, text: str) -> str:
        """Outside text for a one-line formatted field, inert: every control becomes U+FFFD."""
        return mrkdwn.escape(text)

    def escape_body(self, text: str) -> str:
        """Outside text for a multi-line body (a commit message's body, a pull request's
        description, a comment), inert; its newlines and tabs are kept, other controls marked."""
        return mrkdwn.escape(text, multiline=True)

    def plain(self, text: str) -> str:
        """Outside text for a one-line field shown without formatting (``fallback``, ``footer``)."""
        return mrkdwn.escape(text)

    def label(self, text: str) -> str:
        """Outside text for the label of one of our links (no link may sit inside another)."""
        return self.escape(text)

    def code(self, text: str, limit: int = 300) -> str:
        """Outside text as inline code, at most ``limit`` long."""
        return mrkdwn.code(text, limit)

    def fit(self, escaped: str, limit: int, marker: str = mrkdwn.ELLIPSIS) -> str:
        """Already-escaped text cut to ``limit`` without breaking its markup."""
        return mrkdwn.fit(escaped, limit, marker)

    def bold(self, escaped: str) -> str:
        return f"*{escaped}*"

    def italic(self, escaped: str) -> str:
        return f"_{escaped}_"

    def link(self, url: str | None, label: str) -> str:
        """A link; no URL, or one too long to be worth sending, leaves the label alone."""
        return f"<{url}|{label}>" if self._linkable(url) else label

    def _linkable(self, url: str | None) -> bool:
        return self.links and url is not None and len(url) <= URL_LIMIT

    def quote(self, escaped: str) -> str:
        """A block quote: ``>`` before every line."""
        return "\n".join(f">{line}" if line else ">" for line in escaped.split("\n"))

    def mention(self, chat: ChatUser) -> str | None:
        """The mention for a mapped person in this product; None when they have no account here."""
        return f"<@{chat.slack}>" if chat.slack else None

    def message_limit(self, configured: int) -> int:
        """The size the whole payload must stay within."""
        return configured

    def attachment(
        self, fields: dict[str, Any], *, markdown_in: list[str], at: datetime | None
    ) -> dict[str, Any]:
        """Finish an attachment: which fields are formatted, and the event time."""
        finished = dict(fields)
        finished["mrkdwn_in"] = markdown_in
        if at is not None:
            finished["ts"] = int(at.timestamp())
        return finished

    def payload(self, text: str, attachments: list[dict[str, Any]]) -> dict[str, Any]:
        """The message body a webhook (or ``chat.postMessage``) takes."""
        return {"text": text, "attachments": attachments, "unfurl_links": False, "unfurl_media": False}


@dataclass(frozen=True)
class MattermostMarkup(Markup):
    """Mattermost's Markdown (see :mod:`handler.render.markdown` for its escaping)."""

    flavor: Flavor = Flavor.MATTERMOST

    def escape(self, text: str) -> str:
        return markdown.escape(text)

    def escape_body(self, text: str) -> str:
        return markdown.escape(text, multiline=True)

    def plain(self, text: str) -> str:
        return markdown.plain(text)

    def label(self, text: str) -> str:
        return markdown.escape(text, autolinks=False)

    def code(self, text: str, limit: int = 300) -> str:
        return markdown.code(text, limit)

    def fit(self, escaped: str, limit: int, marker: str = mrkdwn.ELLIPSIS) -> str:
        return markdown.fit(escaped, limit, marker)  # markers use italics only: the same in both

    def bold(self, escaped: str) -> str:
        return f"**{escaped}**"

    def link(self, url: str | None, label: str) -> str:
        return f"[{label}]({url})" if self._linkable(url) else label

    def quote(self, escaped: str) -> str:
        """A block quote, then a blank line: Markdown would take a next line into the quote."""
        return super().quote(escaped) + "\n"

    def mention(self, chat: ChatUser) -> str | None:
        return f"@{chat.mattermost}" if chat.mattermost else None

    def message_limit(self, configured: int) -> int:
        return min(configured, markdown.MATTERMOST_POST_LIMIT)

    def attachment(
        self, fields: dict[str, Any], *, markdown_in: list[str], at: datetime | None
    ) -> dict[str, Any]:
        return dict(fields)  # Mattermost always renders Markdown and ignores ``ts``

    def payload(self, text: str, attachments: list[dict[str, Any]]) -> dict[str, Any]:
        return {"text": text, "attachments": attachments}


SLACK = Markup()
MATTERMOST = MattermostMarkup()


def markup_for(flavor: Flavor | str) -> Markup:
    """The dialect for a flavour (``"slack"`` or ``"mattermost"``)."""
    return MATTERMOST if Flavor(flavor) is Flavor.MATTERMOST else SLACK
