"""Semantic tokenizer: a feature extractor followed by a k-means codebook (K = 1)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from audiotok import __version__
from audiotok.extractors.base import FeatureExtractor
from audiotok.kmeans.codebook import Codebook
from audiotok.spec import TokenSpec
from audiotok.tokenizer import Tokenizer

if TYPE_CHECKING:
    import torch

    from audiotok.extractors.s3m import S3MExtractor


def builtin_codebook_path(name: str) -> Path:
    return Path(str(resources.files("audiotok") / "assets" / f"{name}.safetensors"))


class SemanticTokenizer(Tokenizer):
    def __init__(self, extractor: FeatureExtractor, codebook: Codebook, name: str | None = None):
        codebook.check_features(extractor.name, extractor.layer, extractor.weights_sha256)
        if codebook.dim != extractor.dim:
            raise ValueError(
                f"codebook has {codebook.dim}-dim centroids, extractor {extractor.name!r} gives "
                f"{extractor.dim}-dim features"
            )
        self.extractor = extractor
        self.codebook = codebook
        self.codebook_ref = ""  # how the codebook was named (builtin:NAME or a path)
        self.batch_exact = extractor.batch_exact
        # S3M extractors cut files longer than this into overlapping windows (see
        # audiotok.extractors.windows); the engine then sends such files one by one.
        self.long_window_seconds = getattr(extractor, "long_window_seconds", None)
        self.weights_path = getattr(extractor, "weights_path", "")
        layer = extractor.layer
        default_name = codebook.default_name(extractor.name, layer)  # sha256 in the name
        self.spec = TokenSpec(
            kind="semantic",
            name=name or default_name,
            sample_rate=extractor.sample_rate,
            frame_rate=extractor.frame_rate,
            num_codebooks=1,
            codebook_size=codebook.k,
            layer=layer,
            weights_sha256=extractor.weights_sha256,
            params={"extractor": extractor.name, "codebook_sha256": codebook.sha256},
            version=__version__,
            semantic_codebooks=(0,),
        )

    def num_frames(self, num_samples: int) -> int:
        return self.extractor.num_frames(num_samples)

    def recipe_options(self) -> dict[str, Any]:
        ex = self.extractor
        opts = dict(ex.recipe_options()) if hasattr(ex, "recipe_options") else {}
        if self.codebook_ref:  # else the caller's options name the codebook file
            opts["codebook"] = self.codebook_ref
        return {**opts, "codebook_sha256": self.codebook.sha256}

    def to(self, device: str) -> SemanticTokenizer:
        self.device = device
        self.extractor.to(device)
        self.codebook.to(device)
        return self

    def features(self, wav: torch.Tensor, lengths: torch.Tensor):
        if wav.dim() == 3:
            wav = wav[:, 0]
        return self.extractor(wav, lengths)

    def encode_batch(self, wav: torch.Tensor, lengths: torch.Tensor):
        feats, frame_lengths = self.features(wav, lengths)
        units = self.codebook.assign(feats)  # [B, T']
        return units.unsqueeze(1), frame_lengths

    def encode_long(self, wav: torch.Tensor):
        """One long file: units window by window (the same units encode_batch gives), so
        memory holds one window's features, not the file's."""
        import torch

        if not hasattr(self.extractor, "extract_layers"):
            return super().encode_long(wav)
        from audiotok.extractors.windows import window_features

        ex = cast("S3MExtractor", self.extractor)  # the extractor with extract_layers
        x = wav.reshape(-1)
        n = ex.num_frames(x.shape[0])
        units = torch.zeros(1, 1, n, dtype=torch.long, device=wav.device)
        for start, feats in window_features(ex, x):
            u = self.codebook.assign(ex.combine({k: v[None] for k, v in feats.items()}))
            units[0, 0, start : start + u.shape[1]] = u[0].to(units.device)
        return units, torch.tensor([n])


def build(
    entry: Any = None,
    *,
    extractor: str | FeatureExtractor = "mfcc",
    codebook: str | Path | Codebook | None = None,
    layer: int | None = None,
    device: str = "cpu",
    name: str | None = None,
    **extractor_options: Any,
) -> SemanticTokenizer:
    from audiotok import extractors
    from audiotok.errors import AudiotokError
    from audiotok.kmeans import load as load_codebook

    if codebook is None:
        raise AudiotokError(
            "a semantic tokenizer needs a k-means codebook: pass --codebook FILE "
            "(train one with `audiotok kmeans train`)"
        )
    ref = ""
    if isinstance(codebook, str) and codebook.startswith("builtin:"):
        ref = codebook
        codebook = builtin_codebook_path(codebook.split(":", 1)[1])
    elif isinstance(codebook, (str, Path)):
        ref = str(Path(codebook).expanduser().resolve())
    cb = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    want_sha = extractor_options.pop("codebook_sha256", None)  # from a recipe
    if want_sha and cb.sha256 != want_sha:
        from audiotok.errors import SpecMismatchError

        raise SpecMismatchError(
            f"codebook {ref or 'given'} has sha256 {cb.sha256[:12]}..., the recipe was made with "
            f"{str(want_sha)[:12]}...; pass the codebook the tokens were made with (--codebook)"
        )
    if isinstance(extractor, str):
        if layer is not None:
            extractor_options["layers"] = [layer]
        ex = extractors.load(extractor, **extractor_options)
    else:
        ex = extractor
    if entry is not None and entry.kind == "semantic":
        name = name or entry.name
    tok = SemanticTokenizer(ex, cb, name=name)
    tok.codebook_ref = ref
    return tok.to(device)
