"""Benchmarks: ``make bench`` (``python -m bench``). Every timing is a ratio measured side by side.

This machine is shared and noisy, so nothing here compares against a number taken at another
time: each figure is two things measured interleaved in one run, reported as medians and a ratio.
"""
