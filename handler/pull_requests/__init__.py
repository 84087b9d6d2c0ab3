"""Code review's own rules: who a pull request's people are, what its events mean, what to post.

* :mod:`handler.pull_requests.model`: activities (what an event says) and notices (what to post);
* :mod:`handler.pull_requests.people`: ``USER_MAP``, and who is mentioned where;
* :mod:`handler.pull_requests.commands`: ``/review-done``, ``/re-review``, ``/ping-reviewers``;
* :mod:`handler.pull_requests.settings`: the pull-request settings.

Rules only: the flow between the stages is :mod:`handler.pipelines.pull_request`. This room imports
nothing but the base modules (``handler.model``, ``handler.errors``), so every room above may use it.
"""
