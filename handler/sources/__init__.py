"""Parse: the event sources the notifier reads, each a typed read-only view over its raw shape.

* :mod:`handler.sources.trigger`: CodeCommit repository triggers (pushes), via SNS or directly.
"""
