"""Feature sources k-means reads from, all out of core (memory-mapped, utterance by utterance).

- an audiotok feature directory written by ``audiotok extract`` (a commit record + float16
  shards, read through ``audiotok.extractors.features_store``);
- fairseq's HuBERT dump layout: ``{split}_{rank}_{nshard}.npy`` (all frames of the shard,
  [frames, D] float32) with ``{split}_{rank}_{nshard}.len`` (one utterance length per line),
  as written by ``examples/hubert/simple_kmeans/dump_*_feature.py``;
- a plain ``.npy`` of [N, D] (each row its own item);
- audio (see ``audio_source``): features computed on the fly for the sampled utterances.

A source gives ``info`` (extractor, layer, extractor_sha256, frame_rate, dim), ``ids``,
``lengths`` (frames per item) and ``read(i)`` -> float32 [frames, D].
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.errors import AudiotokError


def _store_records() -> tuple[str, ...]:
    """File names of a store's commit record (``audiotok.store.record``), old name last."""
    try:
        from audiotok.store import record
    except ImportError:
        return ("manifest.json",)
    names = [getattr(record, "RECORD", None), getattr(record, "LEGACY_RECORD", None)]
    return tuple(dict.fromkeys(n for n in [*names, "manifest.json"] if n))


STORE_RECORDS = _store_records()
FAIRSEQ_SHARD = re.compile(r"^(?P<split>.+)_(?P<rank>\d+)_(?P<nshard>\d+)\.npy$")


@dataclass
class FeatureInfo:
    dim: int
    extractor: str | None = None
    layer: int | None = None
    extractor_sha256: str = ""
    frame_rate: float | None = None
    recipe: dict[str, Any] | None = None  # ExtractorConfig.to_dict() of the features, if known

    def header(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "extractor": self.extractor,
            "layer": self.layer,
            "extractor_sha256": self.extractor_sha256,
            "frame_rate": self.frame_rate,
        }
        if self.recipe:  # every option that made the features: the tokenizer rebuilds them
            out["extractor_recipe"] = self.recipe
        return out


def layer_recipe(recipe: dict[str, Any] | None, layer: int | None) -> dict[str, Any] | None:
    """An extractor recipe narrowed to the one layer a codebook is trained on."""
    if not recipe:
        return None
    options = dict(recipe.get("options") or {})
    if layer is not None and "layers" in options:
        options["layers"] = [layer]
        options.pop("combine", None)
        options.pop("layer_weights", None)
    return {**recipe, "options": options}


@dataclass
class ArraySource:
    """Items are row ranges of memory-mapped [frames, D] arrays (fairseq shards, plain npy).

    Per item it keeps 20 bytes (array index, start row, length) in numpy arrays."""

    info: FeatureInfo
    arrays: list[np.ndarray]  # memmaps
    array_of: np.ndarray  # int32 [items]
    starts: np.ndarray  # int64 [items]
    lens: np.ndarray  # int64 [items]
    item_ids: list[str] | None = None
    rows_are_items: bool = False  # a plain [N, D] array: sample rows, not utterances
    audio: dict[str, Path] | None = None  # utterance id -> its audio file, where known

    def ids(self) -> list[str]:
        return self.item_ids or [str(i) for i in range(len(self.lens))]

    def lengths(self) -> np.ndarray:
        return self.lens

    def read(self, i: int) -> np.ndarray:
        s = int(self.starts[i])
        return np.asarray(
            self.arrays[int(self.array_of[i])][s : s + int(self.lens[i])], dtype=np.float32
        )


def _memmap(path: Path) -> np.ndarray:
    arr = np.load(path, mmap_mode="r")
    if arr.ndim != 2:
        raise AudiotokError(f"{path}: expected a [frames, dim] array, got shape {arr.shape}")
    return arr


def _fairseq(
    paths: list[Path],
    info: dict[str, Any],
    ids: list[str] | None,
    audio: dict[str, Path] | None = None,
) -> ArraySource:
    arrays, array_of, lens = [], [], []
    for n, p in enumerate(paths):
        arr = _memmap(p)
        t = np.loadtxt(p.with_suffix(".len"), dtype=np.int64, ndmin=1)
        if int(t.sum()) != arr.shape[0]:
            raise AudiotokError(
                f"{p.with_suffix('.len')} lists {int(t.sum())} frames but {p.name} has "
                f"{arr.shape[0]}: the pair is from different runs"
            )
        arrays.append(arr)
        array_of.append(np.full(len(t), n, dtype=np.int32))
        lens.append(t)
    lens_a = np.concatenate(lens)
    starts = np.concatenate([np.cumsum(t) - t for t in lens])
    if ids is not None and len(ids) != len(lens_a):
        ids = None
    dims = {a.shape[1] for a in arrays}
    if len(dims) != 1:
        raise AudiotokError(f"shards have different feature sizes {sorted(dims)}")
    return ArraySource(
        FeatureInfo(dim=dims.pop(), **info),
        arrays,
        np.concatenate(array_of),
        starts,
        lens_a,
        ids,
        audio=audio if ids is not None else None,
    )


