"""Model folders audiotok reads: a closed set of formats, each loaded by code in this package.

A folder's ``config.json`` says what it holds, never how to load it: its ``"format"`` field
picks an entry of :data:`FORMATS`, loaded by code written in audiotok
(``audiotok.factory.TOKENIZER_FOLDER_LOADERS``, ``audiotok.vocoders.load``): this module reads
and checks configs only and imports no model code, so the model loaders can call
:func:`require`. A Hugging Face folder
(no ``format``) is recognised by its ``model_type``, which must be one of the speech models
audiotok builds. Nothing read from the file is imported, called, evaluated or unpickled:

- an unknown ``format``, a missing one, or one of the wrong type is one line naming the file
  and the field;
- ``"audiotok_builder"`` (written by earlier audiotok builds, "module:function") is only looked up
  in :data:`LEGACY_BUILDERS`, the builder names audiotok itself wrote, and mapped to their
  format; any other value is refused, because honouring it would run the code it names
  (``{"audiotok_builder": "site:addsitedir"}`` beside a ``.pth`` file ran code on load);
- a Hugging Face ``auto_map`` (code shipped with the folder, ``trust_remote_code``) is refused.

A release whose ``config.json`` has neither ``format`` nor ``model_type`` (SNAC's: the keyword
arguments of its model class) is recognised by its fields (:data:`FIELD_FORMATS`): the fields
that identify it, and the JSON type of every field audiotok reads, so a wrong-typed field is
one line naming the file and the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError

CONFIG = "config.json"


@dataclass(frozen=True)
class FolderFormat:
    """One kind of model folder: the ``format`` value that names it, what it makes, and the
    command that writes it."""

    name: str
    kind: str  # "hybrid" | "acoustic" | "vocoder" | "extractor"
    written_by: str


FORMATS: dict[str, FolderFormat] = {
    f.name: f
    for f in (
        FolderFormat("audiotok-hybrid-codec", "hybrid", "audiotok hybrid train"),
        FolderFormat("audiotok-vocoder", "vocoder", "audiotok vocoder train / vocoder import"),
    )
}
# A Hugging Face folder has no "format"; its model_type picks the transformers class.
HUGGING_FACE = FolderFormat("huggingface", "extractor", "transformers")
HF_MODEL_TYPES = ("hubert", "wav2vec2", "wavlm", "data2vec-audio")
# Hugging Face folders of codecs audiotok builds itself (their code, named by an "auto_map" or
# not, is never run: only "model_type" is read): HKUSTAudio/xcodec2 (BigCodecConfig "xcodec").
HF_CODECS = {
    "xcodec": FolderFormat("huggingface-xcodec2", "acoustic", "HKUSTAudio/xcodec2"),
}


# JSON types of a config field: how each is checked and named in an error.
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


FIELD_TYPES: dict[str, tuple[str, Any]] = {
    "int": ("an integer", _is_int),
    "int?": ("an integer or null", lambda v: v is None or _is_int(v)),
    "ints": ("a list of integers", lambda v: isinstance(v, list) and all(map(_is_int, v))),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
}


@dataclass(frozen=True)
class FieldFormat:
    """A release recognised by its config fields: all of ``identify_by`` present (and no
    ``format`` / ``model_type``); ``fields``: every field audiotok reads and its type (a key of
    :data:`FIELD_TYPES`); ``required``: those the loader cannot do without."""

    format: FolderFormat
    identify_by: tuple[str, ...]
    required: tuple[str, ...]
    fields: dict[str, str]


# hubertsiuzdak/snac_{24,32,44}khz: config.json holds the arguments of SNAC.__init__ (snac
# package 1.2.1, snac/snac.py), e.g. snac_24khz's sampling_rate 24000, encoder_dim 48,
# encoder_rates [2, 4, 8, 8], decoder_dim 1024, decoder_rates [8, 8, 4, 2], attn_window_size
# null, codebook_size 4096, codebook_dim 8, vq_strides [4, 2, 1], noise true, depthwise true.
FIELD_FORMATS: tuple[FieldFormat, ...] = (
    FieldFormat(
        FolderFormat("huggingface-snac", "acoustic", "hubertsiuzdak/snac"),
        identify_by=("vq_strides", "encoder_rates", "decoder_rates"),
        required=("sampling_rate", "vq_strides", "encoder_rates", "decoder_rates"),
        fields={
            "sampling_rate": "int",
            "encoder_dim": "int",
            "encoder_rates": "ints",
            "latent_dim": "int?",
            "decoder_dim": "int",
            "decoder_rates": "ints",
            "attn_window_size": "int?",
            "codebook_size": "int",
            "codebook_dim": "int",
            "vq_strides": "ints",
            "noise": "bool",
            "depthwise": "bool",
        },
    ),
)
# "audiotok_builder" values that earlier audiotok builds wrote, and the format each one meant.
LEGACY_BUILDERS = {"audiotok.codecs.speechtokenizer_student:load_student": "audiotok-hybrid-codec"}


def read_config(folder: str | Path) -> dict[str, Any]:
    """The folder's ``config.json`` as a JSON object (one line naming the file otherwise)."""
    path = Path(folder) / CONFIG
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AudiotokError(f"{Path(folder)} holds no {CONFIG}: not a model folder") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise AudiotokError(f"{path}: cannot read it as JSON ({str(e).splitlines()[0]})") from None
    except RecursionError:
        raise AudiotokError(f"{path}: cannot read it as JSON (nested too deeply)") from None
    if not isinstance(cfg, dict):
        raise AudiotokError(f"{path}: expected a JSON object, found {type(cfg).__name__}")
    return cfg


