"""The Tokenizer contract shared by semantic, acoustic and hybrid tokenizers.

``encode_batch(wav[B, 1, T], lengths[B]) -> (codes LongTensor[B, K, T'], code_lengths[B])``.
Codes past ``code_lengths[b]`` are padding and meaningless. ``batch_exact`` says whether a
padded batch gives exactly the codes of each file alone; the engine batches only equal
lengths for tokenizers where it does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audiotok.spec import TokenSpec

if TYPE_CHECKING:
    import torch


class Tokenizer:
    spec: TokenSpec
    batch_exact: bool = True
    device: str = "cpu"
    # Files longer than this go one by one through encode_long (None: always encode_batch).
    long_window_seconds: float | None = None
    weights_path: str = ""  # the weights file used, recorded in the store for `decode`
    recipe: Any = None  # audiotok.recipe.TokenizerConfig, set by audiotok.load

    def recipe_options(self) -> dict[str, Any]:
        """The effective value of every option that changes the tokens (see audiotok.recipe)."""
        return {"weights": self.weights_path} if self.weights_path else {}

    # --- facts -----------------------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return self.spec.sample_rate

    @property
    def frame_rate(self) -> float:
        return self.spec.frame_rate

    @property
    def num_codebooks(self) -> int:
        return self.spec.num_codebooks

    @property
    def codebook_size(self) -> int:
        return self.spec.codebook_size

    def num_frames(self, num_samples: int) -> int:
        """Frames produced for ``num_samples`` samples at ``sample_rate`` (the model's rule)."""
        raise NotImplementedError

    # --- work ------------------------------------------------------------------------------
    def encode_batch(
        self, wav: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def encode_long(self, wav: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One long file wav[1, 1, T] -> (codes[1, K, T'], code_lengths[1]).

        Models override this to cut overlapping windows whose codes are stitched to equal the
        whole-file codes; memory is then bounded by the window, not by the file.
        """
        import torch

        return self.encode_batch(wav, torch.tensor([wav.shape[-1]]))

    def decode_batch(
        self, codes: torch.Tensor, code_lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """codes[B, K, T'] -> (wav[B, 1, T], sample lengths[B])."""
        raise NotImplementedError(
            f"{self.spec.kind} tokens of '{self.spec.name}' cannot be decoded to audio by the "
            "tokenizer itself; semantic units need a unit vocoder (audiotok.vocoders)"
        )

    def to(self, device: str) -> Tokenizer:
        self.device = device
        return self

    # --- streaming (audiotok.streaming) -----------------------------------------------------
    # Why this model cannot stream; causal models override streaming_encoder/_decoder.
    not_streamable_reason: str = "it is not causal: every frame depends on audio after it"

    def streaming_encoder(self) -> Any:
        """``enc.push(chunk) -> codes`` of the frames completed so far, ``enc.flush()``; the
        concatenation equals ``encode`` (audiotok.streaming.stream)."""
        from audiotok.errors import NotStreamableError

        raise NotStreamableError(f"'{self.spec.name}' cannot stream: {self.not_streamable_reason}")

    def streaming_decoder(self) -> Any:
        """``dec.push(codes) -> audio`` those frames complete, ``dec.flush()``."""
        from audiotok.errors import NotStreamableError

        raise NotStreamableError(f"'{self.spec.name}' cannot stream: {self.not_streamable_reason}")

    def encode(self, wav: Any, sample_rate: int) -> torch.Tensor:
        """One waveform (numpy or torch, [T] or [channels, T], any rate) -> codes.

        Returns LongTensor [T'] for single-codebook tokenizers, [K, T'] otherwise.
        """
        import torch

        from audiotok.audio import to_mono_tensor

        x = to_mono_tensor(wav, sample_rate, self.sample_rate)
        lengths = torch.tensor([x.shape[-1]])
        with torch.inference_mode():
            codes, code_lengths = self.encode_batch(x.view(1, 1, -1).to(self.device), lengths)
        out = codes[0, :, : int(code_lengths[0])].cpu()
        return out[0] if self.num_codebooks == 1 else out

    def decode(self, codes: Any) -> torch.Tensor:
        """codes [T'] or [K, T'] -> mono waveform [T] at ``sample_rate``."""
        import torch

        c = torch.as_tensor(codes, dtype=torch.long)
        if c.dim() == 1:
            c = c.unsqueeze(0)
        with torch.inference_mode():
            wav, lengths = self.decode_batch(
                c.unsqueeze(0).to(self.device), torch.tensor([c.shape[-1]])
            )
        return wav[0, 0, : int(lengths[0])].cpu()


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when torch sees a GPU, else 'cpu'; a 'cuda' request without one errors."""
    import torch

    from audiotok.errors import AudiotokError

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise AudiotokError("--device cuda was asked for, but torch sees no GPU; use --device cpu")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise AudiotokError(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N")
    return device