def _fairseq_ids(root: Path, split: str) -> tuple[list[str] | None, dict[str, Path] | None]:
    """Utterance ids: ``{split}_0_1.ids`` (one per line, as ``FeatureStore.export_fairseq``
    writes) or fairseq's manifest ``{split}.tsv`` (first line: the audio root; then
    ``relative path<TAB>samples``), which also gives each utterance's audio file."""
    ids_file = root / f"{split}_0_1.ids"
    if ids_file.is_file():
        return ids_file.read_text().split("\n")[:-1], None
    tsv = root / f"{split}.tsv"
    if not tsv.is_file():
        return None, None
    lines = tsv.read_text().splitlines()
    if not lines:
        return None, None
    audio_root = Path(lines[0].strip())
    rels = [line.split("\t")[0] for line in lines[1:] if line]
    ids = [Path(r).with_suffix("").as_posix() for r in rels]
    return ids, {i: audio_root / r for i, r in zip(ids, rels, strict=True)}


def open_features(
    path: str | Path,
    *,
    split: str | None = None,
    extractor: str | None = None,
    layer: int | None = None,
    frame_rate: float | None = None,
) -> Any:
    """Open features at ``path`` (a feature directory, a fairseq dump directory, or ``.npy``).

    ``extractor``/``layer``/``frame_rate`` describe features whose files do not say it
    (fairseq dumps, plain arrays); an audiotok feature directory says it itself.
    """
    p = Path(path)
    if not p.exists():
        raise AudiotokError(f"features {p} do not exist")
    info: dict[str, Any] = {"extractor": extractor, "layer": layer, "frame_rate": frame_rate}
    if any((p / r).is_file() for r in STORE_RECORDS) and importlib.util.find_spec(
        "audiotok.extractors.features_store"
    ):
        return _store(p, layer)
    if p.is_file() and p.suffix == ".npy":
        if p.with_suffix(".len").is_file():
            return _fairseq([p], info, None)
        arr = _memmap(p)
        return ArraySource(
            FeatureInfo(dim=int(arr.shape[1]), **info),
            [arr],
            np.zeros(1, np.int32),
            np.zeros(1, np.int64),
            np.array([arr.shape[0]], np.int64),
            rows_are_items=True,
        )
    if p.is_dir():
        shards: dict[str, list[Path]] = {}
        for f in sorted(p.glob("*.npy")):
            m = FAIRSEQ_SHARD.match(f.name)
            if m and f.with_suffix(".len").is_file():
                shards.setdefault(m["split"], []).append(f)
        if split is not None:
            if split not in shards:
                raise AudiotokError(f"no {split}_<rank>_<nshard>.npy/.len shards in {p}")
            shards = {split: shards[split]}
        if len(shards) == 1:
            ((name, files),) = shards.items()
            files.sort(key=lambda f: int(FAIRSEQ_SHARD.match(f.name)["rank"]))  # type: ignore[index]
            return _fairseq(files, info, *_fairseq_ids(p, name))
        if len(shards) > 1:
            raise AudiotokError(f"{p} holds the splits {sorted(shards)}: pick one with --split")
    raise AudiotokError(
        f"{p} is not a feature directory (audiotok extract), a fairseq dump "
        "({split}_{rank}_{nshard}.npy + .len) or a .npy of [frames, dim]; for audio pass "
        "--model NAME --layer L"
    )


def _store(path: Path, layer: int | None) -> ArraySource:
    """A feature directory of ``audiotok extract`` (``audiotok.extractors.features_store``):
    float16 shards, memory-mapped; the header names extractor, layer and weights sha256.
    Stores with several layers need ``layer``."""
    store_mod = importlib.import_module("audiotok.extractors.features_store")
    store = store_mod.FeatureStore(path)
    h = store.header_for(layer)
    arrays, array_of, lens, ids = [], [], [], []
    for n, (shard_ids, shard_lens, arr) in enumerate(store.shards(h["layer"])):
        arrays.append(arr)
        array_of.append(np.full(len(shard_lens), n, dtype=np.int32))
        lens.append(np.asarray(shard_lens, dtype=np.int64))
        ids.extend(shard_ids)
    if not arrays:
        raise AudiotokError(f"{path} holds no committed features yet")
    info = FeatureInfo(
        dim=int(h["dim"]),
        extractor=h.get("extractor"),
        layer=h.get("layer"),
        extractor_sha256=h.get("weights_sha256") or "",
        frame_rate=h.get("frame_rate"),
        recipe=layer_recipe(store.record.data.get("recipe"), h.get("layer")),
    )
    starts = np.concatenate([np.cumsum(t) - t for t in lens])
    return ArraySource(
        info,
        arrays,
        np.concatenate(array_of),
        starts,
        np.concatenate(lens),
        ids,
        audio=_store_audio(store, path),
    )


def _store_audio(store: Any, path: Path) -> dict[str, Path] | None:
    """id -> audio file of a feature store, from its shards' ``id<TAB>path...`` rows resolved
    against the store's audio root (the documented layout); None where that cannot be read."""
    root = getattr(store, "audio_root", None)
    out: dict[str, Path] = {}
    try:
        for name in store.shard_names:
            for line in (path / f"{name}.tsv").read_text().splitlines():
                parts = line.split("\t")
                if len(parts) >= 2 and parts[0] != "id":
                    p = Path(parts[1])
                    out[parts[0]] = p if p.is_absolute() or root is None else Path(root) / p
    except (OSError, AttributeError, TypeError):
        return None
    return out or None
