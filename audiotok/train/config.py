"""Training configs as dataclasses: JSON in and out, dotted overrides, what a resume may change.

A trainer's config (:class:`~audiotok.train.hybrid_config.HybridTrainConfig`,
:class:`~audiotok.train.vocoder_config.VocoderTrainConfig`) nests the parts shared here
(:class:`OptimConfig`, :class:`ScheduleConfig`, :class:`DiscConfig`) with its own. It is saved
as ``train.json`` in the output folder and read back by ``--config FILE``:

- :func:`load` reads a JSON file strictly: an unknown key or a value of the wrong type is one
  line naming the file and the dotted key (``optim.lr``), in JSON's words, never in Python's.
- :func:`override` sets dotted keys (what the CLI's flags give) with the same checks.
- :func:`compare` tells a resume what differs: keys under the config's ``IDENTITY`` prefixes
  change results (refused), the rest (steps, logging, devices, learning rate...) are listed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from audiotok.errors import AudiotokError

FILE = "train.json"


@dataclass
class OptimConfig:
    """AdamW with an exponential LR decay (``lr_decay`` per ``lr_decay_every`` steps, spread
    over the steps), optional gradient clipping, mixed precision, and ``adv_start`` steps with
    the task's own losses before the GAN losses start. Defaults: HiFi-GAN's."""

    lr: float = 2e-4
    betas: tuple[float, float] = (0.8, 0.99)
    weight_decay: float = 0.01
    lr_decay: float = 0.999
    lr_decay_every: int = 800
    grad_clip: float | None = None
    adv_start: int = 0
    amp: str = "none"


@dataclass
class ScheduleConfig:
    """How long, and how often to log, evaluate (0: at checkpoints) and checkpoint."""

    steps: int = 100000
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2
    log_every: int = 50
    eval_every: int = 0
    max_minutes: float | None = None
    tensorboard: bool | None = None  # None: when the tensorboard package is importable


@dataclass
class DiscConfig:
    """Discriminators (``mpd``, ``msd``, ``mstft``) and the scale of their channels."""

    names: tuple[str, ...] = ("mpd", "msd")
    width: float = 1.0


def to_dict(cfg: Any) -> dict[str, Any]:
    """The config as JSON values (tuples as lists)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def save(cfg: Any, out_dir: Path) -> Path:
    """``out_dir/train.json``, replaced whole (other DDP ranks may be reading it)."""
    import os

    path = Path(out_dir) / FILE
    tmp = path.with_name(f".{FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(to_dict(cfg), indent=1) + "\n")
    os.replace(tmp, path)
    return path


def _words(t: Any) -> str:
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return " or ".join(_words(a) for a in inner) + (
            " or null" if len(inner) < len(args) else ""
        )
    if t is bool:
        return "true or false"
    if t is int:
        return "an integer"
    if t is float:
        return "a number"
    if t is str:
        return "a string"
    if origin in (list, tuple):
        if origin is tuple and args and args[-1] is not Ellipsis:
            return f"a list of {len(args)} {_plural(args[0])}"
        return f"a list of {_plural(args[0])}" if args else "a list"
    if origin is dict or t is dict:
        return "an object"
    if dataclasses.is_dataclass(t):
        return "an object"
    return "a JSON value"


def _plural(t: Any) -> str:
    return {int: "integers", float: "numbers", str: "strings", bool: "booleans"}.get(t, "values")


class _Bad(Exception):
    """(dotted key, problem): turned into one line by the caller, who knows the source."""


def _coerce(value: Any, t: Any, key: str, current: Any = None) -> Any:
    """``value`` as type ``t``; a nested object updates ``current`` (the parent's default)."""
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, key, current)
            except _Bad:
                pass
        raise _Bad(key, t, value)
    if t is Any:
        return value
    if t is bool:
        if isinstance(value, bool):
            return value
    elif t is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif t is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif t is str:
        if isinstance(value, str):
            return value
    elif origin in (list, tuple):
        if isinstance(value, (list, tuple)):
            try:  # a bad element: the message names the whole list's type
                if origin is tuple and args and args[-1] is not Ellipsis:
                    if len(value) != len(args):
                        raise _Bad(key, t, value)
                    return tuple(_coerce(v, a, key) for v, a in zip(value, args, strict=True))
                items = [_coerce(v, args[0], key) for v in value] if args else list(value)
            except _Bad:
                raise _Bad(key, t, value) from None
            return tuple(items) if origin is tuple else items
    elif origin is dict or t is dict:
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return dict(value)
    elif dataclasses.is_dataclass(t):
        if isinstance(value, dict):
            return _build(t, value, key + ".", current)  # type: ignore[arg-type]
        if isinstance(value, t):  # type: ignore[arg-type]
            return value
    raise _Bad(key, t, value)


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(cls: type, data: dict[str, Any], prefix: str, base: Any = None) -> Any:
    """``base`` (default: ``cls()``; every field has a default) with ``data``'s keys set; a
    nested part missing from ``data`` keeps its default, one given updates its default."""
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for k in data:
        if k not in names:
            raise _Bad(f"{prefix}{k}", None, None)
    base = base if base is not None else cls()
    kwargs = {k: _coerce(v, hints[k], f"{prefix}{k}", getattr(base, k)) for k, v in data.items()}
    return dataclasses.replace(base, **kwargs)


