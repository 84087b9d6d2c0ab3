"""Render: pure functions from the domain model to a chat payload. No I/O, no environment, no clock.

* :mod:`handler.render.push`: a push as one Slack message;
* :mod:`handler.render.pull_request`: a pull request's event as one Slack message, mentions
  included (:mod:`handler.render.pull_request_links` for its console links);
* :mod:`handler.render.mrkdwn`: text safety and length limits every renderer shares;
* :mod:`handler.render.links`: links into the CodeCommit console.
"""
