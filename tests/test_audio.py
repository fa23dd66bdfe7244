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


# --- hardening (issue 8): compressed lengths, soxr resampling, layouts, streaming ---------

RATE_PAIRS = [
    (a, b)
    for a in (8000, 11025, 12000, 16000, 22050, 24000, 44100, 48000, 7999)
    for b in (8000, 16000, 22050, 24000, 44100, 48000)
    if a != b
]


def _sox_mp3(tmp_path, name, x, sr):
    """An MP3 written by sox (libmp3lame), the files the issue saw rejected."""
    import shutil
    import subprocess

    if shutil.which("sox") is None:
        pytest.skip("sox is not installed: apt-get install sox libsox-fmt-mp3")
    wav = tmp_path / f"{name}.wav"
    sf.write(wav, x, sr)
    mp3 = tmp_path / f"{name}.mp3"
    r = subprocess.run(["sox", str(wav), str(mp3)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"this sox cannot write MP3 ({r.stderr.strip()[:80]}): libsox-fmt-mp3")
    return mp3


@pytest.mark.parametrize("sr", [22050, 44100])
def test_sox_mp3_is_read_whole_not_called_truncated(tmp_path, sr):
    x = speechlike(1.87, sr, seed=3)
    mp3 = _sox_mp3(tmp_path, f"s{sr}", x, sr)
    decoded, _ = sf.read(mp3, dtype="float32")
    # the situation of the issue: libsndfile's estimate exceeds what decodes
    assert sf.info(mp3).frames > len(decoded)
    y = audio.read(str(mp3), 16000)
    assert len(y) == audio.resampled_length(len(decoded), sr, 16000)
    assert len(y) >= int(1.87 * 16000)  # the whole signal (MP3 adds encoder delay/padding)


def test_a_cut_flac_is_still_called_truncated(tmp_path):
    """FLAC states its length exactly (STREAMINFO): fewer decoded frames are a cut file."""
    sf.write(tmp_path / "a.flac", speechlike(2.0, 16000), 16000)
    raw = (tmp_path / "a.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(AudioError, match="truncated|corrupt"):
        audio.read(str(tmp_path / "cut.flac"), 16000)


def test_resampled_length_is_the_length_soxr_returns():
    import soxr

    rng = np.random.default_rng(0)
    for a, b in RATE_PAIRS:
        lengths = [1, 2, 3, 7, 160, 441, 48260, a, a + 1, *rng.integers(1, 40000, 4).tolist()]
        for n in lengths:
            got = len(soxr.resample(np.zeros(n, np.float32), a, b, quality="HQ"))
            assert audio.resampled_length(n, a, b) == got, (a, b, n)
            assert len(audio.resample(np.zeros(n, np.float32), a, b)) == got


def test_a_tie_rounds_as_libsoxr_does():
    # 48260 * 44100 / 12000 = 177355.5 exactly; libsoxr's double arithmetic gives 177355
    assert audio.resampled_length(48260, 12000, 44100) == 177355


def test_reading_and_resampling_do_not_import_torch(tmp_path):
    import subprocess
    import sys

    sf.write(tmp_path / "a.wav", speechlike(0.5, 44100), 44100)
    code = (
        "import sys; from audiotok import audio; "
        f"x = audio.read({str(tmp_path / 'a.wav')!r}, 16000); "
        f"b = list(audio.read_blocks({str(tmp_path / 'a.wav')!r}, 16000, 0.1)); "
        "print(len(x), 'torch' in sys.modules)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(audio.resampled_length(22050, 44100, 16000)), "False"]


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_library_input_gives_the_samples_the_cli_reads(tmp_path, channels):
    """to_mono_tensor (Tokenizer.encode) and read() (the CLI) share downmix and resampler."""
    x = np.stack([speechlike(0.7, 22050, seed=c) for c in range(channels)], axis=1)
    sf.write(tmp_path / "a.wav", x, 22050, subtype="FLOAT")
    data, sr = sf.read(tmp_path / "a.wav", dtype="float32", always_2d=True)
    want = audio.read(str(tmp_path / "a.wav"), 16000)
    for layout in (data, data.T):  # soundfile's [T, C] and the [C, T] of torch
        got = audio.to_mono_tensor(layout, sr, 16000).numpy()
        np.testing.assert_array_equal(got, want)


def test_to_mono_tensor_layouts_and_refusals():
    import torch

    x = speechlike(0.1, 16000)
    tc = np.stack([x, 0.5 * x], axis=1)  # [T, 2]
    for wav in (tc, tc.T, torch.from_numpy(tc), torch.from_numpy(np.ascontiguousarray(tc.T))):
        y = audio.to_mono_tensor(wav, 16000, 16000)
        assert y.shape == (len(x),) and torch.allclose(y, torch.from_numpy(0.75 * x), atol=1e-7)
    for bad in (np.zeros((4, 4)), np.zeros((100, 200)), np.zeros((9, 5000)).T[:, :0]):
        with pytest.raises(ValueError, match="ambiguous|empty"):
            audio.to_mono_tensor(bad, 16000, 16000)
    with pytest.raises(ValueError, match="empty"):
        audio.to_mono_tensor(np.zeros(0, np.float32), 16000, 16000)
    with pytest.raises(ValueError, match="NaN"):
        audio.to_mono_tensor(np.full(10, np.nan), 16000, 16000)


@pytest.mark.parametrize(
    ("sr", "target", "block_s"), [(44100, 16000, 0.25), (22050, 16000, 1.0), (16000, 16000, 0.3)]
)
def test_read_blocks_concatenates_to_read(tmp_path, sr, target, block_s):
    """Tolerance: 1e-6 absolute (float32 rounding); libsoxr's stream is its one-shot filter."""
    x = np.stack([speechlike(2.3, sr, seed=1), speechlike(2.3, sr, seed=2)], axis=1)
    sf.write(tmp_path / "a.flac", x, sr)
    whole = audio.read(str(tmp_path / "a.flac"), target)
    blocks = list(audio.read_blocks(str(tmp_path / "a.flac"), target, block_s))
    assert len(blocks) >= int(2.3 / block_s) - 1 and all(b.dtype == np.float32 for b in blocks)
    streamed = np.concatenate(blocks)
    assert len(streamed) == len(whole)
    np.testing.assert_allclose(streamed, whole, rtol=0, atol=1e-6)


def test_read_blocks_of_a_sox_mp3_equals_read(tmp_path):
    """sf.blocks would pad the last block with stale samples up to the estimated length."""
    mp3 = _sox_mp3(tmp_path, "m", speechlike(1.5, 22050, seed=4), 22050)
    whole = audio.read(str(mp3), 16000)
    streamed = np.concatenate(list(audio.read_blocks(str(mp3), 16000, 0.2)))
    assert len(streamed) == len(whole)
    np.testing.assert_allclose(streamed, whole, rtol=0, atol=1e-6)


def test_read_blocks_raises_the_reasons_of_read(bad_corpus):
    for name, words in [("truncated", "truncated"), ("nan", "NaN"), ("empty", "empty")]:
        path = str(next(bad_corpus.glob(f"{name}.*")))
        with pytest.raises(AudioError, match=words):
            list(audio.read_blocks(path, 16000, 0.1))
