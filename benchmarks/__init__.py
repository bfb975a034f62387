"""taskdb against the raw drivers, on the same engine settings, in one interleaved run.

Run ``python -m benchmarks --help`` (or ``make bench``). Results go to
``benchmarks/results.json`` and ``benchmarks/RESULTS.md``. Nothing here is part of
the test suite: timings are measured and reported, never asserted.
"""
