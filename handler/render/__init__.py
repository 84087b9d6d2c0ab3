"""Render: pure functions from the domain model to a chat payload. No I/O, no environment, no clock.

* :mod:`handler.render.push`: a push as one Slack message;
* :mod:`handler.render.mrkdwn`: text safety and length limits every renderer shares;
* :mod:`handler.render.links`: links into the CodeCommit console.
"""
