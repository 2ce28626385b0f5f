"""Benchmarks: each module is one command (``python -m bench.<name>``) that starts its own
sandboxes, measures Cashrail against its floors in the same run and prints figures and ratios.

They are not tests: nothing here asserts a time (``tests/bench`` only proves they still run).
"""
