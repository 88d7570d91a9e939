"""Measurement and operations: quality (``evaluate``), speed (``bench``), a class at once (``loadtest``)
and the machine a figure was taken on (``machine``).

The app never imports this package (tests/test_layering.py holds that); the command line and the
benchmark scripts do.
"""
