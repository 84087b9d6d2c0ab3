"""Pictures of the messages: every golden payload drawn the way Slack, and Mattermost, lay it out.

``make screenshots`` runs this. For every golden it writes a small HTML page and photographs it
with headless Chromium:

* push messages, ``tests/golden/*.json`` → ``docs/img/<name>.png``;
* pull-request messages and review commands, ``tests/golden/pull_requests/*.json`` (each a list of
  the posts a scenario makes) → ``docs/img/pull_requests/<name>.png``;
* pipeline runs, ``tests/golden/pipelines/*.json`` → ``docs/img/pipelines/<name>.png``, and GitLab's
  messages, ``tests/golden/gitlab/*.json`` → ``docs/img/gitlab/<name>.png``;
* the Slack-app threads, ``tests/golden/pull_requests/slack_app_thread*.json`` (a ``parent`` with
  its state line, then the ``replies`` under it) → ``docs/img/pull_requests/<name>.png``;
* each of those sent to Mattermost, ``…/mattermost/<name>.json`` → ``docs/img/…/mattermost/<name>.png``
  (the Slack app has no Mattermost counterpart).

The Slack pages draw Slack's legacy attachment layout (the message's first line, then per
attachment a colour bar, pretext, author, title, mrkdwn text, fields and the footer with its
time, and the Block Kit buttons an attachment carries: Approve / Reject on an approval gate, the
review buttons on an interactive thread's parent). The Mattermost pages draw Mattermost's
attachment layout, with every Markdown field rendered by Mattermost's own parser,
``@mattermost/commonmark``, run under the project's pinned Node (``docs/mattermost_markdown.cjs``).
Pictures of goldens that are gone are deleted (those listed in ``docs/img/goldens.txt`` by the
last full run, and only those), and the gallery at the end of ``docs/messages.md`` is rewritten
to list every image, so none is left unreferenced. The pages are written to a temporary
directory; nothing is fetched from the network.

Slack's mrkdwn is converted the way Slack shows it: ``<url|label>`` links, ``*bold*``,
``_italic_``, ``~strike~``, inline code and a few emoji names. The payload's text is already
escaped for Slack (``&amp;``, ``&lt;``, ``&gt;``), which HTML reads the same way, so git text from
a golden can't become markup here either.

Usage::

    python docs/screenshots.py [--chromium /usr/bin/chromium] [NAME ...]
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
OUTPUT = Path(__file__).resolve().parent / "img"
WIDTH = 760
SCALE = 2
#: Only the emoji the notifier sends, as Slack would draw them.
EMOJI = {
    "test_tube": "🧪", "warning": "⚠️", "new": "🆕", "x": "❌", "page_facing_up": "📄", "label": "🏷️",
    "arrow_up": "⬆️", "arrows_counterclockwise": "🔄", "ballot_box_with_check": "☑️", "bell": "🔔",
    "eyes": "👀", "large_green_circle": "🟢", "leftwards_arrow_with_hook": "↩️", "memo": "📝",
    "no_entry_sign": "🚫", "pencil2": "✏️", "recycle": "♻️", "repeat": "🔁", "scroll": "📜",
    "speech_balloon": "💬", "tada": "🎉", "twisted_rightwards_arrows": "🔀", "white_check_mark": "✅",
}  # fmt: skip
NODE = ROOT / "node_modules" / ".bin" / "node"
MATTERMOST_FILTER = Path(__file__).resolve().parent / "mattermost_markdown.cjs"
MESSAGES_DOC = Path(__file__).resolve().parent / "messages.md"
#: The pictures the last full run drew (so a later run removes those whose golden is gone, and no
#: picture drawn by other means, such as the dashboard's).
MANIFEST = OUTPUT / "goldens.txt"
GALLERY_START, GALLERY_END = "<!-- gallery: written by docs/screenshots.py -->", "<!-- end of gallery -->"
#: Flags that keep Chromium from reaching for the network (it hangs on a closed one without them).
#: Headless Chromium leaves a window shorter than this partly unpainted (seen with 124 px
#: messages: only the sender line was drawn); the page's white background fills the rest.
MIN_WINDOW_HEIGHT = 200
CHROMIUM_FLAGS = (
    "--run-all-compositor-stages-before-draw",
    "--virtual-time-budget=2000",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)

STYLE = """
body { margin: 0; background: #fff; font: 15px/1.47 'Lato', 'Liberation Sans', 'DejaVu Sans',
       'WenQuanYi Micro Hei', 'Noto Color Emoji', sans-serif; color: #1d1c1d; }
.message { padding: 14px 20px 16px 20px; width: %(width)spx; box-sizing: border-box; }
.post { display: flex; margin-bottom: 10px; }
.thread { margin-left: 44px; border-left: 2px solid #e8e8e8; padding-left: 12px; }
.replies { color: #1264a3; font-weight: 700; font-size: 13px; margin: 2px 0 8px 0; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #ff9900; color: #fff; flex: none;
          font-weight: 900; font-size: 13px; display: flex; align-items: center; justify-content: center;
          margin-right: 8px; }
.content { flex: 1; min-width: 0; }
.sender { font-weight: 900; } .app { font-size: 10px; background: #ddd; color: #555; padding: 1px 3px;
          border-radius: 2px; margin-left: 4px; vertical-align: 2px; font-weight: 700; }
.time { color: #616061; font-size: 12px; margin-left: 6px; }
.attachment { display: flex; margin-top: 6px; }
.bar { width: 4px; border-radius: 8px; flex: none; margin-right: 12px; }
.body { flex: 1; min-width: 0; overflow-wrap: anywhere; }
.pretext { margin-top: 4px; } .author { font-weight: 700; font-size: 13px; }
.title { font-weight: 700; } .footer { color: #616061; font-size: 12px; margin-top: 4px; }
.fields { display: flex; flex-wrap: wrap; margin-top: 4px; }
.field { width: 50%%; padding-right: 12px; box-sizing: border-box; margin-bottom: 4px; }
.field.long { width: 100%%; } .field-title { font-weight: 700; }
.quote { border-left: 4px solid #dddddd; padding-left: 10px; color: #1d1c1d; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 8px; }
.button { border: 1px solid #c8c8c8; border-radius: 4px; padding: 4px 14px; font-weight: 700;
          font-size: 13px; background: #fff; color: #1d1c1d; }
.button.primary { background: #007a5a; border-color: #007a5a; color: #fff; }
.button.danger { background: #e01e5a; border-color: #e01e5a; color: #fff; }
a { color: #1264a3; text-decoration: none; }
code { font: 12px 'DejaVu Sans Mono', monospace; color: #e01e5a; background: #f6f6f6;
       border: 1px solid #e0e0e0; border-radius: 3px; padding: 1px 3px; }
a code { color: #1264a3; }
"""


def mrkdwn_to_html(text: str) -> str:
    """Slack mrkdwn (already entity-escaped) as HTML: links, code, bold, italic, strike, emoji,
    and a line that starts with ``>`` as a quote (Slack's grey bar)."""
    lines = text.split("\n")
    out = []
    for index, line in enumerate(lines):
        if line.startswith(">"):
            out.append(f"<div class='quote'>{_line_to_html(line[1:])}</div>")
            continue
        out.append(_line_to_html(line))
        if index + 1 < len(lines) and not lines[index + 1].startswith(">"):
            out.append("<br>")
    return "".join(out)


def _line_to_html(text: str) -> str:
    pieces: list[str] = []
    position = 0
    for match in re.finditer(r"<([^<>|]+)(?:\|([^<>]*))?>", text):
        pieces.append(_inline(text[position : match.start()]))
        url, label = match.group(1), match.group(2)
        href = html.escape(html.unescape(url), quote=True)
        pieces.append(f'<a href="{href}">{_inline(label if label is not None else url)}</a>')
        position = match.end()
    pieces.append(_inline(text[position:]))
    return "".join(pieces)


def _inline(text: str) -> str:
    """Code spans first (nothing inside them is formatted), then bold, italic, strike, emoji."""
    parts = re.split(r"(`[^`\n]+`)", text)
    out = []
    for part in parts:
        if len(part) > 1 and part.startswith("`") and part.endswith("`"):
            out.append(f"<code>{part[1:-1]}</code>")
            continue
        formatted = part
        for marker, tag in (("*", "b"), ("_", "i"), ("~", "s")):
            mark = re.escape(marker)
            pattern = rf"(?<![\w{mark}]){mark}(?!\s)([^{mark}\n]+?)(?<!\s){mark}(?![\w{mark}])"
            formatted = re.sub(pattern, rf"<{tag}>\1</{tag}>", formatted)
        out.append(re.sub(r":([a-z0-9_+-]+):", lambda m: EMOJI.get(m.group(1), m.group(0)), formatted))
    return "".join(out)


def page(payload: dict[str, Any]) -> str:
    """The HTML page for one payload."""
    return slack_page([payload])


def slack_page(payloads: list[dict[str, Any]], *, replies: list[dict[str, Any]] | None = None) -> str:
    """Slack's layout for posts one under the other; ``replies`` as a thread under the first."""
    posts = [_slack_post(payload) for payload in payloads]
    if replies is not None:
        count = f"{len(replies)} repl{'y' if len(replies) == 1 else 'ies'}"
        posts.append(f"<div class='thread'><div class='replies'>{count}</div>")
        posts.extend(_slack_post(reply) for reply in replies)
        posts.append("</div>")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{STYLE % {'width': WIDTH}}</style>"
        f"</head><body><div class='message'>{''.join(posts)}</div></body></html>"
    )


def _slack_post(payload: dict[str, Any]) -> str:
    attachments = payload.get("attachments", [])
    stamps = [attachment["ts"] for attachment in attachments if "ts" in attachment]
    when = datetime.fromtimestamp(stamps[0], tz=UTC).strftime("%H:%M") if stamps else ""
    blocks = [_attachment(attachment) for attachment in attachments]
    return (
        "<div class='post'><div class='avatar'>CC</div><div class='content'>"
        f"<div><span class='sender'>CodeCommit</span><span class='app'>APP</span>"
        f"<span class='time'>{when}</span></div>"
        f"<div>{mrkdwn_to_html(payload.get('text', ''))}</div>{''.join(blocks)}</div></div>"
    )


def _attachment(attachment: dict[str, Any]) -> str:
    mrkdwn = set(attachment.get("mrkdwn_in", []))

    def shown(key: str) -> str:
        value = str(attachment.get(key, ""))
        return mrkdwn_to_html(value) if key in mrkdwn else value.replace("\n", "<br>")

    parts = []
    if attachment.get("author_name"):
        parts.append(f"<div class='author'>{attachment['author_name']}</div>")
    if attachment.get("title"):
        title = attachment["title"]
        if attachment.get("title_link"):
            title = f"<a href='{html.escape(attachment['title_link'], quote=True)}'>{title}</a>"
        parts.append(f"<div class='title'>{title}</div>")
    if attachment.get("text"):
        parts.append(f"<div>{shown('text')}</div>")
    if attachment.get("fields"):
        fields = "".join(
            f"<div class='field{'' if field.get('short') else ' long'}'><div class='field-title'>"
            f"{field.get('title', '')}</div><div>{mrkdwn_to_html(str(field.get('value', '')))}</div></div>"
            for field in attachment["fields"]
        )
        parts.append(f"<div class='fields'>{fields}</div>")
    parts.extend(_buttons(block) for block in attachment.get("blocks", []) if block.get("type") == "actions")
    footer = attachment.get("footer", "")
    if "ts" in attachment:
        stamp = datetime.fromtimestamp(attachment["ts"], tz=UTC).strftime("%b %d, %Y %H:%M UTC")
        footer = f"{footer} | {stamp}" if footer else stamp
    if footer:
        parts.append(f"<div class='footer'>{footer}</div>")
    pretext = f"<div class='pretext'>{shown('pretext')}</div>" if attachment.get("pretext") else ""
    color = html.escape(str(attachment.get("color", "#dddddd")), quote=True)
    return (
        f"{pretext}<div class='attachment'><div class='bar' style='background:{color}'></div>"
        f"<div class='body'>{''.join(parts)}</div></div>"
    )


def _buttons(block: dict[str, Any]) -> str:
    """An ``actions`` block as Slack draws it: a row of buttons (green primary, red danger)."""
    buttons = [
        f"<span class='button {html.escape(str(element.get('style', '')), quote=True)}'>"
        f"{html.escape(str(element.get('text', {}).get('text', '')))}</span>"
        for element in block.get("elements", [])
        if element.get("type") == "button"
    ]
    return f"<div class='actions'>{''.join(buttons)}</div>"


MATTERMOST_STYLE = """
body { margin: 0; background: #fff; font: 14px/1.43 'Open Sans', 'Liberation Sans', 'DejaVu Sans',
       'WenQuanYi Micro Hei', 'Noto Color Emoji', sans-serif; color: #3f4350; }
.message { padding: 12px 20px 14px 20px; width: %(width)spx; box-sizing: border-box; }
.post { display: flex; margin-bottom: 12px; }
.avatar { width: 32px; height: 32px; border-radius: 50%%; background: #ff9900; color: #fff; flex: none;
          font-weight: 700; font-size: 12px; display: flex; align-items: center; justify-content: center;
          margin-right: 10px; }
.content { flex: 1; min-width: 0; overflow-wrap: anywhere; }
.sender { font-weight: 600; color: #3f4350; } .bot { font-size: 10px; background: #e8e9ed; color: #3f4350;
          padding: 1px 4px; border-radius: 2px; margin-left: 4px; vertical-align: 1px; font-weight: 600; }
.time { color: #8b8d95; font-size: 12px; margin-left: 6px; }
.content p { margin: 0 0 4px 0; } .content ul, .content ol { margin: 0; padding-left: 22px; }
.content blockquote { margin: 2px 0; padding-left: 10px; border-left: 4px solid #d8d8d8; color: #5b5e68; }
.pretext { margin-top: 6px; }
.attachment { border: 1px solid #dddfe4; border-left: 4px solid; border-radius: 4px; padding: 8px 12px;
              margin-top: 4px; }
.author { font-weight: 600; font-size: 13px; } .title { font-weight: 600; font-size: 15px; }
.footer { color: #8b8d95; font-size: 12px; margin-top: 6px; }
a { color: #2d6bc4; text-decoration: none; }
code { font: 12px 'DejaVu Sans Mono', monospace; color: #c7254e; background: #f3f3f5; border-radius: 3px;
       padding: 1px 4px; }
a code { color: #2d6bc4; }
"""


def mattermost_markdown(texts: list[str]) -> list[str]:
    """Each Markdown string as Mattermost's own parser renders it (``@mattermost/commonmark``)."""
    if not texts:
        return []
    done = subprocess.run(
        [str(NODE), str(MATTERMOST_FILTER)],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
    )
    rendered: list[str] = json.loads(done.stdout)
    emoji = re.compile(r'<span data-emoji-name="([a-z0-9_+-]+)"[^>]*/>')  # the parser's emoji nodes
    # The parser's mention nodes (``<span data-mention-name="alice" />``) are empty elements that
    # HTML does not close: drawn as Mattermost shows a mention, ``@alice`` in the link colour.
    mention = re.compile(r'<span data-mention-name="([^"]*)"\s*/>')
    return [
        mention.sub(
            lambda m: f"<a class='mention'>@{m.group(1)}</a>",
            emoji.sub(lambda m: EMOJI.get(m.group(1), f":{m.group(1)}:"), html_),
        )
        for html_ in rendered
    ]


def markdown_fields(payloads: list[dict[str, Any]]) -> list[str]:
    """Every string Mattermost renders as Markdown in these posts, in the order the page uses them."""
    found = []
    for payload in payloads:
        found.append(payload.get("text", ""))
        for attachment in payload.get("attachments", []):
            found.extend(str(attachment.get(key, "")) for key in ("pretext", "text"))
            if not attachment.get("title_link"):
                found.append(str(attachment.get("title", "")))
    return found


def mattermost_page(payloads: list[dict[str, Any]], rendered: dict[str, str]) -> str:
    """Mattermost's attachment layout for posts one under the other; ``rendered`` maps each
    Markdown string to its HTML (:func:`mattermost_markdown`)."""
    posts = []
    for payload in payloads:
        blocks = []
        for attachment in payload.get("attachments", []):
            parts = []
            if attachment.get("author_name"):
                parts.append(f"<div class='author'>{html.escape(str(attachment['author_name']))}</div>")
            if attachment.get("title"):
                title = str(attachment["title"])
                if attachment.get("title_link"):  # a linked title is plain text in Mattermost
                    href = html.escape(str(attachment["title_link"]), quote=True)
                    parts.append(f"<div class='title'><a href='{href}'>{html.escape(title)}</a></div>")
                else:
                    parts.append(f"<div class='title'>{rendered[title]}</div>")
            if attachment.get("text"):
                parts.append(f"<div>{rendered[str(attachment['text'])]}</div>")
            if attachment.get("footer"):
                parts.append(f"<div class='footer'>{html.escape(str(attachment['footer']))}</div>")
            pretext = str(attachment.get("pretext", ""))
            color = html.escape(str(attachment.get("color", "#dddddd")), quote=True)
            blocks.append(
                (f"<div class='pretext'>{rendered[pretext]}</div>" if pretext else "")
                + f"<div class='attachment' style='border-left-color:{color}'>{''.join(parts)}</div>"
            )
        posts.append(
            "<div class='post'><div class='avatar'>CC</div><div class='content'>"
            "<div><span class='sender'>codecommit</span><span class='bot'>BOT</span>"
            "<span class='time'>10:30 AM</span></div>"
            f"{rendered[payload.get('text', '')]}{''.join(blocks)}</div></div>"
        )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{MATTERMOST_STYLE % {'width': WIDTH}}"
        f"</style></head><body><div class='message'>{''.join(posts)}</div></body></html>"
    )


def measure(chromium: str, html_file: Path, profile: str) -> int:
    """The page's height in CSS pixels: a first Chromium run that prints the DOM after a script."""
    result = _run(chromium, profile, "--dump-dom", f"--window-size={WIDTH},400", html_file.as_uri())
    found = re.search(r'data-height="(\d+)"', result.stdout)
    if not found:
        raise SystemExit(f"could not measure {html_file.name}: {result.stderr.strip()[-300:]}")
    return int(found.group(1))


def photograph(chromium: str, html_file: Path, png: Path, height: int, profile: str) -> None:
    """The second run: a screenshot exactly as tall as the page."""
    _run(
        chromium,
        profile,
        f"--screenshot={png}",
        f"--window-size={WIDTH},{max(height, MIN_WINDOW_HEIGHT)}",
        f"--force-device-scale-factor={SCALE}",
        html_file.as_uri(),
    )
    if not png.exists():
        raise SystemExit(f"Chromium wrote no {png}")


def _run(chromium: str, profile: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


MEASURE = (
    "<script>addEventListener('load', () => document.body.setAttribute('data-height', "
    "Math.ceil(document.querySelector('.message').getBoundingClientRect().height)));</script>"
)


def pictures(names: list[str]) -> list[tuple[Path, str]]:
    """Every golden to draw as (image path, HTML page); ``names`` keeps those whose image name
    (``pull_requests/mattermost/opened``) or last part (``opened``) is listed."""
    found: list[tuple[Path, str]] = []
    mattermost: list[tuple[Path, list[dict[str, Any]]]] = []
    for folder in ("", "pull_requests/", "pipelines/", "gitlab/"):
        for golden in sorted((GOLDEN / folder).glob("*.json")):
            loaded = json.loads(golden.read_text(encoding="utf-8"))
            image = OUTPUT / folder / f"{golden.stem}.png"
            if isinstance(loaded, dict) and {"parent", "replies"} <= set(loaded):  # a Slack-app thread
                found.append((image, slack_page([loaded["parent"]], replies=loaded["replies"])))
            else:
                found.append((image, slack_page(loaded if isinstance(loaded, list) else [loaded])))
        for golden in sorted((GOLDEN / folder / "mattermost").glob("*.json")):
            loaded = json.loads(golden.read_text(encoding="utf-8"))
            mattermost.append(
                (
                    OUTPUT / folder / "mattermost" / f"{golden.stem}.png",
                    loaded if isinstance(loaded, list) else [loaded],
                )
            )
    strings = sorted({text for _, payloads in mattermost for text in markdown_fields(payloads)})
    rendered = dict(zip(strings, mattermost_markdown(strings), strict=True))
    found.extend((image, mattermost_page(payloads, rendered)) for image, payloads in mattermost)
    if names:
        wanted = set(names)
        found = [(image, html_) for image, html_ in found if {image.stem, _name(image)} & wanted]
    return found


def _name(image: Path) -> str:
    return image.relative_to(OUTPUT).with_suffix("").as_posix()


def write_gallery(images: list[Path]) -> None:
    """List every image at the end of docs/messages.md (between the gallery markers)."""
    if not MESSAGES_DOC.exists():
        return
    text = MESSAGES_DOC.read_text(encoding="utf-8")
    if GALLERY_START not in text:
        return
    lines = [GALLERY_START, ""]
    for image in sorted(images, key=_name):
        lines.append(f"- [{_name(image)}](img/{image.relative_to(OUTPUT).as_posix()})")
    lines.extend(["", GALLERY_END])
    head, _, rest = text.partition(GALLERY_START)
    _, _, tail = rest.partition(GALLERY_END)
    MESSAGES_DOC.write_text(head + "\n".join(lines) + tail, encoding="utf-8")


def main(argv: list[str] | None = None, log: Callable[[str], None] = print) -> int:
    """Render the goldens named (all by default) into ``docs/img``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument(
        "names", nargs="*", help="image names, e.g. force_push or pull_requests/mattermost/opened"
    )
    arguments = parser.parse_args(argv)
    if not Path(arguments.chromium).exists():
        log("chromium not found: install it (Debian: apt-get install -y chromium) or pass --chromium")
        return 2
    drawn = pictures(arguments.names)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        for index, (png, page_html) in enumerate(drawn):
            html_file = Path(scratch) / f"{index}.html"
            html_file.write_text(page_html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
            profile = tempfile.mkdtemp(dir=scratch)
            height = measure(arguments.chromium, html_file, profile)
            png.parent.mkdir(parents=True, exist_ok=True)
            png.unlink(missing_ok=True)
            photograph(arguments.chromium, html_file, png, height, profile)
            log(f"{png.relative_to(ROOT)}  ({WIDTH}×{height} CSS px)")
    if not arguments.names:  # a full run: no picture of a golden that is gone, every one listed
        made = {png for png, _ in drawn}
        drawn_before = MANIFEST.read_text(encoding="utf-8").split() if MANIFEST.exists() else []
        for stale in sorted({OUTPUT / name for name in drawn_before} - made):
            stale.unlink(missing_ok=True)  # only pictures this script drew: others' stay
            log(f"removed {stale.relative_to(ROOT)} (no golden draws it any more)")
        names = sorted(png.relative_to(OUTPUT).as_posix() for png in made)
        MANIFEST.write_text("\n".join(names) + "\n", encoding="utf-8")
        write_gallery(sorted(made))
    return 0


if __name__ == "__main__":
    sys.exit(main())
