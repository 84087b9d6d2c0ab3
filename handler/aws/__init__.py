"""The AWS side of the deployed function: its clients, and the service data they load.

* :mod:`handler.aws.clients`: one botocore session, one client per service and region.
* :mod:`handler.aws.models`: the operations the function calls, and a data loader that reads
  their models from ``handler/aws/data/`` (trimmed to those operations) instead of scanning and
  parsing all of botocore's.
* :mod:`handler.aws.trim`: writes ``handler/aws/data/`` from the installed botocore
  (``make aws-models``; a test fails when it is out of date).
"""
