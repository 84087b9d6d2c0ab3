"""The parts of ``make demo`` that drive whole event paths against loopback stand-ins
(:mod:`handler.demos.delivery`: destinations, threads and routing; :mod:`handler.demos.pull_requests`:
a pull request's life). Like the entries, they may import anything; nothing imports them but
``handler.demo`` and ``handler.__main__``."""
