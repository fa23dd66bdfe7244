"""A k-means codebook: centroids in safetensors, a JSON header in the file's metadata.

Header fields: k, dim, extractor, layer, extractor_sha256 (the features it was trained on),
frame_rate, normalize ("none" | "l2"), spherical, init, seed, niter, nredo, backend,
num_samples, inertia, usage (frames per unit on the training sample), format_version. Applying a
codebook to features of another extractor or layer is an error that names both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
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

    def check_features(self, extractor: str, layer: int | None) -> None:
        want_x, want_l = self.meta.get("extractor"), self.meta.get("layer")
        if want_x and (want_x != extractor or want_l != layer):
            raise SpecMismatchError(
                f"this codebook was trained on features of {want_x!r} layer {want_l}, "
                f"but is being applied to features of {extractor!r} layer {layer}"
            )

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
        from safetensors.torch import save_file

        meta = {**self.meta, "k": self.k, "dim": self.dim, "format_version": FORMAT_VERSION}
        save_file(
            {"centroids": self.centroids.detach().cpu().float().contiguous()},
            str(path),
            metadata={HEADER_KEY: json.dumps(meta)},
        )


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
        raise AudiotokError(f"{p} is not an audiotok codebook (safetensors): {e}") from None
    meta = json.loads(meta_raw) if meta_raw else {}
    return Codebook(centroids.float(), meta, sha256_file(p))
