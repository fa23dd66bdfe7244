"""The feature payload of the store layer: what ``audiotok extract`` writes and k-means reads.

Layout::

    .manifest.json            commit record: header (extractor, layers, dim, rates, sha256)
    shard-000000.tsv          id, path, num_samples, num_frames (tab-separated), one row per utt
    L6/shard-000000.npy       float16 [sum of num_frames, dim]: the utterances' frames in order
    L12/shard-000000.npy      ... one folder per layer (``features/`` for MFCC, which has none)

Read with :func:`open_features` (memory-mapped); export to fairseq's k-means layout with
:meth:`FeatureStore.export_fairseq` (``{split}_0_1.npy`` float32 + ``.len`` + ``.ids``).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.errors import AudiotokError, CorruptStoreError, SpecMismatchError
from audiotok.store import record as R
from audiotok.store.damage import plain_name, translated
from audiotok.store.files import audio_path_in_row, commit_tmp, fsync_dir, new_tmp
from audiotok.store.layer import ShardedWriter

SHARD_RE = re.compile(r"^shard-(\d{6})\.(tsv|npy)$")
LAYER_DIR_RE = re.compile(r"^(L\d+|features)$")
HEADER_KEYS = ("extractor", "layers", "dim", "frame_rate", "sample_rate", "weights_sha256")


def layer_dir(layer: int | None) -> str:
    return "features" if layer is None else f"L{layer}"


def _read_rows(path: Path) -> list[tuple[str, str, int, int]]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return [(r[0], r[1], int(r[2]), int(r[3])) for r in csv.reader(f, delimiter="\t")]
    except (ValueError, IndexError, csv.Error) as e:  # UnicodeDecodeError is a ValueError
        raise CorruptStoreError(
            f"{path} is damaged: rows must be id, path, samples, frames ({type(e).__name__})"
        ) from None


class FeatureWriter(ShardedWriter):
    """``add(id, path, num_samples, {layer: feats[T', D]})``; float16 on disk."""

    FORMAT = R.FEATURES
    SHARD_RE = SHARD_RE
    DATA_DIR_RE = LAYER_DIR_RE

    def __init__(
        self,
        directory: str | Path,
        header: dict[str, Any],
        *,
        recipe: Any = None,
        overwrite: bool = False,
        shard_size: int = 1000,
        shard_bytes: int = 1 << 30,
        run: dict[str, Any] | None = None,
        audio_root: str | Path | None = None,
        warn: Any = None,
        commit_every_s: float | None = None,
    ):
        if shard_size < 1 or shard_bytes < 1:
            raise AudiotokError("shard size and shard bytes must be at least 1")
        self.header = {**header, "dtype": "float16"}
        identity = {"header": self.header, "recipe": recipe.to_dict() if recipe else None}
        super().__init__(
            directory,
            identity,
            overwrite=overwrite,
            run=run,
            audio_root=audio_root,
            warn=warn,
            commit_every_s=commit_every_s,
        )
        self.layers: list[int | None] = list(header["layers"])
        self.shard_size = shard_size
        self.shard_bytes = shard_bytes
        self._rows: list[tuple[str, str, int, int]] = []
        self._feats: dict[int | None, list[np.ndarray]] = {la: [] for la in self.layers}
        self._nbytes = 0

    def identity_keys(self) -> tuple[str, ...]:
        return ("header", "recipe")

    def check_identity(self, old: R.Record, new: dict[str, Any]) -> None:
        a, b = old.data["header"], new["header"]
        diff = [k for k in HEADER_KEYS if a.get(k) != b.get(k)]
        if diff:
            raise SpecMismatchError(
                f"{self.dir} holds features with another {diff[0]} ({a.get(diff[0])!r}, now "
                f"{b.get(diff[0])!r}); use a new directory or --overwrite"
            )
        ra, rb = old.data.get("recipe"), new.get("recipe")
        if ra and rb:
            from audiotok.recipe import recipe_from_dict

            diffs = recipe_from_dict(ra).diff(recipe_from_dict(rb))
            if diffs:
                raise SpecMismatchError(
                    f"{self.dir} holds features made with other options ({'; '.join(diffs)}); "
                    "use the same options, a new directory or --overwrite"
                )

    def files_of_legacy_shard(self, entry: dict[str, Any]) -> list[str]:
        name = entry["file"].rsplit(".", 1)[0]
        layers = self.record.data["header"].get("layers", [None])
        return [entry["file"], *(f"{layer_dir(la)}/{name}.npy" for la in layers)]

    def add(self, utt_id: str, path: str, num_samples: int, feats: dict[Any, np.ndarray]) -> None:
        if utt_id in self.done_ids:
            raise AudiotokError(f"utterance {utt_id!r} is already in the store")
        n = None
        for la in self.layers:
            x = np.asarray(feats[la], dtype=np.float16)
            if x.ndim != 2 or x.shape[1] != int(self.header["dim"]):
                raise AudiotokError(
                    f"utterance {utt_id!r}: features must be [T', {self.header['dim']}], got "
                    f"{tuple(x.shape)}"
                )
            if n is not None and x.shape[0] != n:
                raise AudiotokError(f"utterance {utt_id!r}: layers disagree on the frame count")
            n = x.shape[0]
            self._feats[la].append(x)
            self._nbytes += x.nbytes
        rel = audio_path_in_row(path, self.record.audio_root)
        self._rows.append((utt_id, rel, int(num_samples), int(n or 0)))
        self.done_ids.add(utt_id)
        self.clear_error(utt_id)
        if len(self._rows) >= self.shard_size or self._nbytes >= self.shard_bytes or self.due():
            self.flush()

    def flush(self) -> None:
        if self._rows:
            self._write_shard()
        self.commit()

    def _write_shard(self) -> None:
        name = f"shard-{self.next_shard_index():06d}"
        files = []
        staged: list[tuple[Path, Path]] = []
        try:
            for la in self.layers:
                d = self.dir / layer_dir(la)
                d.mkdir(exist_ok=True)
                final = d / f"{name}.npy"
                tmp = new_tmp(final)
                staged.append((tmp, final))
                with open(tmp, "wb") as f:
                    np.save(f, np.concatenate(self._feats[la], axis=0))
                files.append(f"{layer_dir(la)}/{name}.npy")
            final = self.dir / f"{name}.tsv"
            tmp = new_tmp(final)
            staged.append((tmp, final))
            buf = io.StringIO()
            csv.writer(buf, delimiter="\t", lineterminator="\n").writerows(self._rows)
            tmp.write_text(buf.getvalue(), encoding="utf-8")
            for a, b in staged:
                commit_tmp(a, b)
        except BaseException:
            for a, _ in staged:
                a.unlink(missing_ok=True)
            raise
        for sub in {b.parent for _, b in staged}:
            fsync_dir(sub)
        self.add_shard(
            {
                "file": f"{name}.tsv",
                "files": [f"{name}.tsv", *files],
                "num_utterances": len(self._rows),
                "num_frames": sum(r[3] for r in self._rows),
                "duration_s": round(
                    sum(r[2] for r in self._rows) / float(self.header["sample_rate"]), 6
                ),
            }
        )
        self._rows = []
        self._feats = {la: [] for la in self.layers}
        self._nbytes = 0

    def shard_ids(self, entry: dict[str, Any]) -> list[str]:
        return self.shard_ids_of(self.dir, entry)

    def shard_ids_of(self, directory: Path, entry: dict[str, Any]) -> list[str]:
        return [r[0] for r in _read_rows(directory / entry["file"])]

    def adopt_shard(
        self, src: Path, src_record: R.Record, entry: dict[str, Any], *, move: bool
    ) -> None:
        from audiotok.store.tokens import _place

        name = f"shard-{self.next_shard_index():06d}"
        old = entry["file"].rsplit(".", 1)[0]
        files = []
        for f in entry["files"]:
            new = f.replace(old, name)
            (self.dir / new).parent.mkdir(exist_ok=True)
            if f.endswith(".tsv") and (src_record.audio_root or None) != (
                self.record.audio_root or None
            ):
                root = Path(src_record.audio_root or src)
                rows = [
                    (r[0], audio_path_in_row(root / r[1], self.record.audio_root), r[2], r[3])
                    for r in _read_rows(src / f)
                ]
                tmp = new_tmp(self.dir / new)
                buf = io.StringIO()
                csv.writer(buf, delimiter="\t", lineterminator="\n").writerows(rows)
                tmp.write_text(buf.getvalue(), encoding="utf-8")
                commit_tmp(tmp, self.dir / new)
            else:
                _place(src / f, self.dir / new, move)
            files.append(new)
        self.add_shard({**{k: v for k, v in entry.items() if k != "files"}, "file": f"{name}.tsv",
                        "files": files})  # fmt: skip


def _check_record(directory: Path, rec: R.Record) -> None:
    """What the reader relies on: layers (integers or one null), a dimension, plain shard
    file names; anything else is a damaged record."""
    h = rec.data["header"]
    layers, dim = h.get("layers"), h.get("dim")
    problems = []
    ok_layer = [la is None or (type(la) is int and 0 <= la < 10_000) for la in layers or []]
    if not isinstance(layers, list) or not layers or not all(ok_layer):
        problems.append(f"header.layers is {str(layers)[:40]!r}, not a list of layer numbers")
    if type(dim) is not int or not 1 <= dim < 1 << 24:
        problems.append(f"header.dim is {str(dim)[:40]!r}, not a positive integer")
    for s in rec.shards:
        f = s.get("file")
        if not isinstance(f, str) or not plain_name(f) or "/" in f or not f.endswith(".tsv"):
            problems.append(f"shard {str(f)[:60]!r} is not a .tsv file of the store")
            break
        if type(s.get("num_utterances")) is not int:
            problems.append(f"shard {f!r} has a num_utterances that is no integer")
            break
    if problems:
        path = R.path_of(directory) or directory / R.RECORD
        raise CorruptStoreError(R.damaged(path, "; ".join(problems)))


class FeatureStore:
    """A feature folder written by ``audiotok extract`` (read-only, memory-mapped)."""

    @translated
    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        rec = R.read(self.dir)
        if rec is None:
            raise AudiotokError(f"{self.dir} is not a feature store (no {R.RECORD})")
        if rec.format != R.FEATURES:
            raise AudiotokError(f"{self.dir} is a {rec.format} store, not a feature store")
        _check_record(self.dir, rec)
        self.record = rec
        self.header: dict[str, Any] = dict(rec.data["header"])
        self.shard_names = [s["file"].rsplit(".", 1)[0] for s in rec.shards]
        self.errors: list[dict[str, str]] = rec.errors
        self.layers: list[int | None] = list(self.header["layers"])

    @property
    @translated
    def audio_root(self) -> Path | None:
        root = self.record.audio_root
        return Path(root) if root else None

    def _layer(self, layer: int | None) -> int | None:
        if layer is None and len(self.layers) == 1:
            return self.layers[0]
        if layer not in self.layers:
            raise AudiotokError(f"{self.dir} holds layers {self.layers}, not {layer}")
        return layer

    @translated
    def header_for(self, layer: int | None = None) -> dict[str, Any]:
        """extractor, layer, weights_sha256, dim, frame_rate, sample_rate of one layer."""
        la = self._layer(layer)
        h = {k: self.header.get(k) for k in HEADER_KEYS if k != "layers"}
        return {**h, "layer": la}

    @translated
    def shards(
        self, layer: int | None = None
    ) -> Iterator[tuple[list[str], np.ndarray, np.ndarray]]:
        """(ids, frame counts, feats[sum frames, dim] float16 memmap) per shard."""
        from audiotok.store.verify import check_shard

        la = self._layer(layer)
        dim = int(self.header["dim"])
        for entry, name in zip(self.record.shards, self.shard_names, strict=True):
            check_shard(self.dir, entry)  # its files against the record (once per process)
            rows = _read_rows(self.dir / f"{name}.tsv")
            npy = self.dir / layer_dir(la) / f"{name}.npy"
            try:
                arr = np.load(npy, mmap_mode="r", allow_pickle=False)
            except Exception as e:  # noqa: BLE001 - numpy's .npy header parser raises
                # ValueError, SyntaxError, tokenize.TokenError, EOFError on a damaged file
                raise CorruptStoreError(f"{npy} cannot be read ({type(e).__name__})") from None
            lens = np.array([r[3] for r in rows], dtype=np.int64)
            # the frame counts must cover the frames exactly: they size what readers slice
            # and what export_fairseq allocates
            if arr.ndim != 2 or arr.shape[1] != dim or (lens < 0).any() or lens.sum() != len(arr):
                raise CorruptStoreError(
                    f"{npy} holds frames {tuple(arr.shape)} that do not match its rows in "
                    f"{name}.tsv ({int(lens.sum())} frames of dim {dim})"
                )
            yield [r[0] for r in rows], lens, arr

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        return self.iter()

    @translated
    def iter(self, layer: int | None = None) -> Iterator[tuple[str, np.ndarray]]:
        """(id, feats[T, dim] float16) per utterance, in shard order."""
        for ids, lens, arr in self.shards(layer):
            off = 0
            for i, n in zip(ids, lens, strict=True):
                yield i, arr[off : off + n]
                off += int(n)

    @translated
    def __len__(self) -> int:
        return self.record.num_utterances

    @translated
    def export_fairseq(
        self, out_dir: str | Path, layer: int | None = None, split: str = "train"
    ) -> tuple[Path, Path]:
        """fairseq's ``dump_hubert_feature.py`` output: ``{split}_0_1.npy`` (float32 [N, D]),
        ``{split}_0_1.len`` (frames per utterance, one per line) and ``{split}_0_1.ids``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        total = sum(int(lens.sum()) for _, lens, _ in self.shards(layer))
        stem = out / f"{split}_0_1"
        npy = np.lib.format.open_memmap(
            f"{stem}.npy.tmp", mode="w+", dtype=np.float32, shape=(total, int(self.header["dim"]))
        )
        off = 0
        with open(f"{stem}.len", "w") as fl, open(f"{stem}.ids", "w") as fi:
            for ids, lens, arr in self.shards(layer):
                npy[off : off + arr.shape[0]] = arr
                off += arr.shape[0]
                fl.writelines(f"{int(n)}\n" for n in lens)
                fi.writelines(f"{i}\n" for i in ids)
        npy.flush()
        del npy
        os.replace(f"{stem}.npy.tmp", f"{stem}.npy")
        return Path(f"{stem}.npy"), Path(f"{stem}.len")


def open_features(path: str | Path) -> FeatureStore:
    return FeatureStore(path)
