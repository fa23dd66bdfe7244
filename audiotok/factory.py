"""``audiotok.load``, ``audiotok.load_for_store`` and :func:`build`: models from a name, a path,
a recipe or a store.

Every tokenizer built here carries ``tok.recipe`` (:class:`audiotok.recipe.TokenizerConfig`):
the canonical model name (registry name or absolute path) and every option that changes its
tokens, with effective values, so the same tokenizer can be rebuilt anywhere with
:func:`build`. Recipes and the store are plain data; this module is where they meet the model
code (as are the loaders of the folder formats that :mod:`audiotok.folder_formats` names).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from audiotok import registry
from audiotok.errors import AudiotokError, SpecMismatchError, UnknownModelError
from audiotok.recipe import READER_OPT_INS, ExtractorConfig, TokenizerConfig
from audiotok.tokenizer import Tokenizer

TOKENIZER_KINDS = ("semantic", "acoustic", "hybrid")
# Files of a Hugging Face model folder: --model FILE names a folder's part, not a model.
HF_FOLDER_FILES = (
    "config.json",
    "pytorch_model.bin",
    "model.safetensors",
    "preprocessor_config.json",
)


def load_tokenizer(name_or_path: str, kind: str | None = None, **options: Any) -> Tokenizer:
    """Build a tokenizer.

    - a tokenizer name from the registry (``mfcc-km100``, ``encodec-24khz``);
    - an extractor name (``mfcc``, ``hubert-base-ls960``) or a Hugging Face model folder with
      ``codebook=`` -> semantic;
    - a codebook file (``km500.safetensors``): semantic, extractor named in its header;
    - a weights file carrying a registered file name (``encodec_24khz-d7cc33bc.th``).
    """
    if kind is not None and kind not in TOKENIZER_KINDS:
        raise AudiotokError(f"unknown --kind {kind!r}: use one of {', '.join(TOKENIZER_KINDS)}")
    options = {k: v for k, v in options.items() if v is not None}
    name, canonical, tok = _build(str(name_or_path), options)
    if kind is not None and tok.spec.kind != kind:
        raise AudiotokError(
            f"model {name_or_path!r} makes {tok.spec.kind} tokens, not {kind}; "
            f"pick {'an' if kind[0] in 'aeiou' else 'a'} {kind} model "
            f"(`audiotok models list --kind {kind}`)"
        )
    effective = tok.recipe_options()
    user = {k: v for k, v in canonical.items() if k != "device"}
    if "layers" in effective:
        user.pop("layer", None)
    if "n_codebooks" in effective:
        user.pop("bandwidth", None)
    tok.recipe = TokenizerConfig(name, {**user, **effective})
    return tok


def _build_tokenizer(recipe: Any, device: str, overrides: dict[str, Any]) -> Any:
    return load_tokenizer(recipe.name, device=device, **{**recipe.options, **overrides})


def _build_extractor(recipe: Any, device: str, overrides: dict[str, Any]) -> Any:
    from audiotok.extractors import load

    return load(recipe.name, **{**recipe.options, **overrides}).to(device)


# What each kind of recipe builds (``_Recipe.TARGET`` -> builder).
RECIPE_BUILDERS: dict[str, Callable[[Any, str, dict[str, Any]], Any]] = {
    TokenizerConfig.TARGET: _build_tokenizer,
    ExtractorConfig.TARGET: _build_extractor,
}


def build(recipe: TokenizerConfig | ExtractorConfig, device: str = "cpu", **overrides: Any) -> Any:
    """The tokenizer or feature extractor a recipe describes (``overrides``: e.g. ``weights=``
    a local copy of the file the recipe was made with)."""
    try:
        builder = RECIPE_BUILDERS[recipe.TARGET]
    except (AttributeError, KeyError):
        raise AudiotokError(f"not a recipe: {recipe!r}") from None
    return builder(recipe, device, overrides)


def load_for_store(directory: str | Path, device: str = "auto", **overrides: Any) -> Tokenizer:
    """The tokenizer that made a token store, rebuilt from its recipe and checked against its
    spec (``overrides``: e.g. ``weights=`` where the recorded file is not on this machine)."""
    from audiotok.store.reader import TokenStore
    from audiotok.tokenizer import resolve_device

    store = TokenStore(directory)
    recipe = store.recipe
    dev = resolve_device(device)
    if recipe is None:
        tok = _legacy_store_tokenizer(store, dev, overrides)
    else:
        try:
            tok = build(recipe, device=dev, **overrides)
        except AudiotokError as e:
            raise AudiotokError(
                f"cannot rebuild the tokenizer of {directory} ({recipe.name}): {e}"
            ) from None
    try:
        store.spec.check_same(tok.spec)
    except SpecMismatchError as e:
        raise SpecMismatchError(
            f"the tokenizer rebuilt for {directory} does not match its tokens: {e}. Pass the "
            "weights/codebook the store was made with"
        ) from None
    return tok


def _legacy_store_tokenizer(store: Any, device: str, overrides: dict[str, Any]) -> Tokenizer:
    """Stores of audiotok 0.1 have no recipe: rebuild from the spec and the run record."""
    spec = store.spec
    options: dict[str, Any] = {"device": device}
    recorded = store.manifest.run.get("weights") or None
    if recorded and Path(recorded).is_file():
        options["weights"] = recorded
    if spec.kind != "semantic":
        options["n_codebooks"] = spec.params.get("n_codebooks", spec.num_codebooks)
        if "scale_row" in spec.params:
            options["n_codebooks"] = spec.num_codebooks - 1
    return load_tokenizer(spec.name, **{**options, **overrides})


def _build(name_or_path: str, options: dict[str, Any]) -> tuple[str, dict[str, Any], Tokenizer]:
    """(canonical name, canonical options, tokenizer)."""
    try:
        entry = registry.get(name_or_path)
    except UnknownModelError:
        path = Path(name_or_path).expanduser()
        if not path.exists():
            raise
        return _from_path(path.resolve(), options)
    if entry.kind in TOKENIZER_KINDS:
        return entry.name, options, entry.build(**options)
    if entry.kind == "extractor":
        from audiotok.semantic import build as build_semantic

        opts = _abs_codebook(options)
        return entry.name, opts, build_semantic(None, extractor=entry.name, **opts)
    raise AudiotokError(f"{entry.name!r} is a {entry.kind}, not a tokenizer")


def _abs_codebook(options: dict[str, Any]) -> dict[str, Any]:
    cb = options.get("codebook")
    if isinstance(cb, (str, Path)) and not str(cb).startswith("builtin:"):
        return {**options, "codebook": str(Path(cb).expanduser().resolve())}
    return options


def _from_path(path: Path, options: dict[str, Any]) -> tuple[str, dict[str, Any], Tokenizer]:
    from audiotok.semantic import build as build_semantic

    if path.is_file() and path.suffix == ".safetensors":
        from audiotok.kmeans import load as load_codebook

        cb = load_codebook(path)
        # a codebook: semantic units of the extractor its header names
        options = {**_recipe_defaults(cb.meta.get("extractor_recipe")), **options}
        ex_name = options.get("extractor", cb.meta.get("extractor"))
        if not ex_name:
            raise AudiotokError(
                f"codebook {path.name} does not name the extractor it was trained on; pass "
                f"it: --model NAME_OR_FOLDER --codebook {path.name}"
            )
        ex_name = str(ex_name)
        if not Path(ex_name).exists():
            try:
                registry.get(ex_name)
            except UnknownModelError:
                raise AudiotokError(
                    f"codebook {path.name} was trained on features of {ex_name!r}, which is "
                    "not a registered model here; pass the model folder: --model PATH "
                    f"--codebook {path.name}"
                ) from None
        opts = {**options, "codebook": str(path)}
        if cb.meta.get("layer") is not None and "layers" not in opts:
            opts.setdefault("layer", cb.meta["layer"])
        opts.pop("extractor", None)
        name = str(Path(ex_name).resolve()) if Path(ex_name).exists() else ex_name
        return name, opts, build_semantic(None, extractor=name, codebook=cb, **_no_cb(opts))
    if path.is_dir() and (path / "config.json").is_file():
        from audiotok import folder_formats

        fmt = folder_formats.identify(path)  # one read of config.json, every check
        if fmt.kind in TOKENIZER_KINDS:
            return str(path), options, TOKENIZER_FOLDER_LOADERS[fmt.name](path, **options)
        if fmt.kind != "extractor":
            raise AudiotokError(
                f"{path} is a {fmt.kind} folder ({fmt.name}), not a tokenizer or a feature "
                "extractor"
            )
        opts = _abs_codebook(options)
        try:
            return str(path), opts, build_semantic(None, extractor=str(path), **opts)
        except AudiotokError as e:  # name the folder: its config may be what is wrong
            if str(path) in str(e):
                raise
            try:  # the same kind of error (SpecMismatchError, MissingWeightsError...)
                named = type(e)(f"{path}: {e}")
            except TypeError:  # a subclass with another constructor
                named = AudiotokError(f"{path}: {e}")
            raise named from None
    if path.name in HF_FOLDER_FILES:
        raise AudiotokError(
            f"{path.name} is one file of a Hugging Face model folder; pass the folder: "
            f"--model {path.parent} (with --layer N --codebook FILE for semantic units)"
        )
    matches = registry.find_all_by_filename(path.name, kinds=TOKENIZER_KINDS)
    if len(matches) == 1:
        entry = matches[0]
        opts = {**options, "weights": str(path)}
        return entry.name, opts, entry.build(**opts)
    if len(matches) > 1:
        names = ", ".join(e.name for e in matches)
        raise AudiotokError(
            f"{path.name} is the weights file of several models ({names}); name one: "
            f"--model NAME --weights {path}"
        )
    raise AudiotokError(
        f"cannot tell which model {path} holds; pass the model name with the file, "
        "e.g. --model encodec-24khz --weights PATH"
    )


def _hybrid_codec_folder(path: Path, **options: Any) -> Any:
    from audiotok.codecs.speechtokenizer_student import load_student

    return load_student(path, **options)


def _xcodec2_folder(path: Path, **options: Any) -> Any:
    options.setdefault("weights", str(path / "model.safetensors"))
    return registry.get("xcodec2").build(**options)


def _snac_folder(path: Path, **options: Any) -> Any:
    """A SNAC release folder (config.json + pytorch_model.bin): the registry's SNAC entry of
    its sampling rate, with the folder as its weights."""
    from audiotok.folder_formats import CONFIG, read_config

    rate = read_config(path)["sampling_rate"]
    snacs = [e for e in registry.entries("acoustic") if e.builder == "audiotok.codecs.snac:build"]
    match = [e for e in snacs if e.sample_rate == rate]
    if not match:
        known = ", ".join(f"{e.sample_rate} Hz ({e.name})" for e in snacs)
        raise AudiotokError(
            f'{path / CONFIG}: field "sampling_rate" is {rate}; audiotok builds SNAC at {known}'
        )
    options.setdefault("weights", str(path))
    return match[0].build(**options)


# The loader of each folder format (:data:`audiotok.folder_formats.FORMATS`) that makes tokens.
# Vocoder folders load through ``audiotok.vocoders.load``; Hugging Face folders are feature
# extractors (``extractors.load``), made into a tokenizer with a codebook below.
TOKENIZER_FOLDER_LOADERS: dict[str, Callable[..., Any]] = {
    "audiotok-hybrid-codec": _hybrid_codec_folder,
    "huggingface-xcodec2": _xcodec2_folder,
    "huggingface-snac": _snac_folder,
}


def _recipe_defaults(recipe: Any) -> dict[str, Any]:
    """Options a codebook's header recorded for the extractor it was trained on (its recipe):
    the tokenizer then computes the features the codebook saw (layers, dtype, final layer
    norm, windows...). Files the recipe names that are not on this machine are left out."""
    if not isinstance(recipe, dict) or not recipe.get("name"):
        return {}
    name = str(recipe["name"])
    out: dict[str, Any] = {}
    if not name.startswith("/") or Path(name).exists():
        out["extractor"] = name
    options = recipe.get("options")
    for k, v in (options if isinstance(options, dict) else {}).items():
        if k in READER_OPT_INS:  # an opt-in is the reader's to give, not the file's
            continue
        if k == "weights" and not Path(str(v)).exists():
            continue
        out[k] = v
    return out


def _no_cb(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k != "codebook"}


DEFAULT_MODEL = {
    "semantic": "mfcc-km100",
    "acoustic": "encodec-24khz",
    "hybrid": "speechtokenizer-hubert-avg",
}


def tokenizer_for(
    kind: str | None,
    model: str | None = None,
    *,
    codebook: str | None = None,
    device: str = "auto",
    **options: Any,
) -> Tokenizer:
    """The tokenizer a corpus command asks for: ``--kind``, ``--model`` (default per kind),
    ``--codebook`` (alone it names the model: its header names the extractor), the rest as
    builder options (``None`` values are left out). Fails before any work when weights are
    missing."""
    from audiotok.tokenizer import resolve_device

    if kind is not None and kind not in TOKENIZER_KINDS:
        raise AudiotokError(f"unknown --kind {kind!r}: use one of {', '.join(TOKENIZER_KINDS)}")
    if model is None:
        if codebook is not None:
            model, codebook = codebook, None
        else:
            model = DEFAULT_MODEL.get(kind or "semantic")
            if model is None:
                raise AudiotokError(f"--kind {kind} has no default model: pass --model NAME")
    opts = {k: v for k, v in options.items() if v is not None and v is not False}
    if codebook is not None:
        opts["codebook"] = codebook
    return load_tokenizer(model, kind=kind, device=resolve_device(device), **opts)
