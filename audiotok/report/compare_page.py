"""The page of ``audiotok compare``: tokenizers side by side, in one self-contained folder.

``index.html`` holds a sortable table (one row per tokenizer; one that failed shows its
error), the per-codebook table (usage, entropy, PNMI), bitrate-vs-quality plots
(``img/bitrate-*.png``: one point per tokenizer, bitrate on a log axis) and players for the
first few files of each tokenizer that decodes (reference and decoded audio under
``audio/``). The rows are :func:`audiotok.metrics.compare.compare`'s; the pieces (escaping,
sortable tables, the audio copy) are the eval reports' (``report/html.py``, ``build.py``).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from audiotok.report import html as H
from audiotok.report.build import GENERATOR, _audio, _slug

# column -> (label, higher is better); the order of the table
COLUMNS = {
    "kind": ("kind", None),
    "frame_rate": ("frame rate Hz", None),
    "codebooks": ("codebooks", None),
    "codebook_size": ("codebook size", None),
    "kbps": ("kbit/s", None),
    "tokens_per_second": ("tokens/s", None),
    "encode_realtime": ("encode x real time", True),
    "entropy_bits": ("entropy bits (mean over codebooks)", True),
    "pnmi": ("PNMI codebook 0", True),
    "abx_triphone_within": ("ABX triphone within %", False),
    "abx_triphone_across": ("ABX triphone across %", False),
    "abx_phoneme_within": ("ABX phoneme within %", False),
    "abx_phoneme_across": ("ABX phoneme across %", False),
    "mel_distance": ("mel dist", False),
    "stft_distance": ("MR-STFT", False),
    "si_sdr": ("SI-SDR dB", True),
    "pesq_wb": ("PESQ-wb", True),
    "stoi": ("STOI", True),
    "uer": ("UER", False),
}
PLOTTED = ("abx_triphone_within", "mel_distance", "pesq_wb", "stoi", "si_sdr", "uer")


def flat_row(r: Mapping[str, Any]) -> dict[str, Any]:
    """One tokenizer's row as table cells (keys of COLUMNS, plus model and errors)."""
    if "error" in r:  # the first sentence; the whole message is under Errors
        msg = str(r["error"])
        if len(msg) > 120:
            msg = msg.split(". ", 1)[0]
            msg = msg if len(msg) <= 120 else msg[:119] + "…"
        return {"model": r["model"], "error": msg}
    usage = r.get("usage") or []
    row: dict[str, Any] = {
        "model": r["model"],
        **{k: r.get(k) for k in ("kind", "frame_rate", "codebooks", "codebook_size")},
        "kbps": r["bitrate_bps"] / 1000,
        "tokens_per_second": r.get("tokens_per_second"),
        "encode_realtime": r.get("encode_realtime"),
        "entropy_bits": sum(u["entropy_bits"] for u in usage) / len(usage) if usage else None,
        "pnmi": (r.get("pnmi") or [None])[0],
    }
    for cond, v in (r.get("abx") or {}).items():
        row[f"abx_{cond}"] = v
    row.update(r.get("recon") or {})
    if r.get("uer") is not None:
        row["uer"] = r["uer"]
    row["errors"] = len(r.get("errors", [])) + len(r.get("encode_errors", []))
    return row


