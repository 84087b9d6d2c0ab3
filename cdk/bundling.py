"""Bundle the notifier's Lambda code on this machine, without Docker.

The asset holds the ``handler`` package and the third-party packages it needs at run time
(``requests`` and its dependencies; ``slack_sdk`` for Slack app destinations), installed by pip as
wheels for the function's Python version and architecture. The boto3 family is left out: the
Lambda Python runtime provides it, and bundling it would add about 15 MB and slow every cold start.

The asset hash covers exactly what goes in (the handler's source, the pinned requirements, the
target), so unrelated edits in the repository never force a new deployment.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parent.parent
HANDLER_DIR = ROOT / "handler"
REQUIREMENTS = ROOT / "requirements.txt"
#: Provided by the Lambda runtime; pinned in requirements.txt for local runs only.
PROVIDED_BY_RUNTIME = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six"})
_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}


def bundled_requirements() -> list[str]:
    """The pinned requirement lines that go into the asset."""
    lines = []
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement and requirement.split("==")[0].strip().lower() not in PROVIDED_BY_RUNTIME:
            lines.append(requirement)
    return lines


def _source_files() -> list[Path]:
    # .json too: a USER_MAP_FILE shipped in handler/ (see README, "Pull requests")
    return sorted(
        p for p in HANDLER_DIR.rglob("*") if p.suffix in (".py", ".json") and "__pycache__" not in p.parts
    )


def asset_hash(python_version: str, architecture: str) -> str:
    """A hash of everything that determines the asset's content."""
    digest = hashlib.sha256(f"{python_version}|{architecture}".encode())
    for requirement in bundled_requirements():
        digest.update(requirement.encode())
    for path in _source_files():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def bundle_into(output_dir: Path, *, python_version: str, architecture: str) -> None:
    """pip-install the runtime wheels for the target, then copy the handler package beside them."""
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


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """CDK's local-bundling hook: returning True means the Docker image is never used."""

    def __init__(self, *, python_version: str, architecture: str) -> None:
        self._python_version = python_version
        self._architecture = architecture

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        bundle_into(Path(output_dir), python_version=self._python_version, architecture=self._architecture)
        return True


def notifier_code(runtime: lambda_.Runtime, architecture: lambda_.Architecture) -> lambda_.Code:
    """The function's code asset, bundled locally for ``runtime`` on ``architecture``."""
    python_version = runtime.name.removeprefix("python")
    arch = "arm64" if architecture.name == "arm64" else "x86_64"
    return lambda_.Code.from_asset(
        str(HANDLER_DIR),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=asset_hash(python_version, arch),
        bundling=BundlingOptions(
            image=runtime.bundling_image,
            local=LocalPipBundling(python_version=python_version, architecture=arch),
        ),
    )
