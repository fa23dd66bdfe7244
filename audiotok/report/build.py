"""``write_report``: one self-contained folder an evaluation can be looked at and listened in.

Layout::

    DIR/index.html     version and bitrate, summary, recipe, examples, per-file table, unit
                       usage, PNMI, extra tables
    DIR/img/*.png      spectrograms (reference | decoded), usage histograms, PNMI plot
    DIR/audio/*.wav    reference and decoded audio of the examples (16-bit PCM; a wav/flac/
                       ogg/mp3 shorter than ``max_audio_seconds`` is copied as it is)

Every reference in ``index.html`` is a relative path into the folder (no network, no
framework; sorting is a few lines of inline JavaScript), so the folder can be zipped,
served or opened from disk. Examples: the best, median and worst file by ``sample_metric``
(among files that have audio), each with its spectrograms side by side and players for both.

Every field but ``out_dir`` and ``title`` is optional, so each evaluation passes what it has:
``eval recon``/``roundtrip``/``resynth`` pass files with reference and decoded audio,
``eval codebooks`` passes usage and PNMI per codebook and prefix, ``kmeans eval`` passes
usage, PNMI and per-utterance rows.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.errors import AudiotokError
from audiotok.report import html as H

GENERATOR = "audiotok-report"
AUDIO_KEYS = ("ref_wav_path", "dec_wav_path")
COPY_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
Audio = str | Path | tuple[np.ndarray, int]


def write_report(
    out_dir: str | Path,
    *,
    title: str,
    recipe: Mapping[str, Any] | None = None,
    bitrate_bps: float | None = None,
    version: str | None = None,
    summary: Mapping[str, Any] | None = None,
    files: Sequence[Mapping[str, Any]] = (),
    sample_metric: str | None = None,
    higher_is_better: bool = True,
    unit_usage: Sequence[int] | Mapping[str, Sequence[int]] | None = None,
    pnmi: Mapping[str, Any] | None = None,
    extra_tables: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    notes: Sequence[str] = (),
    max_audio_seconds: float = 30.0,
) -> Path:
    """Write the report folder and return the path of its ``index.html``.

    - ``recipe``: the tokenizer recipe (``TokenizerConfig.to_dict()``) or any JSON-able dict.
    - ``summary``: metric -> number/text, or metric -> {statistic: value} (mean, std, ...).
    - ``files``: one dict per file: ``id``, metric columns (numbers or text), and optionally
      ``ref_wav_path`` / ``dec_wav_path``: a path, or ``(samples [T] float, sample_rate)``.
    - ``sample_metric``: the column that picks the best/median/worst examples
      (``higher_is_better`` says which end is best).
    - ``unit_usage``: frames per unit of one codebook, or {codebook name: counts}.
    - ``pnmi``: ``{"per_codebook": [...], "per_prefix": [...], "labels": [...]}`` (any part
      optional; prefix i = codebooks 1..i together), or a flat {name: value}.
    - ``extra_tables``: {heading: rows (dicts)}, each rendered as a sortable table.
    - ``version``: defaults to ``audiotok.__version__``.
    """
    import audiotok
    from audiotok.report import figures

    out = _prepare(Path(out_dir))
    img, snd = out / "img", out / "audio"
    img.mkdir()
    snd.mkdir()
    rows = [dict(r) for r in files]
    for i, r in enumerate(rows):
        if "id" not in r:
            raise AudiotokError(f"report file row {i} has no 'id'")
    if sample_metric is not None and rows and not any(sample_metric in r for r in rows):
        raise AudiotokError(f"sample_metric {sample_metric!r} is not a column of the file rows")
    version = version or audiotok.__version__
    meta = [f"audiotok {version}", time.strftime("generated %Y-%m-%d %H:%M UTC", time.gmtime())]
    if bitrate_bps is not None:
        meta.append(f"bitrate {bitrate_bps:.1f} bit/s ({bitrate_bps / 1000:.3g} kbit/s)")
    parts = [
        f"<h1>{H.esc(title)}</h1>",
        f'<p class="meta" id="meta">{" &middot; ".join(H.esc(m) for m in meta)}</p>',
    ]
    parts += [f'<p class="note">{H.esc(n)}</p>' for n in notes]
    if summary:
        parts += ['<h2 id="summary">Summary</h2>', H.summary_table(summary)]
    if recipe:
        parts += ['<h2 id="recipe">Tokenizer recipe</h2>', H.definition_list(recipe)]
    examples = pick_examples(rows, sample_metric, higher_is_better)
    anchors: dict[str, str] = {}
    if examples:
        parts.append('<h2 id="examples">Examples</h2>')
        for n, (label, ex) in enumerate(examples):
            anchor = f"ex{n}"
            anchors.setdefault(str(ex["id"]), anchor)
            parts.append(_example(label, ex, n, anchor, sample_metric, img, snd, max_audio_seconds))
    if rows:
        cols = H.columns_of(rows, skip=AUDIO_KEYS)
        marks = [' class="example"' if str(r["id"]) in anchors else "" for r in rows]
        parts += [
            f'<h2 id="files">Files ({len(rows)})</h2>',
            '<p class="note">Click a column header to sort.</p>',
            H.table(rows, cols, row_attrs=marks, link_first=anchors),
        ]
    if unit_usage is not None:
        usage = unit_usage if isinstance(unit_usage, Mapping) else {"": unit_usage}
        parts.append('<h2 id="usage">Unit usage</h2>')
        for n, (name, counts) in enumerate(usage.items()):
            png = figures.usage_histogram(counts, img / f"usage-{n:02d}.png", title=str(name))
            parts.append(_img(png, out, f"unit usage {name}".strip()))
    if pnmi:
        parts += ['<h2 id="pnmi">PNMI</h2>', _pnmi(pnmi, img, out)]
    for heading, trows in (extra_tables or {}).items():
        parts += [f"<h2>{H.esc(heading)}</h2>", H.table(list(trows))]
    index = out / "index.html"
    body = "\n".join(parts)
    index.write_text(H.page(title, body).replace("<head>", _generator_tag(), 1), "utf-8")
    return index


def _generator_tag() -> str:
    return f'<head><meta name="generator" content="{GENERATOR}">'


def _prepare(out: Path) -> Path:
    """An empty folder, or a previous report (its img/ and audio/ are replaced); anything
    else is refused, so no file of the user's is overwritten."""
    from audiotok.safe_paths import output_folder

    output_folder(out, "report folder")
    if out.exists() and not out.is_dir():
        raise AudiotokError(f"{out} is a file; --html needs a folder")
    for sub in ("img", "audio"):  # replaced below: never through a link to elsewhere
        output_folder(out / sub, "report sub-folder")
    if out.is_dir() and any(out.iterdir()):
        index = out / "index.html"
        if not (index.is_file() and GENERATOR in index.read_text("utf-8", errors="replace")[:600]):
            raise AudiotokError(
                f"{out} is not empty and holds no audiotok report: choose a new folder for --html"
            )
        for sub in ("img", "audio"):
            if (out / sub).is_dir():
                shutil.rmtree(out / sub)
    out.mkdir(parents=True, exist_ok=True)
    return out


