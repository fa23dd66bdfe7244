"""A real token store made once for the feed tests, with the CLI (mfcc-km100, K = 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from audio_fixtures import speechlike


@pytest.fixture(scope="session")
def cli_store(tmp_path_factory) -> Path:
    """``audiotok encode corpus/ -o tokens/ --num-workers 0 -q`` over 30 synthetic files
    (0.5 to 1.95 s, 36.8 s in all: enough units for the unit-LM example to learn from)."""
    from audiotok.cli.app import main

    root = tmp_path_factory.mktemp("feed_corpus")
    for i in range(30):
        spk = f"spk{i % 3}"
        (root / "corpus" / spk).mkdir(parents=True, exist_ok=True)
        sf.write(root / "corpus" / spk / f"u{i:02d}.wav", speechlike(0.5 + 0.05 * i, seed=i), 16000)
    out = root / "tokens"
    with pytest.raises(SystemExit) as e:
        main(["encode", str(root / "corpus"), "-o", str(out), "--num-workers", "0", "-q"])
    assert e.value.code == 0
    return out
