"""The parts of ``benchmarks/gpu_suite.py``: one module per part, each a list of ``ITEMS``.

Modules import no torch at their top level: spawned worker processes re-import the suite's
main script, and with it this package.
"""
