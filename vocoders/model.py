"""Vocoder: a unit HiFi-GAN (speech-resynthesis / fairseq ``CodeGenerator``) with exact batching.

``decode(units [B, T'], lengths [B], speaker=None, durations=None) -> (wav [B, T], wav_lengths
[B])`` with ``wav_lengths = frames * hop`` and zeros past each length. Units are embedded
(``unit_embed``), speaker and style embeddings are broadcast over time and concatenated along
channels (fairseq ``CodeGenerator._upsample`` + ``torch.cat``), and the HiFi-GAN generator
upsamples by the hop. ``dedup=True`` takes deduplicated units, predicts durations and expands.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from audiotok.errors import AudiotokError
from audiotok.vocoders.config import VocoderConfig
from audiotok.vocoders.duration import DurationPredictor, expand, to_durations
from audiotok.vocoders.generator import HiFiGANGenerator, receptive_radius_frames

SpeakerArg = int | str | list[int] | list[str] | torch.Tensor | None


class Vocoder(nn.Module):
    def __init__(self, config: VocoderConfig):
        super().__init__()
        self.config = c = config
        self.unit_embed = nn.Embedding(c.num_units, c.embedding_dim)
        self.speaker_embed = (
            nn.Embedding(c.num_speakers, c.embedding_dim) if c.num_speakers else None
        )
        self.speaker_proj = nn.Linear(c.speaker_dim, c.embedding_dim) if c.speaker_dim else None
        self.style_embed = nn.Embedding(c.num_styles, c.embedding_dim) if c.num_styles else None
        self.generator = HiFiGANGenerator(
            c.model_in_dim,
            c.upsample_initial_channel,
            c.upsample_rates,
            c.upsample_kernel_sizes,
            c.resblock_kernel_sizes,
            c.resblock_dilation_sizes,
        )
        self.duration = (
            DurationPredictor(
                c.embedding_dim, c.duration_hidden_dim, c.duration_kernel_size, c.duration_dropout
            )
            if c.duration_predictor
            else None
        )

    # --- facts -----------------------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    def frame_rate(self) -> float:
        return self.config.frame_rate

    @property
    def hop_length(self) -> int:
        return self.config.hop_length

    @property
    def device(self) -> torch.device:
        return self.unit_embed.weight.device

    @property
    def context_frames(self) -> int:
        """Frames of units on either side that can reach a frame's audio (a bound: the
        generator's receptive radius); windowed and streaming decodes keep this context."""
        c = self.config
        return receptive_radius_frames(
            c.upsample_rates,
            c.upsample_kernel_sizes,
            c.resblock_kernel_sizes,
            c.resblock_dilation_sizes,
        )

    def check_tokens(self, spec: Any, recipe: dict[str, Any] | None = None) -> None:
        """Raise AudiotokError naming both when tokens of ``spec`` (a TokenSpec; ``recipe`` the
        store's recipe dict) are not the tokens this vocoder was trained on."""
        from audiotok.vocoders.config import check_tokens

        check_tokens(self.config, spec, recipe)

    # --- inputs ----------------------------------------------------------------------------
    def _check_units(self, units: torch.Tensor, lengths: torch.Tensor) -> None:
        if units.numel() == 0:
            return
        valid = torch.arange(units.shape[1], device=units.device)[None] < lengths[:, None]
        bad = units[valid & ((units < 0) | (units >= self.config.num_units))]
        if bad.numel():
            raise AudiotokError(
                f"unit {int(bad[0])} is outside this vocoder's {self.config.num_units} units: "
                "these tokens come from another tokenizer"
            )

    def _table_index(self, value: Any, names: list[str], size: int, what: str, batch: int):
        if isinstance(value, torch.Tensor):
            idx = value.to(self.device).long().reshape(-1)
        else:
            items = value if isinstance(value, list) else [value]
            out = []
            for v in items:
                if isinstance(v, str):
                    if v not in names:
                        known = ", ".join(names[:20]) or "none named"
                        raise AudiotokError(f"unknown {what} {v!r}; this vocoder has: {known}")
                    out.append(names.index(v))
                else:
                    out.append(int(v))
            idx = torch.tensor(out, dtype=torch.long, device=self.device)
        if idx.numel() == 1:
            idx = idx.expand(batch)
        if idx.numel() != batch or (idx < 0).any() or (idx >= size).any():
            raise AudiotokError(f"{what} must be one index in [0, {size}) or one per utterance")
        return idx

    def conditioning(self, speaker: SpeakerArg, style: Any, batch: int) -> list[torch.Tensor]:
        """Embeddings [B, C] to broadcast over time (speaker, then style)."""
        c, out = self.config, []
        if self.speaker_embed is not None:
            if speaker is None:
                raise AudiotokError(
                    f"this vocoder has {c.num_speakers} speakers: pass a speaker "
                    f"({', '.join(c.speakers[:10]) or 'an index'})"
                )
            idx = self._table_index(speaker, c.speakers, c.num_speakers, "speaker", batch)
            out.append(self.speaker_embed(idx))
        elif self.speaker_proj is not None:
            if not isinstance(speaker, torch.Tensor) or speaker.shape[-1] != c.speaker_dim:
                raise AudiotokError(
                    f"this vocoder takes a speaker vector of {c.speaker_dim} values per utterance"
                )
            vec = speaker.to(self.device, torch.float32).reshape(-1, c.speaker_dim)
            out.append(self.speaker_proj(vec.expand(batch, -1) if len(vec) == 1 else vec))
        elif speaker is not None:
            raise AudiotokError("this vocoder has no speakers: leave the speaker out")
        if self.style_embed is not None:
            if style is None:
                raise AudiotokError(
                    f"this vocoder has {c.num_styles} styles: pass a style "
                    f"({', '.join(c.styles[:10]) or 'an index'})"
                )
            out.append(
                self.style_embed(self._table_index(style, c.styles, c.num_styles, "style", batch))
            )
        elif style is not None:
            raise AudiotokError("this vocoder has no styles: leave the style out")
        return out

    # --- model -----------------------------------------------------------------------------
    def forward(
        self,
        units: torch.Tensor,
        lengths: torch.Tensor | None = None,
        speaker: SpeakerArg = None,
        style: Any = None,
    ) -> torch.Tensor:
        """units [B, T'] -> wav [B, 1, T' * hop]; ``lengths`` masks padding (None: all valid)."""
        if lengths is not None:  # padding may hold anything (-1, a pad id): embed unit 0 there
            valid = torch.arange(units.shape[1], device=units.device)[None] < lengths[:, None]
            units = units.masked_fill(~valid.to(units.device), 0)
        x = self.unit_embed(units).transpose(1, 2)  # [B, C, T']
        parts = [x] + [
            e[:, :, None].expand(-1, -1, x.shape[-1])
            for e in self.conditioning(speaker, style, x.shape[0])
        ]
        x = torch.cat(parts, dim=1) if len(parts) > 1 else x
        return self.generator(x, lengths)

    def predict_log_durations(self, units: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.duration is None:
            raise AudiotokError(
                "this vocoder has no duration predictor: decode full-rate units (no --dedup), "
                "or train one with a duration predictor"
            )
        units, lengths = units.long().to(self.device), lengths.to(self.device)
        mask = torch.arange(units.shape[1], device=units.device)[None] < lengths[:, None]
        return self.duration(self.unit_embed(units.masked_fill(~mask, 0)), mask)

    def predict_durations(self, units: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Deduplicated units [B, N] -> durations in frames [B, N] (>= 1; 0 past lengths)."""
        d = to_durations(self.predict_log_durations(units, lengths))
        valid = torch.arange(units.shape[1], device=d.device)[None] < lengths.to(d.device)[:, None]
        return d * valid

    def streaming_decoder(self, lookahead: int | None = None, speaker: Any = None) -> Any:
        """Audio as units arrive, frame ``j`` once frame ``j + lookahead`` is in (default: the
        receptive radius, where it equals ``decode`` to float rounding); see
        :mod:`audiotok.streaming.vocoder`."""
        from audiotok.streaming.vocoder import VocoderStream

        return VocoderStream(self, lookahead, speaker)

    @torch.inference_mode()
    def decode(
        self,
        units: torch.Tensor,
        lengths: torch.Tensor | None = None,
        speaker: SpeakerArg = None,
        durations: torch.Tensor | None = None,
        *,
        style: Any = None,
        dedup: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """units LongTensor [B, T'] (or [T']), lengths [B] -> (wav [B, T], wav_lengths [B]).

        ``durations`` [B, T'] repeats each unit that many frames first; ``dedup=True`` treats
        the units as deduplicated and predicts the durations. Samples past ``wav_lengths``
        are zero. Returns float32 on the vocoder's device.
        """
        if self.training:
            self.eval()
        units = torch.as_tensor(units).long()
        if units.dim() == 1:
            units = units[None]
        if lengths is None:
            lengths = torch.full((units.shape[0],), units.shape[1], dtype=torch.long)
        lengths = torch.as_tensor(lengths).long().reshape(-1)
        if lengths.numel() != units.shape[0] or (lengths > units.shape[1]).any():
            raise AudiotokError("lengths must give one length <= T' per row of units")
        units, lengths = units.to(self.device), lengths.to(self.device)
        self._check_units(units, lengths)
        if dedup and durations is None:
            durations = self.predict_durations(units, lengths)
        if durations is not None:
            units, lengths = expand(units, torch.as_tensor(durations).to(self.device), lengths)
            units, lengths = units.to(self.device), lengths.to(self.device)
        if units.shape[1] == 0:
            return torch.zeros(units.shape[0], 0, device=self.device), lengths * self.hop_length
        wav = self.forward(units, lengths, speaker, style)[:, 0]
        wav_lengths = lengths * self.hop_length
        keep = torch.arange(wav.shape[-1], device=wav.device)[None] < wav_lengths[:, None]
        return wav * keep, wav_lengths
