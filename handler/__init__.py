"""CodeCommit → Slack notifier: the Lambda package.

Entry point: :func:`handler.app.lambda_handler`, where the pipeline reads top to bottom. One
package a stage: :mod:`handler.sources` (parse) → :mod:`handler.enrich` (read what the event
doesn't say) → :mod:`handler.render` (pure) → :mod:`handler.deliver`; :mod:`handler.state`
remembers what must outlive an invocation.
"""