def _plots(rows: list[dict[str, Any]], img: Path) -> list[tuple[str, Path]]:
    from audiotok.report.figures import _plt

    out = []
    for key in PLOTTED:
        pts = [(r["kbps"], r[key], r["model"]) for r in rows if H.is_number(r.get(key))]
        if not pts:
            continue
        plt = _plt()
        fig, ax = plt.subplots(figsize=(5.2, 3.4), dpi=100)
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], color="#2d6cdf", zorder=3)
        for x, y, name in pts:
            short = name if len(name) <= 28 else name[:27] + "…"
            ax.annotate(short, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
        ax.set_xscale("log")
        label, better = COLUMNS[key]
        ax.set_xlabel("bitrate, kbit/s (log)")
        ax.set_ylabel(label + (" ↑" if better else " ↓"))
        ax.grid(True, alpha=0.3)
        png = img / f"bitrate-{key}.png"
        fig.savefig(png, bbox_inches="tight")
        plt.close(fig)
        out.append((label, png))
    return out


def _players(r: Mapping[str, Any], snd: Path, n: int, max_s: float) -> str:
    cards = []
    for k, ex in enumerate((r.get("examples") or [])[:n]):
        stem = f"{_slug(r['model'])}-{k:02d}"
        players = []
        for key, name in (("reference", "reference"), ("decoded", "decoded")):
            rel, _ = _audio(ex[key], snd / f"{stem}-{name[:3]}", max_s)
            players.append(
                f'<div><b>{name}</b><br><audio controls preload="metadata" '
                f'src="audio/{H.esc(rel)}"></audio></div>'
            )
        cards.append(
            f'<div class="example-card"><h3>{H.esc(r["model"])}: {H.esc(ex["id"])}</h3>'
            f'<div class="players">{"".join(players)}</div></div>'
        )
    return "".join(cards)


def write_compare_report(
    out_dir: str | Path,
    result: Mapping[str, Any],
    *,
    examples: int = 2,
    max_audio_seconds: float = 10.0,
) -> Path:
    """Write ``index.html`` (+ ``img/``, ``audio/``) into ``out_dir``; returns its path."""
    import audiotok

    out = Path(out_dir)
    img, snd = out / "img", out / "audio"
    for sub in (img, snd):
        if sub.is_dir():
            shutil.rmtree(sub)
        sub.mkdir(parents=True)
    rows = [flat_row(r) for r in result["tokenizers"]]
    ok = [r for r in rows if "error" not in r]
    title = f"audiotok compare: {Path(result['corpus']).name}"
    meta = [
        f"audiotok {audiotok.__version__}",
        time.strftime("generated %Y-%m-%d %H:%M UTC", time.gmtime()),
        f"{result['files']} files",
    ]
    if result.get("align"):
        meta.append(f"alignments {result['align']}")
    if result.get("vocoder"):
        meta.append(f"vocoder {result['vocoder']}")
    cols = ["model", *[c for c in COLUMNS if any(r.get(c) is not None for r in ok)], "errors"]
    if any("error" in r for r in rows):
        cols.append("error")
    head = {c: COLUMNS[c][0] if c in COLUMNS else c for c in cols}
    table_rows = [{head[c]: r.get(c) for c in cols} for r in rows]
    parts = [
        f"<h1>{H.esc(title)}</h1>",
        f'<p class="meta" id="meta">{" &middot; ".join(H.esc(m) for m in meta)}</p>',
        '<h2 id="tokenizers">Tokenizers</h2>',
        '<p class="note">Click a column header to sort. ABX: error rate of one-hot units of '
        "all codebooks (50 % is chance); PNMI of codebook 0; reconstruction metrics are means "
        "over the decoded files (codecs) or the resynthesis (semantic units with a vocoder).</p>",
        H.table(table_rows, list(head.values())),
    ]
    per_cb = []
    for r in result["tokenizers"]:
        pnmi = r.get("pnmi") or []
        for u in r.get("usage") or []:
            c = u["codebook"]
            row = {"model": r["model"], **u}
            if c < len(pnmi):
                row["pnmi"] = pnmi[c]
            per_cb.append(row)
    if per_cb:
        parts += ['<h2 id="codebooks">Per codebook</h2>', H.table(per_cb)]
    plots = _plots(ok, img)
    if plots:
        parts.append('<h2 id="plots">Bitrate and quality</h2>')
        for lab, p in plots:
            src = H.esc(p.relative_to(out).as_posix())
            parts.append(f'<p><img src="{src}" alt="bitrate vs {H.esc(lab)}"></p>')
    cards = [_players(r, snd, examples, max_audio_seconds) for r in result["tokenizers"]]
    if any(cards):
        parts += ['<h2 id="examples">Listen</h2>', *[c for c in cards if c]]
    errors = [(r["model"], r["error"]) for r in result["tokenizers"] if "error" in r]
    errors += [(r["model"], e) for r in result["tokenizers"] for e in r.get("errors", [])]
    if errors:
        parts += [
            '<h2 id="errors">Errors</h2>',
            H.table([{"model": m, "error": e} for m, e in errors]),
        ]
    index = out / "index.html"
    page = H.page(title, "\n".join(parts))
    page = page.replace("<head>", f'<head><meta name="generator" content="{GENERATOR}">', 1)
    index.write_text(page, "utf-8")
    return index
