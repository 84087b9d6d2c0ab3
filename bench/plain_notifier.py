"""The plainest possible notifier, the cold-start baseline: tip commit only, no pagination, no retries.

It does the least a notifier can: one GetCommit, then a POST with the standard library's urllib.
No file list, no escaping, no limits, no retries: so ours must be at least as fast while doing
strictly more. Run as a fresh process: ``python bench/plain_notifier.py EVENT.json``.
"""

import json
import os
import sys
import urllib.request
from pathlib import Path

import boto3


def main() -> None:
    event = json.loads(Path(sys.argv[1]).read_text())
    record = json.loads(event["Records"][0]["Sns"]["Message"])["Records"][0]
    _, _, _, region, _, repository = record["eventSourceARN"].split(":")
    reference = record["codecommit"]["references"][0]
    client = boto3.client("codecommit", region_name=region)
    commit = client.get_commit(repositoryName=repository, commitId=reference["commit"])["commit"]
    text = f"{record['userIdentityARN']} pushed {reference['ref']}: {commit['message'].splitlines()[0]}"
    request = urllib.request.Request(
        os.environ["SLACK_WEBHOOK_URL"],
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).read()


if __name__ == "__main__":
    main()
