"""Pictures of the messages: each golden payload drawn the way Slack lays out an attachment message.

``make screenshots`` runs this. For every ``tests/golden/*.json`` it writes a small HTML page that
draws Slack's legacy attachment layout (the message's first line, then per attachment a colour
bar, pretext, author, title, mrkdwn text, fields in two columns and the footer with its time)
and photographs it with headless Chromium into ``docs/img/<name>.png``. The pages are written to
a temporary directory; nothing is fetched from the network.

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
EMOJI = {"test_tube": "🧪", "warning": "⚠️", "new": "🆕", "x": "❌", "page_facing_up": "📄"}
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
.message { display: flex; padding: 14px 20px 16px 20px; width: %(width)spx; box-sizing: border-box; }
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
a { color: #1264a3; text-decoration: none; }
code { font: 12px 'DejaVu Sans Mono', monospace; color: #e01e5a; background: #f6f6f6;
       border: 1px solid #e0e0e0; border-radius: 3px; padding: 1px 3px; }
a code { color: #1264a3; }
"""


def mrkdwn_to_html(text: str) -> str:
    """Slack mrkdwn (already entity-escaped) as HTML: links, code, bold, italic, strike, emoji."""
    pieces: list[str] = []
    position = 0
    for match in re.finditer(r"<([^<>|]+)(?:\|([^<>]*))?>", text):
        pieces.append(_inline(text[position : match.start()]))
        url, label = match.group(1), match.group(2)
        href = html.escape(html.unescape(url), quote=True)
        pieces.append(f'<a href="{href}">{_inline(label if label is not None else url)}</a>')
        position = match.end()
    pieces.append(_inline(text[position:]))
    return "".join(pieces).replace("\n", "<br>")


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
    attachments = payload.get("attachments", [])
    stamps = [attachment["ts"] for attachment in attachments if "ts" in attachment]
    when = datetime.fromtimestamp(stamps[0], tz=UTC).strftime("%H:%M") if stamps else ""
    blocks = [_attachment(attachment) for attachment in attachments]
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{STYLE % {'width': WIDTH}}</style>"
        "</head><body><div class='message'><div class='avatar'>CC</div><div class='content'>"
        f"<div><span class='sender'>CodeCommit</span><span class='app'>APP</span>"
        f"<span class='time'>{when}</span></div>"
        f"<div>{mrkdwn_to_html(payload.get('text', ''))}</div>{''.join(blocks)}</div></div></body></html>"
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


def main(argv: list[str] | None = None, log: Callable[[str], None] = print) -> int:
    """Render the goldens named (all by default) into ``docs/img``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("names", nargs="*", help="golden names (default: every tests/golden/*.json)")
    arguments = parser.parse_args(argv)
    if not Path(arguments.chromium).exists():
        log("chromium not found: install it (Debian: apt-get install -y chromium) or pass --chromium")
        return 2
    goldens = [GOLDEN / f"{name}.json" for name in arguments.names] or sorted(GOLDEN.glob("*.json"))
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        for golden in goldens:
            payload = json.loads(golden.read_text(encoding="utf-8"))
            html_file = Path(scratch) / f"{golden.stem}.html"
            html_file.write_text(page(payload).replace("</body>", MEASURE + "</body>"), encoding="utf-8")
            profile = tempfile.mkdtemp(dir=scratch)
            height = measure(arguments.chromium, html_file, profile)
            png = OUTPUT / f"{golden.stem}.png"
            png.unlink(missing_ok=True)
            photograph(arguments.chromium, html_file, png, height, profile)
            log(f"{png.relative_to(ROOT)}  ({WIDTH}×{height} CSS px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
