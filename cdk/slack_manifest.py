"""The Slack app manifest for the chat front door, and ``make slack-manifest``.

One Request URL serves the slash command, interactivity and the Events API (``message.channels``
and ``message.groups`` for thread replies). The bot scopes are exactly what the notifier and the
chat function call: ``chat:write`` (posts, updates, private replies), ``im:write`` (direct
messages), ``commands``, ``channels:history`` and ``groups:history`` (a reply's thread parent and
the message events), ``reactions:write`` (marking a reply that became a comment).

Usage: ``make slack-manifest URL=https://<id>.lambda-url.<region>.on.aws/`` (the stack's
``ChatRequestUrl`` output) writes ``slack-manifest.json``; the stack's ``SlackAppManifest`` output
holds the same document.
"""

from __future__ import annotations

import json
import sys
from typing import Any

BOT_SCOPES = (
    "chat:write",
    "im:write",
    "commands",
    "channels:history",
    "groups:history",
    "reactions:write",
)
BOT_EVENTS = ("message.channels", "message.groups")


def manifest(request_url: str, *, name: str = "CodeCommit", command: str = "/codecommit") -> dict[str, Any]:
    """The manifest with ``request_url`` everywhere Slack sends requests."""
    return {
        "display_information": {"name": name, "description": "CodeCommit pull requests: review from Slack"},
        "features": {
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": [
                {
                    "command": command,
                    "url": request_url,
                    "description": "Review pull requests and run pipelines, as yourself",
                    "usage_hint": (
                        "prs | approve <repo> <id> | merge <repo> <id> | remind | deploy <pipeline> | help"
                    ),
                    "should_escape": False,
                }
            ],
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "event_subscriptions": {"request_url": request_url, "bot_events": list(BOT_EVENTS)},
            "interactivity": {"is_enabled": True, "request_url": request_url},
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            "token_rotation_enabled": False,
        },
    }


def main(argv: list[str]) -> int:
    """``python -m cdk.slack_manifest <request url> [output file]``."""
    if not argv or not argv[0].startswith("https://"):
        print("usage: make slack-manifest URL=https://<id>.lambda-url.<region>.on.aws/", file=sys.stderr)
        return 2
    document = json.dumps(manifest(argv[0]), indent=2) + "\n"
    target = argv[1] if len(argv) > 1 else "slack-manifest.json"
    with open(target, "w", encoding="utf-8") as out:
        out.write(document)
    print(f"wrote {target}: paste it at https://api.slack.com/apps > Create New App > From a manifest")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
