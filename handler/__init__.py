"""CodeCommit → Slack notifier: the Lambda package.

Entry point: :func:`handler.app.lambda_handler`. The pipeline, one module a stage:
:mod:`handler.events` (parse) → :mod:`handler.enrich` with :mod:`handler.reader` (enrich) →
:mod:`handler.render` (render, pure) → :mod:`handler.deliver` (deliver).
"""
