"""Deliver: getting a rendered payload to its destination, with bounded retries.

* :mod:`handler.deliver.webhook`: POST to an incoming webhook, retrying only what can be fixed;
* :mod:`handler.deliver.webhook_url`: where webhook URLs and tokens come from (environment or secret);
* :mod:`handler.deliver.destinations`: the named destinations, their flavour, the secret map.
"""
