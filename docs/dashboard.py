"""A picture of the CloudWatch dashboard's layout, drawn from the synthesized template (no AWS).

``make dashboard-picture`` runs this after ``make synth``. It reads the dashboard's body out of
``cdk.out/<stack>.template.json`` (the ``AWS::CloudWatch::Dashboard`` resource's
``DashboardBody``, a ``Fn::Join`` whose references are written as ``<Name>``), lays its widgets
out on CloudWatch's 24-column grid with each one's title and what it plots, and photographs the
page with headless Chromium into ``docs/img/dashboard.png``. Nothing is fetched from the network.

It draws the layout, not data: every series is named (``Sum of Delivered``, ``SEARCH by
Destination: Delivered, Raised, ...``), so the picture says what each widget will show.

Usage::

    python docs/dashboard.py [--template cdk.out/CodeCommitSlackNotifier.template.json]
                             [--output docs/img/dashboard.png] [--chromium /usr/bin/chromium]
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "cdk.out" / "CodeCommitSlackNotifier.template.json"
OUTPUT = Path(__file__).resolve().parent / "img" / "dashboard.png"
#: CSS pixels per grid column and per grid row (CloudWatch's rows are about this tall).
COLUMN = 56
ROW = 34
MARGIN = 16
SCALE = 2
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
_SEARCH = re.compile(r"SEARCH\('\{(?P<schema>[^}]*)\}\s*\((?P<names>[^)]*)\)',\s*'(?P<stat>[^']+)'")


def resolve(value: Any) -> str:
    """CloudFormation's value as text: ``Fn::Join`` joined, ``Ref``/``GetAtt`` written ``<Name>``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(resolve(part) for part in parts)
    raise ValueError(f"cannot resolve {value!r}")


