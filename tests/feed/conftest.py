"""A real token store made once for the feed tests, with the CLI (mfcc-km100, K = 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from audio_fixtures import speechlike


@pytest.fixture(scope="session")
def cli_store(tmp_path_factory) -> Path:
    """``audiotok encode corpus/ -o tokens/ --num-workers 0 -q`` over 12 synthetic files."""
    from audiotok.cli.app import main

    root = tmp_path_factory.mktemp("feed_corpus")
    for i in range(12):
        spk = f"spk{i % 3}"
        (root / "corpus" / spk).mkdir(parents=True, exist_ok=True)
        sf.write(root / "corpus" / spk / f"u{i:02d}.wav", speechlike(0.4 + 0.1 * i, seed=i), 16000)
    out = root / "tokens"
    with pytest.raises(SystemExit) as e:
        main(["encode", str(root / "corpus"), "-o", str(out), "--num-workers", "0", "-q"])
    assert e.value.code == 0
    return out
