import numpy as np
import pytest
import soundfile as sf

from audiotok import audio
from audiotok.errors import AudioError

from audio_fixtures import BAD, speechlike


def test_reads_valid_unusual_files_as_mono_float32_at_target_rate(bad_corpus):
    for name, sr in [
        ("six_channels.wav", 16000),
        ("rate_8k.wav", 8000),
        ("rate_48k.wav", 48000),
        ("float.wav", 16000),
        ("lossless.flac", 16000),
        ("silent.wav", 16000),
    ]:
        x = audio.read(str(bad_corpus / name), 16000)
        assert x.dtype == np.float32 and x.ndim == 1
        assert len(x) == audio.resampled_length(sf.info(bad_corpus / name).frames, sr, 16000)
        assert np.isfinite(x).all()


def test_downmix_is_the_channel_mean(tmp_path):
    a, b = speechlike(0.5, seed=1), speechlike(0.5, seed=2)
    sf.write(tmp_path / "st.wav", np.stack([a, b], 1), 16000, subtype="FLOAT")
    np.testing.assert_allclose(audio.read(str(tmp_path / "st.wav")), (a + b) / 2, atol=1e-7)


def test_resampling_keeps_a_tone(tmp_path):
    t = np.arange(48000) / 48000
    sf.write(tmp_path / "tone.wav", 0.5 * np.sin(2 * np.pi * 440 * t), 48000, subtype="FLOAT")
    x = audio.read(str(tmp_path / "tone.wav"), 16000)
    spec = np.abs(np.fft.rfft(x[1000:-1000]))
    peak_hz = np.argmax(spec) * 16000 / len(x[1000:-1000])
    assert abs(peak_hz - 440) < 2


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_raise_a_reason(bad_corpus, name):
    path = next(bad_corpus.glob(f"{name}.*"))
    with pytest.raises(AudioError) as e:
        audio.read(str(path), 16000)
    assert e.value.path == str(path) and len(e.value.reason) > 5


def test_reasons_say_what_is_wrong(bad_corpus):
    reasons = {}
    for name in BAD:
        try:
            audio.read(str(next(bad_corpus.glob(f"{name}.*"))))
        except AudioError as e:
            reasons[name] = e.reason
    assert "empty" in reasons["empty"]
    assert "truncated" in reasons["truncated"]
    assert "NaN" in reasons["nan"]
    assert "not readable as audio" in reasons["text"]
    assert "0 frames" in reasons["zero_length"]


def test_streamed_wav_with_unknown_riff_size_is_accepted(tmp_path):
    sf.write(tmp_path / "s.wav", speechlike(0.3), 16000)
    raw = bytearray((tmp_path / "s.wav").read_bytes())
    raw[4:8] = (0xFFFFFFFF).to_bytes(4, "little")
    (tmp_path / "s.wav").write_bytes(bytes(raw))
    assert len(audio.read(str(tmp_path / "s.wav"))) == int(0.3 * 16000)
