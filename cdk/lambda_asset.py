"""What goes into the notifier's Lambda asset, and how it is built on this machine, without Docker.

The asset holds the ``handler`` package and the third-party packages it needs at run time
(``requests`` and its dependencies; ``slack_sdk`` for Slack app destinations), installed by pip as
wheels for the function's Python version and architecture. Left out:

* the boto3 family: the Lambda Python runtime provides it, and bundling it would add about 15 MB;
* ``charset-normalizer`` (:data:`LEFT_OUT`): requests imports it only to guess the encoding of
  a response that names none, and falls back to UTF-8 without it. Importing it costs about 30 ms
  of every cold start (``python -m bench`` measures the asset as bundled here).

Bytecode: Lambda's code directory is read-only, so Python cannot cache the bytecode it compiles,
and every cold start would compile the handler (about 60 ms here for the modules a push imports).
When an interpreter of the target version is on this machine (``python3.14`` for the deployed
function), the asset gets ``.pyc`` files compiled by it (``unchecked-hash``, so they stay valid
whatever timestamps the zip keeps); otherwise it ships source only, and synth prints a note.

The asset hash covers exactly what goes in (the handler's source, the pinned requirements, the
target, whether bytecode is included), so unrelated edits never force a new deployment.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HANDLER_DIR = ROOT / "handler"
REQUIREMENTS = ROOT / "requirements.txt"
#: Provided by the Lambda runtime; pinned in requirements.txt for local runs only.
PROVIDED_BY_RUNTIME = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six"})
#: Pinned for local runs (requests depends on it) but not bundled: see the module docstring.
LEFT_OUT = frozenset({"charset-normalizer"})
_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}


def bundled_requirements() -> list[str]:
    """The pinned requirement lines that go into the asset."""
    lines = []
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        name = requirement.split("==")[0].strip().lower().replace("_", "-")
        if requirement and name not in PROVIDED_BY_RUNTIME | LEFT_OUT:
            lines.append(requirement)
    return lines


def _source_files() -> list[Path]:
    # .json too: a USER_MAP_FILE shipped in handler/ (see README, "Pull requests")
    return sorted(
        p for p in HANDLER_DIR.rglob("*") if p.suffix in (".py", ".json") and "__pycache__" not in p.parts
    )


def bytecode_compiler(python_version: str) -> str | None:
    """An interpreter of ``python_version`` on this machine, to compile the asset's bytecode with."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == python_version:
        return sys.executable
    return shutil.which(f"python{python_version}")


def asset_hash(python_version: str, architecture: str) -> str:
    """A hash of everything that determines the asset's content."""
    compiled = "pyc" if bytecode_compiler(python_version) else "source"
    digest = hashlib.sha256(f"{python_version}|{architecture}|{compiled}".encode())
    for requirement in bundled_requirements():
        digest.update(requirement.encode())
    for path in _source_files():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def bundle_into(output_dir: Path, *, python_version: str, architecture: str) -> None:
    """pip-install the runtime wheels for the target, copy the handler package beside them, and
    compile everything to bytecode when an interpreter of the target version is here."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(output_dir),
            "--platform",
            _PLATFORMS[architecture],
            "--implementation",
            "cp",
            "--python-version",
            python_version,
            "--only-binary=:all:",
            "--no-deps",
            *bundled_requirements(),
        ],
        check=True,
    )
    target = output_dir / "handler"
    target.mkdir(parents=True, exist_ok=True)
    for path in _source_files():
        destination = target / path.relative_to(HANDLER_DIR)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    compiler = bytecode_compiler(python_version)
    if compiler is None:
        print(
            f"note: no python{python_version} on this machine, so the Lambda asset ships source only "
            "and every cold start compiles it (about 180 ms more). Install Python "
            f"{python_version} (for example: uv python install {python_version}) and synth again "
            "to include bytecode.",
            file=sys.stderr,
        )
        return
    compile_all = [compiler, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    subprocess.run([*compile_all, str(output_dir)], check=True)
