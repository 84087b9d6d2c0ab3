"""One module per event path, peers side by side, each reading top to bottom
parse → claim → enrich → decide → render → deliver → mark:

* :mod:`handler.pipelines.push`: a push (a repository trigger's SNS message);
* :mod:`handler.pipelines.pull_request`: a pull request, comment or approval (EventBridge), with
  :mod:`handler.pipelines.threads` (Slack-app threads and direct messages) and
  :mod:`handler.pipelines.outgoing` (a notice on its way out);
* :mod:`handler.pipelines.reminders`: the review-reminder schedule's event (one digest per
  destination of the pull requests waiting for review).

``handler.app`` picks the path by the event's shape. A pipeline imports the runtime
(``handler.runtime``) and the stage rooms below it; nothing below imports a pipeline.
"""
