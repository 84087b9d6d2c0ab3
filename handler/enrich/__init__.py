"""Enrich: what the events don't say, read from the repository.

* :mod:`handler.enrich.reader`: the :class:`~handler.enrich.reader.CommitReader` interface and
  its CodeCommit implementation; :mod:`handler.enrich.gitreader` answers the same from local git;
* :mod:`handler.enrich.push`: a push's commits and diffs;
* :mod:`handler.enrich.history`: the commits a branch push added, force pushes, late deliveries;
* :mod:`handler.enrich.pull_request_reader` and :mod:`handler.enrich.pull_request`: a pull
  request's title, people, approvals and comments, which its events only name by id.
"""
