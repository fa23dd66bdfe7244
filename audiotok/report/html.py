"""HTML pieces of the report: escaping, number formatting, tables, the page shell.

No template engine and no framework: strings built with ``html.escape``, one inline style
sheet and a dozen lines of vanilla JavaScript that sort a table when its header is clicked
(numbers by value, text alphabetically, empty cells last).
"""

from __future__ import annotations

import html
import json
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;
 max-width:1200px;padding:0 16px;color:#1d232b;background:#fff}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #dde3ea}
h3{font-size:15px;margin:18px 0 6px}.meta{color:#5a6673;margin:0 0 12px}
table{border-collapse:collapse;margin:6px 0 12px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #dde3ea;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
thead th{background:#f2f5f8;position:sticky;top:0}
table.sortable thead th{cursor:pointer;user-select:none}
table.sortable thead th[aria-sort=ascending]::after{content:" \\25B2"}
table.sortable thead th[aria-sort=descending]::after{content:" \\25BC"}
tr.example td{background:#fff8e1}table.kv td{text-align:left}
.scroll{max-height:520px;overflow:auto;display:inline-block;max-width:100%}
pre{background:#f6f8fa;padding:8px 10px;overflow:auto;border:1px solid #dde3ea}
.example-card{border:1px solid #dde3ea;padding:8px 12px;margin:10px 0}
.players{display:flex;gap:24px;flex-wrap:wrap}.players div{flex:1;min-width:280px}
audio{width:100%}img{max-width:100%;height:auto}.note{color:#5a6673}
"""

SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      function key(r) { var c = r.cells[col]; return c ? c.getAttribute("data-v") : null; }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null || x === "") return 1;
        if (y === null || y === "") return -1;
        var nx = parseFloat(x), ny = parseFloat(y), d;
        d = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? d : -d;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def is_number(v: Any) -> bool:
    """Python and numpy numbers (not booleans)."""
    return isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_)


def fmt(v: Any) -> str:
    """Numbers to 4 significant digits (integers whole), None as empty, the rest as text."""
    if v is None:
        return ""
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        v = float(v)
        if math.isnan(v):
            return "nan"
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.3e}"
        return f"{v:.4g}"
    if isinstance(v, Mapping | list | tuple):
        return json.dumps(v, default=str)
    return str(v)


def cell(v: Any, tag: str = "td", attrs: str = "") -> str:
    """A cell whose ``data-v`` holds the raw value the sort script compares."""
    raw = repr(float(v)) if is_number(v) else ("" if v is None else str(v))
    return f'<{tag} data-v="{esc(raw)}"{attrs}>{esc(fmt(v))}</{tag}>'


def table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    *,
    sortable: bool = True,
    row_attrs: Sequence[str] | None = None,
    link_first: Mapping[str, str] | None = None,
) -> str:
    """A table of ``rows`` (dicts) over ``columns`` (default: their keys in first-seen order).

    ``link_first`` maps a first-column value to an in-page anchor to link it to."""
    cols = list(columns) if columns is not None else columns_of(rows)
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in cols)
    body = []
    for i, r in enumerate(rows):
        cells = []
        for j, c in enumerate(cols):
            v = r.get(c)
            if j == 0 and link_first and str(v) in link_first:
                cells.append(
                    f'<td data-v="{esc(v)}"><a href="#{esc(link_first[str(v)])}">{esc(v)}</a></td>'
                )
            else:
                cells.append(cell(v))
        attrs = row_attrs[i] if row_attrs else ""
        body.append(f"<tr{attrs}>{''.join(cells)}</tr>")
    cls = ' class="sortable"' if sortable else ""
    return (
        f'<div class="scroll"><table{cls}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def columns_of(rows: Iterable[Mapping[str, Any]], skip: Iterable[str] = ()) -> list[str]:
    out: dict[str, None] = {}
    drop = set(skip)
    for r in rows:
        for c in r:
            if c not in drop:
                out.setdefault(c, None)
    return list(out)


def summary_table(summary: Mapping[str, Any]) -> str:
    """Rows are metrics; a metric is a number/text, or a mapping of statistics (mean, std,
    min, median, max, ...) that become the columns."""
    stats_cols = columns_of(v for v in summary.values() if isinstance(v, Mapping))
    rows = []
    for name, v in summary.items():
        row: dict[str, Any] = {"metric": name}
        if isinstance(v, Mapping):
            row.update(v)
        else:
            row["value"] = v
        rows.append(row)
    plain = any(not isinstance(v, Mapping) for v in summary.values())
    cols = ["metric", *(["value"] if plain else []), *stats_cols]
    return table(rows, cols, sortable=False)


def definition_list(d: Mapping[str, Any]) -> str:
    items = "".join(f"<tr><th>{esc(k)}</th><td>{esc(fmt(v))}</td></tr>" for k, v in d.items())
    return f'<table class="kv">{items}</table>'


def page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'  # no favicon request
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n"
        f"<script>{SORT_JS}</script>\n</body></html>\n"
    )
