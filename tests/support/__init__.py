"""Helpers shared by the test suite and the benchmarks: engines, seed files, data sets."""
