"""CDK's hook for bundling the notifier's Lambda code on this machine, without Docker.

What goes into the asset, and why, is in :mod:`cdk.lambda_asset`; this module only hands that to
the CDK: a local-bundling hook (so the Docker image is never used) and a custom asset hash.
"""

from __future__ import annotations

from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from cdk.lambda_asset import HANDLER_DIR, asset_hash, bundle_into


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
