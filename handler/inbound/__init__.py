"""HTTP front-door plumbing shared by the chat (``handler.chat``) and GitLab (``handler.gitlab``) entries.

Every front door is a Lambda function URL (payload format 2.0). Nothing in a request is trusted
before its signature or token was checked; a request that fails the check is answered 401 (403 for
a verified request from a workspace the notifier does not serve) and causes nothing else.

Rooms inside:

* ``request.py``: :class:`FunctionUrlRequest`, a read-only view over the function-URL event;
* ``response.py``: the ``{"statusCode", "headers", "body"}`` answers;
* ``slack.py``: Slack's ``v0`` request signature, its replay window and the workspace check;
* ``verify.py``: GitLab's ``X-Gitlab-Token`` and Standard Webhooks signature checks.
"""
