"""SpeechTokenizer weights: the released ``config.json`` + checkpoint, or safetensors made once.

Releases (README of ZhangXInFD/SpeechTokenizer): ``speechtokenizer_hubert_avg/`` of the
Hugging Face repo fnlp/SpeechTokenizer holds ``config.json`` and ``SpeechTokenizer.pt``, and
``speechtokenizer/`` of fnlp/AnyGPT-speech-modules holds the Snake variant as ``config.json`` and
``ckpt.dev``. Both checkpoints are a plain ``torch.save``'d state dict
(``SpeechTokenizer.load_from_checkpoint`` passes ``torch.load``'s result straight to
``load_state_dict``; the Hub's pickle scan of ``SpeechTokenizer.pt`` lists only OrderedDict and
tensor rebuilds), so audiotok reads them with ``torch.load(weights_only=True)``. A file that
needs more is refused with the explicit opt-in named:
``python -m audiotok.codecs.pickle_convert speechtokenizer CKPT --allow-pickle`` unpickles it
once into ``CKPT.safetensors`` (+ ``CKPT.json``: source name and sha256), loaded thereafter
without pickle. ``config.json`` stays next to the weights in every case.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from audiotok.codecs.pickle_convert import load_weights_only
from audiotok.errors import AudiotokError

CONFIG = "config.json"


def _checkpoint_in(folder: Path, names: tuple[str, ...]) -> Path:
    for name in (*names, *(Path(n).with_suffix(".safetensors").name for n in names)):
        if (folder / name).is_file():
            return folder / name
    found = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.pt"))
    if len(found) == 1:
        return found[0]
    raise AudiotokError(
        f"{folder} holds no single SpeechTokenizer checkpoint ({' or '.join(names)}, "
        "or one .safetensors / .pt file); pass the checkpoint file itself"
    )


def read_config(path: Path) -> dict[str, Any]:
    try:
        cfg = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise AudiotokError(f"cannot read the SpeechTokenizer config {path}: {e}") from None
    if not isinstance(cfg, dict):
        raise AudiotokError(f"{path} is not a SpeechTokenizer config.json (not a JSON object)")
    return cfg


def load(entry: Any, override: str | None) -> tuple[dict, dict[str, Any], str, str]:
    """(state dict, released config dict, sha256 of the weights, resolved weights path).

    ``override``: a checkpoint file with ``config.json`` beside it, or a folder holding both.
    Without it, the registry entry's files in the cache (``MissingWeightsError`` says which).
    """
    from audiotok import weights as W

    ckpt_wf, cfg_wf = entry.files
    if override is not None:
        p = Path(override).expanduser()
        if p.is_dir():
            p = _checkpoint_in(p, (ckpt_wf.filename,))
        path, sha = W.resolve(entry, ckpt_wf, override=p)
        cfg_path = path.parent / CONFIG
        if not cfg_path.is_file():
            raise AudiotokError(
                f"{path} needs its configuration {cfg_path} next to it "
                f"(the release's {CONFIG}: {cfg_wf.url or entry.source})"
            )
    else:
        path, sha = W.resolve(entry, ckpt_wf)
        cfg_path, _ = W.resolve(entry, cfg_wf)
    return load_state(path), read_config(cfg_path), sha, str(path.resolve())


def load_state(path: Path) -> dict:
    """A state dict from safetensors or a weights-only ``torch.load``; never unpickles."""
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = load_weights_only(path, "speechtokenizer")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise AudiotokError(f"{path} is not a SpeechTokenizer state dict (name -> tensor)")
    return state
