"""Cold-start levers, each measured against the notifier as it is: ``python -m bench.levers``.

Runs ``bench/lever_variant.py`` once per variant per round (interleaved, alternating order, one
warm-up each), each run a fresh process pushing the next commit of the chain branch with its
head recorded, exactly as ``make bench``'s section (a), from the Lambda asset laid out as Lambda
lays it out (:mod:`bench.deployed`); ``plain`` is the plainest notifier.
Prints each variant's median time to the Slack post, its ratio to ``ours``, and the process's
CPU time (user + system, exit included), which a busy machine disturbs less than wall time.

Usage: ``python -m bench.levers [--rounds N] [VARIANT ...]`` (default: all variants).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.__main__ import BENCH_DIR, ROOT, aws_environment, event_for, median_iqr
from bench.deployed import LambdaLayout, lambda_layout
from bench.hosts import hosted
from bench.repos import CHAIN_BRANCH, REPOSITORY, build_bench_repo
from tests.standins import slack

VARIANTS = (
    "plain",
    "ours",
    "no-prefetch",
    "full-data",
    "charset-normalizer",
    "boto3",
    "sessions",
    "gc",
    "requests-at-post",
    "routing-always",
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.levers")
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("variants", nargs="*", default=list(VARIANTS), help=f"any of {', '.join(VARIANTS)}")
    arguments = parser.parse_args()
    if arguments.rounds < 2:
        parser.error("--rounds must be at least 2 (a median and its spread need two runs)")
    if unknown := set(arguments.variants) - set(VARIANTS):
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    variants: list[str] = list(dict.fromkeys(["ours", *arguments.variants]))
    with tempfile.TemporaryDirectory(prefix="bench-levers-") as directory:
        workdir = Path(directory)
        runs = (arguments.rounds + 1) * len(variants) + 1
        repo = build_bench_repo(workdir / REPOSITORY, chain_length=runs)
        with (
            hosted("codecommit", {REPOSITORY: repo.path}) as cc,
            hosted("dynamodb") as ddb,
            slack.running() as hook,
        ):
            environment = {**aws_environment(cc.url, hook.url), **ddb.environment()}
            layout = lambda_layout(workdir / "lambda")
            chain = iter(repo.chain)
            wall: dict[str, list[float]] = {name: [] for name in variants}
            cpu: dict[str, list[float]] = {name: [] for name in variants}

            def run(variant: str) -> None:
                event_file = workdir / "event.json"
                event_file.write_text(json.dumps(event_for(next(chain), f"refs/heads/{CHAIN_BRANCH}")))
                script = ["plain_notifier.py"] if variant == "plain" else ["lever_variant.py", variant]
                command = [sys.executable, *LambdaLayout.FLAGS, str(BENCH_DIR / script[0]), *script[1:]]
                env = layout.environment(environment, with_task=variant != "plain")
                before = len(hook.delivered_at)
                with tempfile.TemporaryFile() as output:  # the notifier's log lines, shown if it fails
                    started = time.perf_counter()
                    process = subprocess.Popen(
                        [*command, str(event_file)], env=env, cwd=ROOT, stdout=output, stderr=output
                    )
                    _, status, usage = os.wait4(process.pid, 0)
                    process.returncode = os.waitstatus_to_exitcode(status)
                    if process.returncode != 0 or len(hook.delivered_at) != before + 1:
                        output.seek(0)
                        sys.stderr.write(output.read().decode(errors="replace"))
                        raise SystemExit(f"{variant} did not post exactly once (exit {process.returncode})")
                wall[variant].append(hook.delivered_at[-1] - started)
                cpu[variant].append(usage.ru_utime + usage.ru_stime)

            run("ours")  # records the chain's head
            for variant in variants:
                run(variant)  # warm-up
                wall[variant].clear()
                cpu[variant].clear()
            for index in range(arguments.rounds):
                for variant in variants if index % 2 == 0 else reversed(variants):
                    run(variant)
    ours, _ = median_iqr(wall["ours"])
    print(f"{arguments.rounds} interleaved rounds; time to the Slack post, and the process's CPU time")
    for variant in variants:
        median, iqr = median_iqr(wall[variant])
        cpu_median, cpu_iqr = median_iqr(cpu[variant])
        print(
            f"  {variant:<19} {median * 1000:6.1f} ms (IQR {iqr * 1000:5.1f})  {median / ours:.2f}× ours   "
            f"CPU {cpu_median * 1000:6.1f} ms (IQR {cpu_iqr * 1000:5.1f})"
        )


if __name__ == "__main__":
    main()
