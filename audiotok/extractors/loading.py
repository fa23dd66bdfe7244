"""Where an S3M extractor's weights come from, in the order tried:

1. ``pretrained=False``: the entry's architecture (``arch``, overridden by ``config={...}``)
   with random weights (seeded); ``weights_sha256`` fingerprints the in-memory weights.
2. ``weights=PATH``: a folder in Hugging Face layout (``config.json`` + ``model.safetensors`` or
   ``pytorch_model.bin``); or one weights file in the entry's architecture: HF key names,
   torchaudio's (a bundle's ``.pth``, e.g. ``hubert_fairseq_base_ls960.pth``), or a fairseq
   ``.pt`` with ``allow_pickle=True`` (converted once to safetensors).
3. the cache: ``$AUDIOTOK_HOME/<name>/`` in Hugging Face layout, checked against the published
   sha256 where the owner publishes one. Missing files raise MissingWeightsError naming each
   file, its URL and where to put it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError, MissingWeightsError
from audiotok.extractors import hf_models
from audiotok.extractors.s3m import S3MExtractor

ENTRY_KEYS = ("arch", "hf_repo", "torchaudio_bundle")


def load_s3m(
    entry: Any = None,
    *,
    layers: Any = None,
    weights: str | Path | None = None,
    pretrained: bool = True,
    config: dict[str, Any] | None = None,
    allow_pickle: bool = False,
    seed: int = 0,
    name: str | None = None,
    device: str = "cpu",
    **options: Any,
) -> S3MExtractor:
    arch = dict(options.pop("arch", None) or {})
    for k in ENTRY_KEYS:
        options.pop(k, None)
    if weights is not None and not str(weights):
        weights = None
    sha, wpath = "", ""
    if not pretrained:
        if not arch and not config:
            raise AudiotokError(
                "pretrained=False needs an architecture: a registry name or config="
            )
        model = hf_models.random_model(hf_models.make_config(arch, config), seed)
        from audiotok.weights import state_dict_sha256

        sha = state_dict_sha256(model.state_dict())
    elif weights is not None:
        model, used = _from_path(Path(weights).expanduser(), arch, config, allow_pickle)
        wpath = str(used)
        sha = _sha(used)
    else:
        if entry is None:
            raise AudiotokError("no weights: pass weights=PATH or a registry name")
        model, used, sha = _from_cache(entry)
        wpath = str(used)
    ex_name = name or (entry.name if entry is not None else Path(str(weights)).stem)
    _check_extractor_options(ex_name, options)
    try:
        ex = S3MExtractor(
            model, name=ex_name, layers=layers, weights_sha256=sha, weights_path=wpath, **options
        )
    except ZeroDivisionError:  # a config whose conv_stride holds a 0 (found by tests/fuzz)
        raise AudiotokError(
            f"{wpath or ex_name}: its model config has a convolution stride of 0"
        ) from None
    return ex.to(device)


def _check_extractor_options(name: str, options: dict[str, Any]) -> None:
    import inspect

    takes = set(inspect.signature(S3MExtractor.__init__).parameters) - {"self", "model", "name"}
    takes -= {"weights_sha256", "weights_path"}
    unknown = sorted(set(options) - takes)
    if unknown:
        raise AudiotokError(
            f"{name} does not take the option(s) {', '.join(unknown)} "
            f"(it takes layers, weights, {', '.join(sorted(takes))})"
        )


def _sha(path: Path | None) -> str:
    from audiotok.weights import sha256_file

    return sha256_file(path) if path is not None else ""


def _from_path(p: Path, arch: dict, config: dict | None, allow_pickle: bool):
    if p.is_dir():
        from audiotok.folder_formats import require

        if (p / "config.json").is_file():
            require(p, "extractor")
        if config:
            raise AudiotokError("config= overrides apply to weights files, not to a model folder")
        return hf_models.from_hf_dir(p), hf_models.weights_in_dir(p)
    if not p.is_file():
        raise MissingWeightsError(f"weights {p} do not exist")
    if not arch and not config:
        raise AudiotokError(
            f"{p} is a bare weights file: name its architecture with --model NAME (e.g. "
            "--model hubert-base-ls960 --weights FILE), or pass a Hugging Face model folder"
        )
    return _from_state_file(p, hf_models.make_config(arch, config), allow_pickle)


def _from_state_file(path: Path, config, allow_pickle: bool):
    """A weights file (HF or torchaudio keys; fairseq with ``allow_pickle``) into ``config``'s
    architecture. Returns (model, path of the weights actually read)."""
    from audiotok.errors import UnsafeCheckpointError
    from audiotok.extractors import fairseq_convert
    from audiotok.weights import load_state_dict

    try:
        state = load_state_dict(path)
    except UnsafeCheckpointError as e:
        if not allow_pickle:
            raise UnsafeCheckpointError(
                f"{path} is a pickled checkpoint (fairseq/unilm style), which can run code when "
                "loaded. If you trust it, pass --allow-pickle (allow_pickle=True): audiotok "
                "converts it once to safetensors in Hugging Face layout and never unpickles it "
                "again"
            ) from e
        out_dir = fairseq_convert.convert_file(path)
        return hf_models.from_hf_dir(out_dir), hf_models.weights_in_dir(out_dir)
    if "model" in state and isinstance(state["model"], dict):  # a fairseq dict read safely
        out_dir = fairseq_convert.convert_checkpoint(state, path)
        return hf_models.from_hf_dir(out_dir), hf_models.weights_in_dir(out_dir)
    if hf_models.is_torchaudio_state(state):
        state = hf_models.torchaudio_to_hf(state, config.model_type)
    else:
        state = hf_models.strip_hf_prefix(state)
    model = hf_models.random_model(config)
    return hf_models.load_state_into(model, state, str(path)), path


def _from_cache(entry: Any):
    from audiotok import weights as W

    missing = [wf for wf in entry.files if not W.expected_path(entry, wf).is_file()]
    if missing:
        raise MissingWeightsError("; ".join(W.missing_message(entry, wf) for wf in missing))
    sha = ""
    used = None
    for wf in entry.files:
        digest = W.verify(W.expected_path(entry, wf), wf, entry.name)
        if wf.filename in hf_models.WEIGHT_NAMES:
            sha, used = digest, W.expected_path(entry, wf)
    return hf_models.from_hf_dir(W.model_dir(entry)), used, sha
