"""CodeCommit → Slack notifier: the Lambda package.

Entry points: :func:`handler.app.lambda_handler` (the notifier; each event path reads top to bottom in
:mod:`handler.pipelines`). One
package a stage: :mod:`handler.sources` (parse) → :mod:`handler.enrich` (read what the event
doesn't say) → :mod:`handler.render` (pure) → :mod:`handler.deliver`; :mod:`handler.state`
remembers what must outlive an invocation.

In Lambda (``_HANDLER`` set by its runtime), importing this package holds Python's garbage
collector off until the first invocation ends (:func:`handler.app.lambda_handler` resumes it and
freezes what exists then). A cold start otherwise runs about 65 collections, 12 ms here, over
modules and client models that live as long as the container. The price: the little cyclic
garbage the cold start made (about 900 objects here) is frozen with the rest and never collected,
once per container; collecting it first would take a full collection, 30 to 40 ms here. Anywhere
else (tests, the preview, the demo) nothing changes.
"""

import gc as _gc
import os as _os

#: Whether this process held the collector off for its cold start (and still has to resume it).
cold_start_collection_paused = bool(_os.environ.get("_HANDLER")) and _gc.isenabled()
if cold_start_collection_paused:
    _gc.disable()
