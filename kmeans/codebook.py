"""A k-means codebook: centroids in safetensors, a JSON header in the file's metadata.

Header fields: k, dim, extractor, layer, extractor_sha256 (the features it was trained on),
frame_rate, normalize ("none" | "l2"), spherical, init, seed, niter, tol, iterations_run,
converged, nredo, backend, num_samples, inertia, usage (frames per unit on the training
sample), format_version. Applying a codebook to features of another extractor, layer or
extractor weights (sha256, where both sides know it) is an error that names both.

A codebook's identity is its sha256 (of the file, or of its centroids and normalisation when
it was never saved): :meth:`Codebook.default_name` puts its first 8 hex digits into the name
of the tokens it makes, so two codebooks of one extractor and k never share a name, while
the shipped ``audiotok/assets`` codebooks keep their published names.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audiotok.errors import AudiotokError, SpecMismatchError

if TYPE_CHECKING:
    import torch

HEADER_KEY = "audiotok_codebook"
FORMAT_VERSION = 1


@dataclass
class Codebook:
    centroids: torch.Tensor  # [k, dim] float32
    meta: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""  # of the file it was loaded from

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    @property
    def dim(self) -> int:
        return int(self.centroids.shape[1])

    @property
    def normalize(self) -> str:
        return str(self.meta.get("normalize", "none"))

    def to(self, device: str) -> Codebook:
        self.centroids = self.centroids.to(device)
        return self

    @property
    def extractor(self) -> str | None:
        """The extractor named in the header (None: imported without ``--extractor``)."""
        x = self.meta.get("extractor")
        return str(x) if x else None

    def require_extractor(self, where: str = "this codebook") -> str:
        """The extractor the codebook was trained on, or an error that says how to give it."""
        if self.extractor is None:
            raise AudiotokError(
                f"{where} does not name the extractor it was trained on (it was imported "
                "without --extractor): pass the extractor with it, e.g. --model "
                "hubert-base-ls960 --layer 6 --codebook FILE, or record it once with "
                "`audiotok kmeans import FILE --extractor NAME --layer L -o FILE`"
            )
        return self.extractor

    def check_features(
        self, extractor: str, layer: int | None, weights_sha256: str | None = None
    ) -> None:
        """Refuse features of another extractor or layer, or of other weights of the same
        extractor (when the header and the caller both know the weights' sha256)."""
        want_x, want_l = self.meta.get("extractor"), self.meta.get("layer")
        if want_x and (want_x != extractor or want_l != layer):
            raise SpecMismatchError(
                f"this codebook was trained on features of {want_x!r} layer {want_l}, "
                f"but is being applied to features of {extractor!r} layer {layer}"
            )
        want_sha = self.meta.get("extractor_sha256")
        if want_x and want_sha and weights_sha256 and want_sha != weights_sha256:
            raise SpecMismatchError(
                f"this codebook was trained on features of {want_x!r} layer {want_l} from "
                f"weights with sha256 {want_sha}, but these features come from weights with "
                f"sha256 {weights_sha256}: use the weights the codebook was trained on, or "
                "train a codebook on these features (audiotok kmeans train)"
            )

    @property
    def identity(self) -> str:
        """sha256 of the file it was loaded from; of centroids + normalisation otherwise."""
        if self.sha256:
            return self.sha256
        h = hashlib.sha256(self.centroids.detach().cpu().float().contiguous().numpy().tobytes())
        h.update(f"{list(self.centroids.shape)}|{self.normalize}".encode())
        return h.hexdigest()

    def default_name(self, extractor: str, layer: int | None) -> str:
        """Token name of extractor + this codebook: a shipped codebook's own name, else
        ``<extractor>[-L<layer>]-km<k>-<sha256[:8]>``."""
        shipped = shipped_codebooks().get(self.identity)
        if shipped is not None:
            return shipped
        return f"{extractor}{'' if layer is None else f'-L{layer}'}-km{self.k}-{self.identity[:8]}"

    def assign(self, feats: torch.Tensor, chunk: int = 16384) -> torch.Tensor:
        """Nearest centroid of feats[..., dim] (squared L2, ties to the lowest index), batched
        on the centroids' device; exactly what brute force gives (see ``assign.nearest``)."""
        import torch

        from audiotok.kmeans.assign import nearest

        if feats.shape[-1] != self.dim:
            raise ValueError(f"features are {feats.shape[-1]}-dim, the codebook is {self.dim}-dim")
        shape = feats.shape[:-1]
        x = feats.reshape(-1, feats.shape[-1]).to(self.centroids.device)
        if self.normalize == "l2":
            x = torch.nn.functional.normalize(x.float(), dim=-1)
        out = nearest(x, self.centroids, chunk=chunk)
        assert isinstance(out, torch.Tensor)
        return out.reshape(shape)

    def save(self, path: str | Path) -> None:
        from audiotok.store.files import save_safetensors

        meta = {**self.meta, "k": self.k, "dim": self.dim, "format_version": FORMAT_VERSION}
        save_safetensors(
            {"centroids": self.centroids.detach().cpu().float().contiguous()},
            path,
            metadata={HEADER_KEY: json.dumps(meta)},
        )


@cache
def shipped_codebooks() -> dict[str, str]:
    """sha256 -> name of the codebooks shipped in ``audiotok/assets``."""
    from importlib import resources

    out = {}
    for f in resources.files("audiotok").joinpath("assets").iterdir():
        if f.name.endswith(".safetensors"):
            out[hashlib.sha256(f.read_bytes()).hexdigest()] = f.name[: -len(".safetensors")]
    return out


def load(path: str | Path) -> Codebook:
    """Load a codebook written by :meth:`Codebook.save` (safetensors; nothing is unpickled)."""
    from safetensors import safe_open

    from audiotok.weights import sha256_file

    p = Path(path)
    if not p.is_file():
        raise AudiotokError(f"codebook {p} does not exist")
    try:
        with safe_open(str(p), framework="pt") as f:
            meta_raw = (f.metadata() or {}).get(HEADER_KEY)
            centroids = f.get_tensor("centroids")
    except Exception as e:  # noqa: BLE001
        why = " ".join(str(e).split())[:200]
        raise AudiotokError(f"{p} is not an audiotok codebook (safetensors): {why}") from None
    try:
        meta = json.loads(meta_raw) if meta_raw else {}
    except (ValueError, RecursionError) as e:
        raise AudiotokError(
            f"{p}: the codebook header is not JSON ({e.__class__.__name__})"
        ) from None
    if not isinstance(meta, dict):
        raise AudiotokError(
            f"{p}: the codebook header is a JSON {type(meta).__name__}, not an object"
        )
    if centroids.ndim != 2 or min(centroids.shape) < 1 or not centroids.is_floating_point():
        raise AudiotokError(
            f"{p}: centroids must be a [k, dim] float tensor, got {centroids.dtype} "
            f"{list(centroids.shape)}"
        )
    centroids = centroids.float()
    if not bool(centroids.isfinite().all()):
        raise AudiotokError(f"{p}: the centroids contain NaN or infinite values")
    return Codebook(centroids, meta, sha256_file(p))
