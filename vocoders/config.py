"""VocoderConfig: what a unit vocoder is, saved as ``config.json`` beside ``model.safetensors``.

The upsampling of the HiFi-GAN generator is derived from the rates, not typed: the hop is
``sample_rate / frame_rate`` samples per unit and must be an integer; it is factorised into
stage rates (odd primes first, then 4s, ending in one 2 or two 2s), so 16 kHz units at 50 Hz
(hop 320) get 5 x 4 x 4 x 2 x 2 (speech-resynthesis' ``upsample_rates``), 25 Hz (640)
5 x 4 x 4 x 4 x 2 and 100 Hz (160) 5 x 4 x 4 x 2. A transposed conv of rate ``u`` has kernel
``2u`` (even ``u``) or ``2u + 1`` (odd) and padding ``(k - u) / 2``, so each stage multiplies
the length exactly by ``u`` (speech-resynthesis: rates 5, 4, 2 with kernels 11, 8, 4).
Imported vocoders keep their own rates and kernels; they are checked against the hop.
No torch here: the CLI reads configs without loading models.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError
from audiotok.jsonfields import check_fields

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT = "audiotok-vocoder"
ODD_PRIMES = (7, 5, 3)


def hop_length(sample_rate: int, frame_rate: float) -> int:
    hop = sample_rate / frame_rate if frame_rate > 0 else 0.0
    if frame_rate <= 0 or abs(hop - round(hop)) > 1e-6 or round(hop) < 2:
        raise AudiotokError(
            f"units at {frame_rate:g} Hz cannot drive a vocoder at {sample_rate} Hz: the hop "
            f"{sample_rate}/{frame_rate:g} = {hop:g} samples must be an integer >= 2"
        )
    return int(round(hop))


def derive_upsample_rates(hop: int) -> tuple[int, ...]:
    """Stage rates whose product is ``hop`` (see the module docstring)."""
    rest, rates = hop, []
    for p in ODD_PRIMES:
        while rest % p == 0:
            rates.append(p)
            rest //= p
    twos = 0
    while rest % 2 == 0:
        twos += 1
        rest //= 2
    if rest != 1:
        raise AudiotokError(
            f"hop {hop} has the prime factor {rest if _is_prime(rest) else _smallest(rest)}: "
            "upsampling stages use rates made of 2, 3, 5 and 7; choose a sample rate and "
            "frame rate whose ratio factors into those"
        )
    if twos == 2:
        rates.append(4)
    elif twos:
        tail = [2] if twos % 2 else [2, 2]
        rates += [4] * ((twos - len(tail)) // 2) + tail
    return tuple(rates)


def _smallest(n: int) -> int:
    return next(p for p in range(3, n + 1, 2) if n % p == 0)


def _is_prime(n: int) -> bool:
    return n > 1 and all(n % p for p in range(2, int(math.isqrt(n)) + 1))


def kernel_for(rate: int) -> int:
    return 2 * rate if rate % 2 == 0 else 2 * rate + 1


@dataclass
class VocoderConfig:
    """A unit HiFi-GAN. Shapes: units ``[B, T']`` in ``[0, num_units)`` -> waveform
    ``[B, T' * hop]`` at ``sample_rate``.

    Conditioning, concatenated to the unit embedding along channels before ``conv_pre``
    (fairseq ``CodeGenerator``): a speaker table (``num_speakers`` > 0) or an external speaker
    vector of ``speaker_dim`` through a Linear layer (exclusive), and a style table
    (``num_styles``, textlesslib's Expresso vocoders). ``speakers``/``styles`` name the rows.
    ``duration_predictor``: a VariancePredictor over unit embeddings for deduplicated units.
    ``tokenizer``: the recipe (``TokenizerConfig.to_dict()``) of the tokens it was trained on,
    ``tokens``: their spec identity (name, kind, rates, codebook size, params with
    ``codebook_sha256``), ``codebook_sha256``: the codebook's sha256 ("" when unknown).
    """

    num_units: int
    sample_rate: int = 16000
    frame_rate: float = 50.0
    embedding_dim: int = 128
    upsample_initial_channel: int = 512
    upsample_rates: tuple[int, ...] = ()
    upsample_kernel_sizes: tuple[int, ...] = ()
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    num_speakers: int = 0
    speaker_dim: int = 0
    num_styles: int = 0
    speakers: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    duration_predictor: bool = False
    duration_hidden_dim: int = 128
    duration_kernel_size: int = 3
    duration_dropout: float = 0.5
    tokenizer: dict[str, Any] | None = None
    tokens: dict[str, Any] = field(default_factory=dict)
    codebook_sha256: str = ""
    source: str = ""  # where the weights came from: "audiotok vocoder train", a URL, a file

    def __post_init__(self) -> None:
        self.upsample_rates = tuple(int(r) for r in self.upsample_rates)
        self.upsample_kernel_sizes = tuple(int(k) for k in self.upsample_kernel_sizes)
        self.resblock_kernel_sizes = tuple(int(k) for k in self.resblock_kernel_sizes)
        self.resblock_dilation_sizes = tuple(
            tuple(int(d) for d in ds) for ds in self.resblock_dilation_sizes
        )
        hop = self.hop_length
        if not self.upsample_rates:
            self.upsample_rates = derive_upsample_rates(hop)
        if math.prod(self.upsample_rates) != hop:
            raise AudiotokError(
                f"upsample rates {list(self.upsample_rates)} multiply to "
                f"{math.prod(self.upsample_rates)}, but {self.sample_rate} Hz audio from "
                f"{self.frame_rate:g} Hz units needs a hop of {hop}"
            )
        if not self.upsample_kernel_sizes:
            self.upsample_kernel_sizes = tuple(kernel_for(r) for r in self.upsample_rates)
        for r, k in zip(self.upsample_rates, self.upsample_kernel_sizes, strict=True):
            if (k - r) % 2 or k < r:
                raise AudiotokError(f"upsample kernel {k} cannot upsample exactly by {r}")
        if self.upsample_initial_channel // 2 ** len(self.upsample_rates) < 1:
            raise AudiotokError(
                f"upsample_initial_channel {self.upsample_initial_channel} halves below one "
                f"channel over {len(self.upsample_rates)} stages: use at least "
                f"{2 ** len(self.upsample_rates)}"
            )
        if self.num_speakers and self.speaker_dim:
            raise AudiotokError("a vocoder has a speaker table or a speaker vector, not both")
        if len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes):
            raise AudiotokError("resblock kernel and dilation lists differ in length")
        if self.duration_kernel_size % 2 == 0:
            raise AudiotokError("duration_kernel_size must be odd")

    @property
    def hop_length(self) -> int:
        return hop_length(self.sample_rate, self.frame_rate)

    @property
    def model_in_dim(self) -> int:
        """Channels into conv_pre: units + speaker + style embeddings."""
        n = 1 + bool(self.num_speakers or self.speaker_dim) + bool(self.num_styles)
        return self.embedding_dim * n

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {"format": FORMAT, **d}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VocoderConfig:
        if d.get("format") != FORMAT:
            raise AudiotokError(
                f'not an audiotok vocoder config: field "format" is {d.get("format")!r}, '
                f"not {FORMAT!r}"
            )
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names - {"format"}
        if unknown:
            raise AudiotokError(
                f"vocoder config has unknown fields {sorted(unknown)}: written by a newer audiotok?"
            )
        check_fields(cls, d, "vocoder config")
        return cls(**{k: v for k, v in d.items() if k in names})

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / CONFIG_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return path

    @classmethod
    def load(cls, directory: str | Path) -> VocoderConfig:
        path = Path(directory)
        path = path / CONFIG_FILE if path.is_dir() else path
        try:
            d = json.loads(path.read_bytes().decode("utf-8"))
        except (OSError, ValueError, RecursionError) as e:  # ValueError: JSON, UTF-8
            why = " ".join(str(e).split())[:200] or type(e).__name__
            raise AudiotokError(f"cannot read vocoder config {path}: {why}") from None
        if not isinstance(d, dict):
            raise AudiotokError(f"{path}: a vocoder config is a JSON object")
        try:
            return cls.from_dict(d)
        except AudiotokError as e:  # one line, whatever strings the config holds
            raise AudiotokError(f"{path}: {' '.join(str(e).split())}") from None
        except (ValueError, TypeError, ArithmeticError) as e:  # lists of unequal lengths...
            why = " ".join(str(e).split())[:200]
            raise AudiotokError(f"{path} is not a usable vocoder config ({why})") from None


def spec_identity(spec: Any) -> dict[str, Any]:
    """The fields of a TokenSpec that make two token streams the same vocabulary and timing."""
    d = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)
    keys = ("kind", "name", "sample_rate", "frame_rate", "num_codebooks", "codebook_size")
    out = {k: d.get(k) for k in keys}
    out.update(layer=d.get("layer"), weights_sha256=d.get("weights_sha256", ""))
    out["params"] = dict(d.get("params") or {})
    return out


def _recipe_diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    from audiotok.recipe import NOT_IDENTITY

    out = []
    if a.get("name") != b.get("name"):
        out.append(f"model {a.get('name')!r} != {b.get('name')!r}")
    oa, ob = a.get("options") or {}, b.get("options") or {}
    for key in sorted(set(oa) | set(ob)):
        if key not in NOT_IDENTITY and oa.get(key) != ob.get(key):
            out.append(f"{key} {oa.get(key)!r} != {ob.get(key)!r}")
    return out


def check_tokens(config: VocoderConfig, spec: Any, recipe: dict[str, Any] | None = None) -> None:
    """Raise AudiotokError when tokens of ``spec`` (a TokenSpec; ``recipe`` the store's
    ``TokenizerConfig.to_dict()``) are not the tokens ``config``'s vocoder was trained on.

    Compared: single codebook, unit count and frame rate always; the codebook sha256, the spec
    identity (extractor, layer, weights sha256, params) and the recipe where both sides record
    them (imported vocoders record neither, so only the first checks apply to them).
    """
    ident = spec_identity(spec)
    problems = []
    if ident["num_codebooks"] != 1:
        problems.append(f"{ident['num_codebooks']} codebooks (a unit vocoder decodes one)")
    if ident["codebook_size"] != config.num_units:
        problems.append(f"{ident['codebook_size']} units != {config.num_units}")
    if abs(float(ident["frame_rate"]) - config.frame_rate) > 1e-6:
        problems.append(f"{ident['frame_rate']:g} Hz != {config.frame_rate:g} Hz")
    store_sha = ident["params"].get("codebook_sha256", "")
    if config.codebook_sha256 and store_sha and store_sha != config.codebook_sha256:
        problems.append(f"codebook sha256 {store_sha[:12]}... != {config.codebook_sha256[:12]}...")
    if config.tokens:
        for key in ("kind", "name", "layer", "weights_sha256", "params"):
            if key in config.tokens and config.tokens[key] != ident[key]:
                problems.append(f"{key} {ident[key]!r} != {config.tokens[key]!r}")
    if config.tokenizer and recipe:
        problems += [f"recipe {d}" for d in _recipe_diff(recipe, config.tokenizer)]
    if problems:
        trained = config.tokens.get("name") or (config.tokenizer or {}).get("name") or "?"
        raise AudiotokError(
            f"these tokens ({ident['name']}, codebook sha256 {store_sha[:12] or 'unknown'}) "
            f"are not the tokens this vocoder was trained on ({trained}, codebook sha256 "
            f"{config.codebook_sha256[:12] or 'unknown'}): {'; '.join(dict.fromkeys(problems))}. "
            "Use the vocoder trained on these tokens, or train one (audiotok vocoder train)"
        )
