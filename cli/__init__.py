"""The ``audiotok`` command line (installed as ``audiotok.cli``)."""
