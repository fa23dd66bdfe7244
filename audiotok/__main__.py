"""``python -m audiotok`` is the ``audiotok`` command."""

from audiotok.cli.app import main

main()
