"""Event sources other than repository triggers (those stay in :mod:`handler.events`).

* :mod:`handler.sources.eventbridge`: CodeCommit's EventBridge events (pull requests, comments,
  approvals), delivered to Lambda directly or wrapped in SNS.
"""
