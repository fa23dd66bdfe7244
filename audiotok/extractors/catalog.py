"""Registry entries of feature extractors (no torch imported here)."""

from audiotok.registry import ModelEntry, register

register(
    ModelEntry(
        name="mfcc",
        kind="extractor",
        builder="audiotok.extractors.mfcc:build",
        description="13 MFCC + deltas + delta-deltas (39 dims), Kaldi-style, as HuBERT iteration 1",
        source="computed (torchaudio.compliance.kaldi.mfcc); no weights",
        license="n/a",
        sample_rate=16000,
        frame_rate=100.0,
        shipped=True,
    )
)