def _line(source: str, bad: _Bad) -> AudiotokError:
    key, t, value = bad.args
    if t is None:
        return AudiotokError(f"{source}: unknown key {key!r}")
    shown = json.dumps(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return AudiotokError(f"{source}: {key!r} must be {_words(t)}, not {shown}")


def from_dict(cls: type, data: Any, source: str) -> Any:
    """``cls`` from a JSON object; unknown keys and wrong types are one line naming
    ``source`` and the key. Missing keys keep their defaults."""
    if not isinstance(data, dict):
        raise AudiotokError(f"{source}: a training config is a JSON object")
    try:
        cfg = _build(cls, data, "")
    except _Bad as b:
        raise _line(source, b) from None
    _check_free_keys(cfg, source)
    return cfg


def load(cls: type, path: str | Path) -> Any:
    """``cls`` from the JSON file ``path`` (see :func:`from_dict`)."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise AudiotokError(f"{p}: cannot read the config ({e.strerror or e})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise AudiotokError(f"{p}: not JSON ({e.msg}, line {e.lineno})") from None
    return from_dict(cls, data, str(p))


def override(cfg: Any, values: dict[str, Any], source: str = "the command line") -> Any:
    """A copy of ``cfg`` with dotted keys set (``{"optim.lr": 1e-3}``), checked like a file."""
    for key, value in values.items():
        try:
            cfg = _set(cfg, key.split("."), value, key)
        except _Bad as b:
            raise _line(source, b) from None
    _check_free_keys(cfg, source)
    return cfg


def _set(obj: Any, parts: list[str], value: Any, key: str) -> Any:
    names = {f.name for f in dataclasses.fields(obj)}
    if parts[0] not in names:
        raise _Bad(key, None, None)
    if len(parts) == 1:
        return dataclasses.replace(
            obj,
            **{parts[0]: _coerce(value, _hints(type(obj))[parts[0]], key, getattr(obj, parts[0]))},
        )
    inner = getattr(obj, parts[0])
    if isinstance(inner, dict) and len(parts) == 2:  # an object field's entry (FREE_KEYS)
        return dataclasses.replace(obj, **{parts[0]: {**inner, parts[1]: value}})
    if not dataclasses.is_dataclass(inner):
        raise _Bad(key, None, None)
    return dataclasses.replace(obj, **{parts[0]: _set(inner, parts[1:], value, key)})


def _check_free_keys(cfg: Any, source: str) -> None:
    """Object-valued fields whose keys a config allows (``FREE_KEYS``: dotted field -> a
    function giving the allowed names), e.g. the model architecture's options."""
    for path, allowed in getattr(cfg, "FREE_KEYS", {}).items():
        obj = cfg
        for p in path.split("."):
            obj = getattr(obj, p)
        ok = allowed()
        for k in obj:
            if k not in ok:
                raise AudiotokError(f"{source}: unknown key {path + '.' + k!r}")


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):  # an empty object adds no key: {} and {"a": 1} differ by "a"
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def compare(
    saved: dict[str, Any], cfg: Any, identity: tuple[str, ...]
) -> tuple[list[str], list[str]]:
    """(differences that change results: keys under ``identity`` prefixes, other
    differences) between a saved config and ``cfg``, as ``key: old -> new`` lines."""
    old, new = flatten(saved), flatten(to_dict(cfg))
    refused: list[str] = []
    listed: list[str] = []
    for k in sorted(set(old) | set(new)):
        if old.get(k) == new.get(k):
            continue
        line = f"{k}: {old.get(k)!r} -> {new.get(k)!r}"
        hit = any(k == p or k.startswith(p + ".") for p in identity)
        (refused if hit else listed).append(line)
    return refused, listed


def check_run(
    out: Path, cfg: Any, identity: tuple[str, ...], *, resume: bool, main: bool
) -> list[str]:
    """A training folder's ``train.json`` is its run's config. ``resume``: refuse a config
    whose ``identity`` keys differ (naming them) and return the other differences; a fresh run
    never writes over checkpoints. The main process (re)writes ``train.json``."""
    from audiotok.train.checkpoint import list_steps

    _check_free_keys(cfg, "the training config")
    path = out / FILE
    changed: list[str] = []
    if resume:
        if not path.is_file():
            raise AudiotokError(f"--resume: {out} holds no {FILE}; start without --resume")
        try:
            saved = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise AudiotokError(f"{path}: not JSON ({e.msg}, line {e.lineno})") from None
        refused, changed = compare(saved, cfg, identity)
        if refused:
            raise AudiotokError(
                f"--resume with other settings than the run in {out} ({'; '.join(refused)}): "
                "resume with the same options, or train into a new folder"
            )
    elif list_steps(out / "checkpoints"):
        raise AudiotokError(
            f"{out} already holds checkpoints: pass --resume to continue that run, or "
            "train into a new folder"
        )
    if main:
        out.mkdir(parents=True, exist_ok=True)
        save(cfg, out)
    return [c for c in changed if not c.startswith(("schedule.steps:", "output:"))]


def part(default: Any) -> Any:
    """A nested dataclass field whose default is ``default`` (copied per instance)."""
    return field(default_factory=lambda: dataclasses.replace(default))
