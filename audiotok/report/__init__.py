"""Self-contained HTML evaluation reports (``--html DIR``): see ``build.write_report``.

from audiotok.report import write_report
write_report("report/", title="eval roundtrip", files=rows, sample_metric="pesq", ...)
"""

from __future__ import annotations

from typing import Any

__all__ = ["write_report"]


def __getattr__(name: str) -> Any:
    if name == "write_report":  # lazily: building a report imports numpy and matplotlib
        from audiotok.report.build import write_report

        return write_report
    raise AttributeError(f"module 'audiotok.report' has no attribute {name!r}")
