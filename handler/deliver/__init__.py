"""Deliver: getting a rendered payload to its destination, with bounded retries.

* :mod:`handler.deliver.webhook`: POST to an incoming webhook, retrying only what can be fixed;
* :mod:`handler.deliver.webhook_url`: where the webhook URL comes from (environment or secret).
"""
