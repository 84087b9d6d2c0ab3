"""Deliver: getting a rendered payload to its destination, with bounded retries.

* :mod:`handler.deliver.senders`: one sender per destination, chosen by its type (the one thing
  the pipelines call);
* :mod:`handler.deliver.destinations`: the named destinations, their flavour, the secret map;
* :mod:`handler.deliver.webhook_url`: where webhook URLs and tokens come from (environment or secret);
* :mod:`handler.deliver.webhook`: POST to a Slack or Mattermost incoming webhook, retrying only
  what can be fixed;
* :mod:`handler.deliver.slack_app`: post, reply in a thread, edit and DM as a Slack app (bot
  token, Web API through slack_sdk, imported only when used);
* :mod:`handler.deliver.slack_retry`: slack_sdk retry handlers bounded by the invocation's deadline.
"""
