"""The one converter of pickled codec checkpoints: unpickle a file the user trusts, once, into
``SRC.safetensors`` + ``SRC.json`` beside it, which audiotok then loads without pickle.

audiotok reads released codec checkpoints with ``torch.load(weights_only=True)``; a file that
needs real unpickling (arbitrary objects) is refused with this command named::

    python -m audiotok.codecs.pickle_convert FORMAT CHECKPOINT --allow-pickle

``FORMAT`` picks an entry of :data:`FORMATS` (what the unpickled object holds: which tensors
and which settings go into the JSON beside them); ``--allow-pickle`` / ``allow_pickle=True`` is
the explicit opt-in, the same flag as everywhere else in audiotok. The JSON also records the
source file's name and sha256.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError, UnsafeCheckpointError

COMMAND = "python -m audiotok.codecs.pickle_convert"


@dataclass(frozen=True)
class PickleFormat:
    """A pickled checkpoint layout: ``split(obj)`` -> (tensors, JSON settings kept beside them)."""

    name: str
    what: str
    split: Callable[[Any, Path], tuple[dict[str, Any], dict[str, Any]]]


def _json_values(d: Any) -> dict[str, Any]:
    """The entries of ``d`` that JSON can hold (the reader keeps the keys it knows)."""
    out = {}
    for k, v in (d if isinstance(d, dict) else {}).items():
        try:
            json.dumps(v)
        except (TypeError, ValueError):
            continue
        out[str(k)] = v
    return out


def _dac(obj: Any, src: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The DAC constructor's arguments are ``metadata.kwargs`` (``audiotok.codecs.dac_weights``
    reads them back)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("state_dict"), dict):
        raise AudiotokError(f"{src} is not a DAC checkpoint (no 'state_dict' entry)")
    meta = obj.get("metadata")
    kwargs = meta.get("kwargs") if isinstance(meta, dict) else {}
    return obj["state_dict"], {"kwargs": _json_values(kwargs)}


def _state_dict(obj: Any, src: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(obj, dict):
        raise AudiotokError(f"{src} does not hold a state dict")
    return obj, {}


def _lightning(obj: Any, src: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A PyTorch Lightning ``.ckpt``: its ``state_dict`` (the reader keeps the keys it uses)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("state_dict"), dict):
        raise AudiotokError(f"{src} is not a Lightning checkpoint (no 'state_dict' entry)")
    return obj["state_dict"], {}


FORMATS: dict[str, PickleFormat] = {
    f.name: f
    for f in (
        PickleFormat("dac", "a DAC release .pth (audiotools' BaseModel.save)", _dac),
        PickleFormat(
            "speechtokenizer", "a SpeechTokenizer checkpoint (a saved state dict)", _state_dict
        ),
        PickleFormat(
            "wavtokenizer", "a WavTokenizer release .ckpt (PyTorch Lightning)", _lightning
        ),
    )
}


def command(fmt: str, path: str | Path) -> str:
    """The command line that converts ``path`` (named in refusals of pickled files)."""
    return f"{COMMAND} {fmt} {path} --allow-pickle"


def load_weights_only(path: Path, fmt: str) -> Any:
    """``torch.load(weights_only=True)`` of a ``fmt`` checkpoint; a file that needs more is
    refused in one line naming the conversion and the ``--weights`` to pass afterwards."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any refusal reads the same to the user
        why = " ".join(str(e).split())[:160]
        raise UnsafeCheckpointError(
            f"{path} holds pickled objects that weights_only loading refuses "
            f"({type(e).__name__}: {why}); if you trust the file, convert it once "
            f"with `{command(fmt, path)}` and pass --weights {path.with_suffix('.safetensors')}"
        ) from e


def convert(src: str | Path, fmt: str, *, allow_pickle: bool = False) -> Path:
    """Unpickle ``src`` (only with ``allow_pickle=True``) and write ``.safetensors`` + ``.json``
    beside it; returns the safetensors path."""
    import torch

    from audiotok.store.files import save_safetensors
    from audiotok.weights import sha256_file

    try:
        layout = FORMATS[fmt]
    except KeyError:
        raise AudiotokError(
            f"unknown checkpoint format {fmt!r}: use one of {', '.join(FORMATS)}"
        ) from None
    src = Path(src)
    if not allow_pickle:
        raise UnsafeCheckpointError(
            f"converting {src} unpickles it, which can run code: only for a file you trust, "
            "pass --allow-pickle (allow_pickle=True)"
        )
    if not src.is_file():
        raise AudiotokError(f"{src} does not exist")
    obj = torch.load(src, map_location="cpu", weights_only=False)  # the explicit opt-in
    state, settings = layout.split(obj, src)
    tensors = {k: v.contiguous() for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise AudiotokError(f"{src} holds no tensors to convert")
    dst = src.with_suffix(".safetensors")
    save_safetensors(tensors, dst)
    side = {**settings, "source": src.name, "source_sha256": sha256_file(src)}
    src.with_suffix(".json").write_text(json.dumps(side, indent=2))
    return dst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description="Convert a pickled codec checkpoint once into safetensors + JSON beside it.",
    )
    what = "; ".join(f"{f.name}: {f.what}" for f in FORMATS.values())
    parser.add_argument("format", choices=sorted(FORMATS), help=what)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument(
        "--allow-pickle",
        action="store_true",
        help="unpickle the file (it can run code): only for files you trust",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        print(convert(args.checkpoint, args.format, allow_pickle=args.allow_pickle))
    except AudiotokError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
