"""What Mattermost's own Markdown parser makes of what the notifier sends.

``@mattermost/commonmark`` (the fork Mattermost's web app renders posts with, a dev dependency in
package.json) runs under the project's pinned Node through ``docs/mattermost_markdown.cjs``, once
per test on a whole table of strings. The Python model in tests/test_mattermost_markdown.py
covers the server's side (its Slack-link translation); this covers the client's.
"""

from __future__ import annotations

import html
import json
import random
import re
import subprocess
from pathlib import Path

from handler.render.markdown import code, escape
from handler.render.mrkdwn import code as slack_code

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules" / ".bin" / "node"
FILTER = ROOT / "docs" / "mattermost_markdown.cjs"
#: Formatting no git- or user-written text may make.
FORMATTING = re.compile(
    r"<(strong|em|del|img|h[1-6]|li|blockquote|table|hr|pre)\b|data-(mention|channel|hashtag)"
)
ANCHOR = re.compile(r'<a href="([^"]*)"[^>]*>(.*?)</a>')


def mattermost_html(texts: list[str]) -> list[str]:
    """Each Markdown string as Mattermost's parser renders it (HTML)."""
    done = subprocess.run(
        [str(NODE), str(FILTER)], input=json.dumps(texts), capture_output=True, text=True, check=True
    )
    rendered: list[str] = json.loads(done.stdout)
    return rendered


def test_a_url_before_an_escaped_bracket_links_to_where_it_ends() -> None:
    """Issue 18, item 8: ``http://host/a\\)`` made Mattermost link ``http://host/a\\``."""
    raw = "Tune it (see http://host/a) and http://wiki.example/limits_(v2)). Also https://x.example/p?q=1."
    [rendered] = mattermost_html([escape(raw)])
    links = [(html.unescape(href), html.unescape(text)) for href, text in ANCHOR.findall(rendered)]
    assert links == [
        ("http://host/a", "http://host/a"),
        ("http://wiki.example/limits_(v2)", "http://wiki.example/limits_(v2)"),
        ("https://x.example/p?q=1", "https://x.example/p?q=1"),
    ]
    assert html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip() == raw


def test_hostile_text_makes_no_formatting_and_no_disguised_link() -> None:
    """A table of generated hostile strings: only URLs become links, each showing its address."""
    pieces = [
        "<!channel>",
        "<https://evil.example|click>",
        "[x](https://evil.example)",
        "**b**",
        "_i_",
        "~~s~~",
        "`c`",
        "# h",
        "- l",
        "1. n",
        "> q",
        "| a | b |",
        "@alice",
        "~town",
        "#tag",
        "\\",
        "http://ok.example/a_(b)",
        "https://t.example/x)",
        ")",
        "(",
        "|",
        "<",
        ">",
        "&amp;",
        " ",
        "\n",
        "ü",
        "🙂",
        "a",
        "*",
        "_",
        "[",
        "]",
        "!",
        "@here",
        "www.example.com",
    ]
    rng = random.Random(18)
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(400)]
    for raw, rendered in zip(texts, mattermost_html([escape(text) for text in texts]), strict=True):
        assert not FORMATTING.search(rendered), (raw, rendered)
        for _href, text in ANCHOR.findall(rendered):
            shown = html.unescape(text).replace("\u2060", "")  # the joiner that defuses a mention
            assert shown.startswith(("http://", "https://", "ftp://", "www.")), (raw, rendered)
            assert shown in raw, (raw, rendered)


def test_branch_names_are_copied_exactly() -> None:
    """Issue 18, item 7: a backtick is held by a longer fence; ``<``/``>`` go outside a span."""
    names = ["feat`x`y", "`edge`", "a``b", "plain/name", "a<b>c", "x|y"]
    rendered = mattermost_html([code(name) for name in names])
    shown = [html.unescape(re.sub(r"<[^>]+>", "", page)).strip() for page in rendered]
    assert shown == names
    assert [page.count("<code>") for page in rendered] == [1, 1, 1, 1, 0, 1]
    assert slack_code("feat`x`y") == "feat`x`y" and slack_code("main") == "`main`"


def test_a_url_in_one_of_our_link_labels_does_not_break_the_link() -> None:
    """A pull request's title with a URL, as the label of the link to the pull request."""
    from handler.render.markup import MATTERMOST

    own = (
        "https://eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/r/pull-requests/7/details"
    )
    [rendered] = mattermost_html([MATTERMOST.link(own, MATTERMOST.label("#7 Fix http://x.example/a) now"))])
    assert [(html.unescape(href), html.unescape(text)) for href, text in ANCHOR.findall(rendered)] == [
        (own, "#7 Fix http://x.example/a) now")
    ]


def test_a_quote_ends_where_the_quoted_text_ends() -> None:
    """A pull request's description, quoted, then "Needs 2 approvals": not inside the quote."""
    from handler.render.markup import MATTERMOST

    [rendered] = mattermost_html(
        ["\n".join([MATTERMOST.quote(escape("Adds login.\n* a")), "Needs 2 approvals"])]
    )
    assert rendered.index("Needs 2 approvals") > rendered.index("</blockquote>")