def pick_examples(
    rows: Sequence[Mapping[str, Any]], metric: str | None, higher_is_better: bool = True
) -> list[tuple[str, Mapping[str, Any]]]:
    """(label, row) for the best, median and worst row by ``metric`` among rows with audio
    (fewer when rows coincide); without a metric, the first three rows with audio."""
    have = [r for r in rows if any(r.get(k) is not None for k in AUDIO_KEYS)]
    if metric is None:
        return [("example", r) for r in have[:3]]
    scored = [r for r in have if H.is_number(r.get(metric)) and np.isfinite(r[metric])]
    if not scored:
        return []
    order = sorted(scored, key=lambda r: float(r[metric]), reverse=higher_is_better)
    picks = [("best", order[0]), ("median", order[(len(order) - 1) // 2]), ("worst", order[-1])]
    out: list[tuple[str, Mapping[str, Any]]] = []
    for label, r in picks:
        if all(r is not o for _, o in out):
            out.append((label, r))
    return out


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s).strip("._")[:60] or "file"


def _example(
    label: str,
    r: Mapping[str, Any],
    n: int,
    anchor: str,
    metric: str | None,
    img: Path,
    snd: Path,
    max_s: float,
) -> str:
    from audiotok.report import figures

    uid = str(r["id"])
    stem = f"{n:02d}-{_slug(uid)}"
    signals: dict[str, tuple[np.ndarray, int] | None] = {}
    players = []
    for key, name in zip(AUDIO_KEYS, ("reference", "decoded"), strict=True):
        src = r.get(key)
        if src is None:
            signals[name] = None
            continue
        rel, sig = _audio(src, snd / f"{stem}-{name[:3]}", max_s)
        signals[name] = sig
        players.append(
            f'<div><b>{name}</b><br><audio controls preload="metadata" '
            f'src="audio/{H.esc(rel)}"></audio></div>'
        )
    png = figures.spectrogram_pair(
        signals["reference"], signals["decoded"], img / f"spec-{stem}.png"
    )
    value = f" ({H.esc(metric)} {H.esc(H.fmt(r.get(metric)))})" if metric else ""
    return (
        f'<div class="example-card" id="{anchor}"><h3>{H.esc(label)}: {H.esc(uid)}{value}</h3>'
        f"{_img(png, img.parent, f'spectrograms of {uid}')}"
        f'<div class="players">{"".join(players)}</div></div>'
    )


def _audio(src: Audio, stem: Path, max_s: float) -> tuple[str, tuple[np.ndarray, int]]:
    """Put one signal into the folder; returns (file name, (mono samples, rate)) of what the
    page plays (at most ``max_s`` seconds)."""
    import soundfile as sf

    if isinstance(src, tuple):
        wav, sr = np.asarray(src[0], dtype=np.float32).reshape(-1), int(src[1])
        wav = wav[: int(max_s * sr)]
        copy = None
    else:
        p = Path(src)
        try:
            info = sf.info(str(p))
            data, sr = sf.read(
                str(p), frames=int(max_s * info.samplerate), dtype="float32", always_2d=True
            )
        except Exception as e:  # noqa: BLE001 - libsndfile raises several types
            raise AudiotokError(f"report: cannot read audio {p}: {e}") from None
        wav = data.mean(axis=1)
        full = info.frames <= max_s * info.samplerate
        copy = p if full and p.suffix.lower() in COPY_SUFFIXES else None
    if copy is not None:
        dest = stem.with_suffix(copy.suffix.lower())
        shutil.copyfile(copy, dest)
    else:
        dest = stem.with_suffix(".wav")
        from audiotok.audio import write

        write(dest, wav, sr)  # one AudiotokError on a full disk
    return dest.name, (wav, sr)


def _img(png: Path, root: Path, alt: str) -> str:
    rel = png.relative_to(root).as_posix()
    return f'<p><img src="{H.esc(rel)}" alt="{H.esc(alt)}"></p>'


def _pnmi(pnmi: Mapping[str, Any], img: Path, root: Path) -> str:
    from audiotok.report import figures

    if "per_codebook" in pnmi or "per_prefix" in pnmi:
        per_cb = [float(v) for v in pnmi.get("per_codebook") or ()]
        per_px = [float(v) for v in pnmi.get("per_prefix") or ()]
        labels = pnmi.get("labels")
    else:
        labels = [str(k) for k in pnmi]
        per_cb, per_px = [float(v) for v in pnmi.values()], []
    n = max(len(per_cb), len(per_px))
    names = (
        list(labels) if labels is not None and len(labels) == n else [str(i + 1) for i in range(n)]
    )
    png = figures.pnmi_plot(per_cb or None, per_px or None, img / "pnmi.png", labels=names)
    rows = [
        {
            "codebook": names[i],
            "PNMI alone": per_cb[i] if i < len(per_cb) else None,
            "PNMI of 1..i": per_px[i] if i < len(per_px) else None,
        }
        for i in range(n)
    ]
    cols = ["codebook", *(["PNMI alone"] if per_cb else []), *(["PNMI of 1..i"] if per_px else [])]
    return _img(png, root, "PNMI per codebook") + H.table(rows, cols, sortable=False)
