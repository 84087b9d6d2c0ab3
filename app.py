#!/usr/bin/env python3
"""CDK entry point: ``cdk synth`` / ``cdk deploy`` build the notifier stack from cdk.json's context.

cdk-nag's AwsSolutions pack runs on every synth: a finding that is not acknowledged (with its
reason, in cdk/stack.py) fails the synth.
"""

from __future__ import annotations

import os
import sys

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from cdk.config import NotifierConfig, StackConfigError
from cdk.stack import CodeCommitSlackNotifierStack

STACK_NAME = "CodeCommitSlackNotifier"


def build_app(app: App) -> CodeCommitSlackNotifierStack:
    """Add the stack and the cdk-nag checks to ``app``; tests call this with their own App."""
    config = NotifierConfig.from_context(app.node.try_get_context)
    stack = CodeCommitSlackNotifierStack(
        app,
        str(app.node.try_get_context("stack_name") or STACK_NAME),
        config=config,
        description="CodeCommit -> Slack notifier (triggers, encrypted SNS, Lambda, DLQ, alarms)",
        env=Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")
        ),
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


def main() -> None:
    app = App()
    try:
        build_app(app)
    except StackConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    app.synth()


if __name__ == "__main__":
    main()
