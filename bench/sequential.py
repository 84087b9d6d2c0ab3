"""The pipeline's reads one after another, as before the read-ahead (``handler/enrich/prefetch.py``).

Stand-ins for :class:`~handler.enrich.prefetch.TipPrefetch` and
:class:`~handler.enrich.prefetch.ReadAhead` that read nothing ahead: put in ``handler.pipelines.push`` in
their place, the tips and their files are read when enrich asks, and the heads after the claim.
``bench/lever_variant.py`` measures the lever with them (``no-prefetch``); ``tests/test_prefetch.py``
compares the pipeline with and without it.
"""

from __future__ import annotations

from typing import Any

from handler.enrich.prefetch import ReadAhead, TipPrefetch


class NoPrefetch(TipPrefetch):
    """The wrapped reader, nothing read ahead."""

    def __init__(self, reader: Any, tips: Any) -> None:
        super().__init__(reader, [])


class ReadWhenAsked(ReadAhead[Any]):
    """Reads on the calling thread when asked, after the claim."""

    def __init__(self, read: Any) -> None:
        super().__init__(None)
        self._read = read

    def get(self) -> Any:
        return None if self._read is None else self._read()