def dashboard_body(template: dict[str, Any]) -> dict[str, Any]:
    """The one dashboard's body, parsed."""
    [body] = [
        resource["Properties"]["DashboardBody"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    document: dict[str, Any] = json.loads(resolve(body))
    return document


def series(widget: dict[str, Any], names: dict[str, str]) -> list[str]:
    """What a widget plots, one line per series (or per alarm), in words."""
    properties = widget.get("properties", {})
    if widget["type"] == "alarm":
        return [names.get(resolve_name(alarm), resolve_name(alarm)) for alarm in properties.get("alarms", [])]
    lines = []
    for entry in properties.get("metrics", []):
        options = entry[-1] if entry and isinstance(entry[-1], dict) else {}
        if "expression" in options:
            lines.append(describe_search(options["expression"]))
            continue
        namespace, metric, *dimensions = [part for part in entry if not isinstance(part, dict)]
        where = ", ".join(names.get(value, value) for value in dimensions[1::2])
        statistic = options.get("stat", "Average")
        label = options.get("label")
        text = f"{statistic} of {metric}" + (f" ({where})" if where else "")
        if namespace.startswith("AWS/"):
            text = f"{namespace}: {text}"
        lines.append(f"{label}: {text}" if label and label != statistic else text)
    if properties.get("annotations", {}).get("horizontal"):
        for annotation in properties["annotations"]["horizontal"]:
            lines.append(f"line at {annotation['value']:g}: {annotation.get('label', '')}")
    return lines


def describe_search(expression: str) -> str:
    """``SEARCH('{"ns",Source} (MetricName="Lag")', 'p90', 300)`` → ``p90 of Lag, a line per Source``."""
    found = _SEARCH.search(expression)
    if not found:
        return expression
    dimensions = [part.strip('"') for part in found.group("schema").split(",")[1:]]
    metrics = re.findall(r'MetricName="([^"]+)"', found.group("names"))
    return f"{found.group('stat')} of {', '.join(metrics)}: a line per {' × '.join(dimensions)}"


def resolve_name(value: str) -> str:
    return value.rsplit(":", 1)[-1] if value.startswith("arn:") else value


def logical_names(template: dict[str, Any]) -> dict[str, str]:
    """``<LogicalId>``-style references → a readable name, for functions, queues and alarms."""
    readable = {}
    for logical_id, resource in template["Resources"].items():
        kind = resource["Type"].split("::")[-1]
        name = re.sub(r"[0-9A-F]{8}$", "", logical_id)
        for reference in (f"<{logical_id}>", f"<{logical_id}.QueueName>", f"<{logical_id}.Arn>"):
            readable[reference] = f"{name} ({kind})" if kind == "Alarm" else name
    return readable


def page(body: dict[str, Any], names: dict[str, str]) -> str:
    """The dashboard as a CSS grid: each widget where CloudWatch puts it, titled, with its series."""
    cells = []
    bottom = 0
    for widget in body["widgets"]:
        x, y, width, height = widget["x"], widget["y"], widget["width"], widget["height"]
        bottom = max(bottom, y + height)
        properties = widget.get("properties", {})
        style = f"grid-column: {x + 1} / span {width}; grid-row: {y + 1} / span {height};"
        if widget["type"] == "text":
            text = html.escape(properties.get("markdown", ""))
            text = re.sub(r"^# (.*)$", r"<h1>\1</h1>", text, flags=re.MULTILINE)
            text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
            cells.append(f"<div class='widget text' style='{style}'>{text}</div>")
            continue
        kinds = {"alarm": "alarm status", "metric": properties.get("view", "timeSeries")}
        kind = html.escape(kinds.get(widget["type"], ""))
        title = html.escape(properties.get("title", ""))
        items = "".join(f"<li>{html.escape(line)}</li>" for line in series(widget, names))
        cells.append(
            f"<div class='widget' style='{style}'><div class='title'>{title}"
            f"<span class='kind'>{kind}</span></div><ul>{items}</ul></div>"
        )
    width = 24 * COLUMN
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; background: #f2f3f3; font: 13px/1.35 'Liberation Sans', 'DejaVu Sans', sans-serif;
       color: #16191f; }}
.grid {{ display: grid; grid-template-columns: repeat(24, {COLUMN}px); grid-auto-rows: {ROW}px; gap: 0;
        padding: {MARGIN}px; width: {width}px; }}
.widget {{ background: #fff; border: 1px solid #d5dbdb; margin: 4px; padding: 8px 10px; overflow: hidden;
          box-shadow: 0 1px 1px rgba(0,28,36,.2); border-radius: 2px; }}
.title {{ font-weight: 700; font-size: 14px; margin-bottom: 6px; }}
.kind {{ font-weight: 400; color: #687078; font-size: 11px; margin-left: 8px; }}
ul {{ margin: 0; padding-left: 16px; }} li {{ margin-bottom: 2px; color: #232f3e; }}
.text {{ background: transparent; border: none; box-shadow: none; }}
h1 {{ font-size: 20px; margin: 0 0 4px 0; }} code {{ font: 12px 'DejaVu Sans Mono', monospace; }}
</style></head><body><div class="grid" data-rows="{bottom}">{"".join(cells)}</div></body></html>"""


def photograph(chromium: str, html_file: Path, png: Path, rows: int, profile: str) -> None:
    width = 24 * COLUMN + 2 * MARGIN
    height = rows * ROW + 2 * MARGIN
    command = [
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        f"--window-size={width},{height}",
        f"--force-device-scale-factor={SCALE}",
        html_file.as_uri(),
    ]
    subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if not png.exists():
        raise SystemExit(f"Chromium wrote no {png}")


def main(argv: list[str] | None = None, log: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    arguments = parser.parse_args(argv)
    if not arguments.template.exists():
        log(f"{arguments.template} not found: run make synth first")
        return 2
    if not Path(arguments.chromium).exists():
        log("chromium not found: install it (Debian: apt-get install -y chromium) or pass --chromium")
        return 2
    template = json.loads(arguments.template.read_text(encoding="utf-8"))
    body = dashboard_body(template)
    rows = max(widget["y"] + widget["height"] for widget in body["widgets"])
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        html_file = Path(scratch) / "dashboard.html"
        html_file.write_text(page(body, logical_names(template)), encoding="utf-8")
        arguments.output.unlink(missing_ok=True)
        photograph(arguments.chromium, html_file, arguments.output, rows, tempfile.mkdtemp(dir=scratch))
    log(f"{arguments.output}  ({len(body['widgets'])} widgets, {rows} grid rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