def identify(folder: str | Path, cfg: dict[str, Any] | None = None) -> FolderFormat:
    """Which registered format the folder is in; refuses anything else in one line."""
    path = Path(folder) / CONFIG
    cfg = read_config(folder) if cfg is None else cfg
    fmt = cfg.get("format")
    if "audiotok_builder" in cfg:
        fmt = _legacy_format(path, cfg["audiotok_builder"], fmt)
    if fmt is None:
        by_fields = _by_fields(path, cfg)
        return by_fields if by_fields is not None else _hugging_face(path, cfg)
    if not isinstance(fmt, str):
        raise AudiotokError(
            f'{path}: field "format" must be a string, not {type(fmt).__name__} ({fmt!r})'
        )
    try:
        return FORMATS[fmt]
    except KeyError:
        raise AudiotokError(
            f'{path}: unknown "format" {fmt!r}; audiotok reads folders in the formats '
            f"{', '.join(sorted(FORMATS))}, or Hugging Face folders ({', '.join(HF_MODEL_TYPES)})"
        ) from None


def require(folder: str | Path, kind: str) -> FolderFormat:
    """:func:`identify`, and the folder must make ``kind`` (e.g. a vocoder folder)."""
    fmt = identify(folder)
    if fmt.kind != kind:
        raise AudiotokError(
            f"{Path(folder)} is a {fmt.kind} folder ({fmt.name}, written by {fmt.written_by}), "
            f"not a {kind}"
        )
    return fmt


def _legacy_format(path: Path, builder: Any, fmt: Any) -> str:
    known = LEGACY_BUILDERS.get(builder) if isinstance(builder, str) else None
    if known is None:
        raise AudiotokError(
            f'{path}: field "audiotok_builder" names code to run ({builder!r}); audiotok never '
            'runs code a file names. A folder audiotok wrote says "format": one of '
            f"{', '.join(sorted(FORMATS))}; delete the field if the folder is yours"
        )
    if fmt is not None and fmt != known:
        raise AudiotokError(
            f'{path}: field "audiotok_builder" ({builder}) means format {known!r}, but "format" '
            f"says {fmt!r}"
        )
    return known


def _by_fields(path: Path, cfg: dict[str, Any]) -> FolderFormat | None:
    """The :data:`FIELD_FORMATS` entry the config's fields name, checked field by field."""
    if "model_type" in cfg:
        return None
    for entry in FIELD_FORMATS:
        if not all(k in cfg for k in entry.identify_by):
            continue
        for k in entry.required:
            if k not in cfg:
                raise AudiotokError(
                    f"{path}: a {entry.format.name} config ({entry.format.written_by}) needs "
                    f'field "{k}"'
                )
        for k, typ in entry.fields.items():
            what, ok = FIELD_TYPES[typ]
            if k in cfg and not ok(cfg[k]):
                shown = json.dumps(cfg[k])
                raise AudiotokError(
                    f'{path}: field "{k}" must be {what}, not '
                    f"{shown[:40] + ('...' if len(shown) > 40 else '')}"
                )
        if "auto_map" in cfg:
            raise AudiotokError(
                f'{path}: field "auto_map" asks to run code shipped with the folder; audiotok '
                f"builds {entry.format.name} models with its own code"
            )
        return entry.format
    return None


def _hugging_face(path: Path, cfg: dict[str, Any]) -> FolderFormat:
    model_type = cfg.get("model_type")
    if model_type is None:
        raise AudiotokError(
            f'{path}: missing field "format" (an audiotok folder: '
            f'{", ".join(sorted(FORMATS))}) or "model_type" (a Hugging Face folder)'
        )
    if isinstance(model_type, str) and model_type in HF_CODECS:
        return HF_CODECS[model_type]
    if not isinstance(model_type, str) or model_type not in HF_MODEL_TYPES:
        raise AudiotokError(
            f'{path}: field "model_type" is {model_type!r}; audiotok reads Hugging Face folders '
            f"of {', '.join(HF_MODEL_TYPES)}"
        )
    if "auto_map" in cfg:
        raise AudiotokError(
            f'{path}: field "auto_map" asks to run code shipped with the folder '
            "(trust_remote_code); audiotok builds only the transformers classes it knows"
        )
    return HUGGING_FACE
