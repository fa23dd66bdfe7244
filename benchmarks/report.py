"""docs/performance.md's tables from the scripts' JSON records: the only place figures live.

    python benchmarks/<script>.py --json benchmarks/figures/<script>.json   # measure
    python benchmarks/report.py                                             # rewrite the doc
    python benchmarks/report.py --check                                     # exit 1 if stale

Rewrites what lies between ``<!-- figures:begin -->`` and ``<!-- figures:end -->`` in
docs/performance.md: one row per record of ``benchmarks/figures/`` (the headline each script
printed last, its baseline, the command, the machine and the date of the run). Smoke records
(toy sizes) are refused: their figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "benchmarks" / "figures"
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"
MEM_BEGIN, MEM_END = "<!-- memory:begin -->", "<!-- memory:end -->"
FEED_BEGIN, FEED_END = "<!-- feed:begin -->", "<!-- feed:end -->"
# what each script measures against, in the same run
BASELINES = {
    "abx.py": "zerospeech-libriabx2 (libri-light ABX, Cython DTW) on the same features and items",
    "cli_threads.py": "the same command with OMP_NUM_THREADS=1 and with --threads 1..cores",
    "codec_throughput.py": "each package's own per-file encode API, same weights and files",
    "encode_memory.py": "torchaudio resampling in the decode worker; the corpus doubled",
    "extract_throughput.py": "fairseq's per-file loop (dump_hubert_feature.py), same model",
    "feed_throughput.py": "a hand-written Arrow loop giving the same packed batches (checked)",
    "hybrid_bounds.py": "each file encoded alone (equal codes)",
    "hybrid_distill.py": "the same codec trained without distillation, same steps",
    "kmeans_assign.py": "sklearn predict and fairseq's ApplyKmeans formula",
    "kmeans_train.py": "sklearn MiniBatchKMeans at fairseq's settings (n_init 20); sklearn "
    "KMeans and faiss from the same init for the same iterations",
    "pipeline_efficiency.py": "the model's forward alone on the same preloaded batches",
    "ray_scaling.py": "the local engine on the same corpus",
    "streaming.py": "the offline encode/decode of the same audio (codes compared)",
    "streaming_ties.py": "the offline encode of the same files",
    "store_read.py": "an Arrow zero-copy Parquet reader (and to_pylist rows)",
    "train_memory.py": "bytes of parameters, gradients and AdamW state",
    "vocoder_decode.py": "one utterance at a time (textlesslib's loop), alternating, median",
    "vocoder_train.py": "the step-0 vocoder on the same held-out files",
}


def gpu_rows(record: dict) -> list[str]:
    env = record.get("environment", {})
    out = []
    for f in record.get("figures", []):
        if f.get("status") != "ok":
            continue
        out.append(
            f"| `gpu_suite.py` {f['key']} | {f.get('ratio', '')} ({f.get('ratio_kind', 'ratio')})"
            f" | {f.get('baseline', '')} | `python benchmarks/gpu_suite.py` | "
            f"{env.get('device', '')} | {env.get('date', '')} |"
        )
    return out


def table(records: list[dict]) -> str:
    lines = [
        "| script | figure (its headline) | baseline, same run | command | machine | date |",
        "|---|---|---|---|---|---|",
    ]
    for r in records:
        if "suite" in r:
            lines += gpu_rows(r)
            continue
        base = BASELINES.get(r["script"], "")
        lines.append(
            f"| `{r['script']}` | {r['headline']} | {base} | `{r['command']}` | "
            f"{r['machine']} | {r['date']} |"
        )
    return "\n".join(lines)


def memory_table(records: list[dict]) -> str:
    """train_memory.py's rows: where the peak of each training run goes (MiB)."""
    lines = [
        "| run | parameters | peak RSS | after imports | before the first step | weights "
        "| gradients | AdamW state | the rest of the peak (activations, allocator, batches) "
        "| batch in 16 GiB (linear estimate) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        if r.get("script") != "train_memory.py":
            continue
        for row in r["rows"]:
            rest = row["rss_train_mib"] - row["rss_ready_mib"] - row["grad_bytes"]
            rest -= row["adam_bytes"]
            batch = int(row.get("batch_size", 2))  # train_memory.py's default
            fixed = row["rss_ready_mib"] + row["grad_bytes"] + row["adam_bytes"]
            fits = int((16384 - fixed) // (rest / batch)) if rest > 0 else "-"
            parts = ", ".join(
                f"{k} {v['params'] / 1e6:.1f} M" for k, v in row.get("objects", {}).items()
            )
            lines.append(
                f"| {row['line']} | {row['params'] / 1e6:.1f} M ({parts}) | "
                f"{row['rss_train_mib']:.0f} | {row['rss_imports_mib']:.0f} | "
                f"{row['rss_ready_mib']:.0f} | {row['param_bytes']:.0f} | {row['grad_bytes']:.0f} "
                f"| {row['adam_bytes']:.0f} | {rest:.0f} at batch {batch} | {fits} |"
            )
    return "\n".join(lines)


def feed_table(records: list[dict]) -> str:
    """feed_throughput.py's lines, one table row each, for every record of it (batch sizes);
    a record's command (and date) on its first row."""
    lines = [
        "| command | line | ours, M tokens/s [spread] | Arrow loop, M tokens/s | x the loop |",
        "|---|---|---|---|---|",
    ]
    for r in records:
        if r.get("script") != "feed_throughput.py":
            continue
        for n, row in enumerate(r["rows"]):
            base, ratio = row.get("baseline_Mtok_s"), row.get("ratio")
            command = f"`{r['command']}` ({r['date']})" if n == 0 else ""
            lines.append(
                f"| {command} | {row['line']} | {row['ours_Mtok_s']:.1f} "
                f"{row.get('ours_spread', '')} | {f'{base:.1f}' if base else '-'} | "
                f"{f'{ratio:.2f}x' if ratio else '-'} |"
            )
    return "\n".join(lines)


def load(folder: Path) -> list[dict]:
    records = []
    for p in sorted(folder.glob("*.json")):
        r = json.loads(p.read_text())
        if r.get("smoke"):
            raise SystemExit(f"{p}: a --smoke record (toy sizes); measure at real size")
        records.append(r)
    return records


def replace_block(doc: str, begin: str, end: str, body: str) -> str:
    if begin not in doc or end not in doc:
        raise SystemExit(f"{DOC} has no {begin} ... {end} block")
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def render(doc: str, records: list[dict]) -> str:
    doc = replace_block(doc, BEGIN, END, table(records))
    if MEM_BEGIN in doc:
        doc = replace_block(doc, MEM_BEGIN, MEM_END, memory_table(records))
    if FEED_BEGIN in doc:
        doc = replace_block(doc, FEED_BEGIN, FEED_END, feed_table(records))
    return doc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--figures", type=Path, default=FIGURES)
    ap.add_argument("--doc", type=Path, default=DOC)
    ap.add_argument("--check", action="store_true", help="exit 1 if the doc is not up to date")
    a = ap.parse_args(argv)
    old = a.doc.read_text()
    new = render(old, load(a.figures))
    if a.check:
        print("up to date" if new == old else f"{a.doc} is stale: run benchmarks/report.py")
        return 0 if new == old else 1
    a.doc.write_text(new)
    print(f"wrote {a.doc} from {len(list(a.figures.glob('*.json')))} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
