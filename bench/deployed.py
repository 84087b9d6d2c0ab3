"""The notifier laid out as Lambda runs it, on this machine, for the cold-start measurements.

Lambda puts the function's code (``/var/task``) first on ``sys.path``, then the runtime's own
packages (``/var/runtime``: boto3, botocore and what they need), then the standard library. Here:

* ``task/``: the Lambda asset, built by the same :func:`cdk.lambda_asset.bundle_into` the stack uses,
  for this machine's Python and architecture (so with bytecode, compiled at bundling);
* ``runtime/``: links to this environment's copies of what the Lambda runtime provides (a package's
  bytecode comes with it; a one-file module such as ``six`` gets its own ``__pycache__`` here, as
  the runtime has it, instead of being compiled from source at every start);
* the notifiers run with ``python -S`` (no site-packages) and ``PYTHONDONTWRITEBYTECODE=1``
  (Lambda's code directory is read-only), with ``PYTHONPATH`` set to those two, then the
  repository (for the bench's own scripts; ``handler`` is found in ``task/`` first), and
  ``_HANDLER`` and ``AWS_LAMBDA_FUNCTION_NAME`` set as the Lambda runtime sets them.

The plainest notifier runs the same way, without ``task/``: it uses the runtime's boto3.
"""

from __future__ import annotations

import importlib.util
import os
import py_compile
import sys
from dataclasses import dataclass
from pathlib import Path

from cdk.lambda_asset import bundle_into

ROOT = Path(__file__).resolve().parent.parent
#: The import names of what the Lambda Python runtime provides (cdk.lambda_asset.PROVIDED_BY_RUNTIME,
#: and urllib3, which botocore needs).
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


@dataclass(frozen=True)
class LambdaLayout:
    """Where the asset and the runtime's packages are; :meth:`environment` runs a notifier there."""

    task: Path
    runtime: Path

    def environment(self, base: dict[str, str], *, with_task: bool = True) -> dict[str, str]:
        paths = [str(self.task)] if with_task else []
        return {
            **base,
            "PYTHONPATH": os.pathsep.join([*paths, str(self.runtime), str(ROOT)]),
            "PYTHONDONTWRITEBYTECODE": "1",
            # what the Lambda runtime sets for every function
            "_HANDLER": "handler.app.lambda_handler",
            "AWS_LAMBDA_FUNCTION_NAME": "codecommit-slack-notifier-bench",
        }

    #: interpreter flags: no site-packages, as in Lambda where only the two directories above count
    FLAGS = ("-S",)


def lambda_layout(directory: Path) -> LambdaLayout:
    """Build the asset into ``directory/task`` and link the runtime's packages into ``directory/runtime``."""
    task, runtime = directory / "task", directory / "runtime"
    machine = "arm64" if os.uname().machine in ("aarch64", "arm64") else "x86_64"
    bundle_into(
        task, python_version=f"{sys.version_info.major}.{sys.version_info.minor}", architecture=machine
    )
    runtime.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise SystemExit(f"{name} is not installed: run make bench (it installs .venv)")
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (runtime / source.name).symlink_to(source)
        if source is origin:  # a one-file module (six): its bytecode, as the runtime ships it
            link = str(runtime / source.name)
            py_compile.compile(link, cfile=importlib.util.cache_from_source(link), doraise=True)
    return LambdaLayout(task, runtime)
