"""HTML reports: the folder is self-contained, examples are the right files, audio plays.

The browser tests open the pages in headless Chromium through the DevTools protocol
(``report_browser``): no console error, no exception, no failed resource load, every image
decoded, every audio element loaded, and clicking a header sorts the table. Where Chromium is
missing they are skipped with the apt line that installs it.
"""

from __future__ import annotations

import html.parser
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from report_browser import Browser, chromium

from audiotok.errors import AudiotokError
from audiotok.report import write_report
from audiotok.report.build import pick_examples

from audio_fixtures import speechlike

NO_CHROMIUM = "chromium is not installed: apt-get install -y --no-install-recommends chromium"


class Refs(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.refs.append((tag, value))


def refs_of(index: Path) -> list[tuple[str, str]]:
    p = Refs()
    p.feed(index.read_text())
    return p.refs


def synthetic_report(tmp_path: Path, **over) -> Path:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    files = []
    for i in range(6):
        x = speechlike(0.5 + 0.2 * i, 16000, seed=i)
        sf.write(src / f"u{i}.wav", x, 16000)
        noise = np.random.default_rng(i).standard_normal(len(x)).astype(np.float32)
        files.append(
            {
                "id": f"spk/u{i}",
                "pesq": 4.0 - 0.4 * ((i * 7) % 6),  # best u0, worst u5 (i*7%6 = i)
                "mel_distance": 0.1 * i,
                "ref_wav_path": src / f"u{i}.wav",
                "dec_wav_path": (x + 0.01 * (i + 1) * noise, 16000),
            }
        )
    args = dict(
        title="eval roundtrip: test codec",
        recipe={"name": "encodec-24khz", "options": {"n_codebooks": 2}},
        bitrate_bps=1500.0,
        summary={"pesq": {"mean": 3.0, "std": 0.5}, "files": 6},
        files=files,
        sample_metric="pesq",
        unit_usage={"codebook 1": [5, 0, 3, 9], "codebook 2": [1, 1, 1, 1]},
        pnmi={"per_codebook": [0.4, 0.1], "per_prefix": [0.4, 0.45]},
        extra_tables={"per speaker": [{"speaker": "spk", "pesq": 3.0}]},
    )
    args.update(over)
    return write_report(tmp_path / "report", **args)


def test_pick_examples_best_median_worst():
    rows = [
        {"id": str(i), "m": float(v), "ref_wav_path": "x"} for i, v in enumerate([3, 1, 5, 2, 4])
    ]
    rows.append({"id": "no-audio", "m": 99.0})
    assert [(lab, r["id"]) for lab, r in pick_examples(rows, "m")] == [
        ("best", "2"),
        ("median", "0"),
        ("worst", "1"),
    ]
    low = pick_examples(rows, "m", higher_is_better=False)
    assert [r["id"] for _, r in low] == ["1", "0", "2"]
    assert [lab for lab, _ in pick_examples(rows[:1], "m")] == ["best"]  # no duplicates
    as_numpy = [{**r, "m": np.float32(r["m"])} for r in rows]  # metrics fresh from numpy
    assert [r["id"] for _, r in pick_examples(as_numpy, "m")] == ["2", "0", "1"]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    return synthetic_report(tmp)


def test_folder_is_self_contained(report):
    index = report
    root = index.parent
    tmp_path = root.parent
    text = index.read_text()
    refs = refs_of(index)
    assert "http://" not in text and "https://" not in text
    local = [v for _, v in refs if not v.startswith(("#", "data:"))]
    assert local, "the page references no files"
    for v in local:
        assert (root / v).is_file(), v
    imgs = [v for t, v in refs if t == "img"]
    audios = [v for t, v in refs if t == "audio"]
    assert len(imgs) == 3 + 2 + 1  # 3 example spectrograms, 2 usage histograms, PNMI
    assert len(audios) == 6  # reference and decoded of best, median, worst
    # examples: best u0, median u2, worst u5 by pesq; written in that order
    assert [Path(a).name.split("-", 1)[1] for a in audios[::2]] == [
        "spk_u0-ref.wav",
        "spk_u2-ref.wav",
        "spk_u5-ref.wav",
    ]
    dec = sf.info(str(root / audios[1]))
    assert dec.subtype == "PCM_16" and dec.samplerate == 16000
    ref = sf.read(str(root / audios[0]))[0]
    assert np.array_equal(ref, sf.read(str(tmp_path / "src" / "u0.wav"))[0])  # copied as is
    assert "audiotok " in text and "1500.0 bit/s" in text and "n_codebooks" in text
    assert 'class="sortable"' in text and "per speaker" in text


def test_long_audio_is_clipped_and_bad_input_refused(tmp_path):
    x = speechlike(3.0, 8000, seed=1)
    sf.write(tmp_path / "long.flac", x, 8000)
    files = [{"id": "a", "score": 1.0, "ref_wav_path": tmp_path / "long.flac"}]
    index = write_report(
        tmp_path / "r", title="t", files=files, sample_metric="score", max_audio_seconds=1.0
    )
    (audio,) = [v for t, v in refs_of(index) if t == "audio"]
    info = sf.info(str(index.parent / audio))
    assert audio.endswith(".wav") and info.frames == 8000  # first second, as 16-bit wav
    with pytest.raises(AudiotokError, match="sample_metric 'nope'"):
        write_report(tmp_path / "r", title="t", files=files, sample_metric="nope")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(AudiotokError, match="not empty"):
        write_report(tmp_path / "mine", title="t")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    again = write_report(tmp_path / "r", title="again")  # a previous report is replaced
    assert "again" in again.read_text() and not any((again.parent / "audio").iterdir())


CHECK_PAGE = """(() => {
  const imgs = Array.from(document.images);
  const audios = Array.from(document.querySelectorAll("audio"));
  const table = document.querySelector("#files ~ div table.sortable");
  const col = Array.from(table.tHead.rows[0].cells).findIndex(th => th.textContent === "%s");
  const first = () => Array.from(table.tBodies[0].rows).map(r => r.cells[0].textContent);
  const before = first();
  table.tHead.rows[0].cells[col].click();
  const asc = first();
  table.tHead.rows[0].cells[col].click();
  const desc = first();
  return {images: imgs.length, decoded: imgs.every(i => i.complete && i.naturalWidth > 0),
          audios: audios.length, audio_ok: audios.every(a => !a.error && a.readyState >= 1),
          before, asc, desc};
})()"""


@pytest.fixture(scope="module")
def browser():
    if chromium() is None:
        pytest.skip(NO_CHROMIUM)
    with Browser() as b:
        yield b


def test_checker_sees_console_errors_exceptions_and_missing_files(tmp_path, browser):
    page = tmp_path / "bad.html"
    page.write_text(
        "<!doctype html><title>bad</title><p>x</p><img src='missing.png'>"
        "<script>console.error('deliberate'); notDefined();</script>"
    )
    res = browser.load(page)
    assert res.loaded
    joined = "\n".join(res.errors)
    assert "console error: deliberate" in joined
    assert "ReferenceError" in joined and "notDefined" in joined
    assert "missing.png" in joined
    good = tmp_path / "good.html"
    good.write_text("<!doctype html><title>good</title><script>console.log('fine')</script>")
    res = browser.load(good)
    assert res.loaded and res.errors == [] and res.console == ["log: fine"]


def test_report_opens_cleanly_in_chromium(report, browser):
    shot = report.parent.parent / "screenshot.png"
    res = browser.load(report, screenshot=shot, expression=CHECK_PAGE % "pesq")
    assert res.loaded and res.errors == []
    v = res.value
    assert v["images"] == 6 and v["decoded"] and v["audios"] == 6 and v["audio_ok"], v
    by_pesq = ["spk/u5", "spk/u4", "spk/u3", "spk/u2", "spk/u1", "spk/u0"]  # ascending
    assert v["before"] == [f"spk/u{i}" for i in range(6)]
    assert v["asc"] == by_pesq and v["desc"] == by_pesq[::-1]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_kmeans_eval_html_report(tmp_path, browser, capsys):
    """A real ``kmeans eval --html`` on a tiny fairseq dump whose manifest names the audio."""
    from audiotok.cli.app import main
    from audiotok.kmeans.train import train

    rng = np.random.default_rng(0)
    wavs = tmp_path / "wavs"
    wavs.mkdir()
    feats = tmp_path / "feats"
    feats.mkdir()
    lens, rows = [], []
    for i in range(5):
        sf.write(wavs / f"u{i}.wav", speechlike(0.4 + 0.1 * i, 16000, seed=i), 16000)
        n = 20 + 5 * i
        lens.append(n)
        rows.append(rng.standard_normal((n, 8)).astype(np.float32) * (1 + i))
    x = np.concatenate(rows)
    np.save(feats / "train_0_1.npy", x)
    (feats / "train_0_1.len").write_text("\n".join(map(str, lens)) + "\n")
    (feats / "train.tsv").write_text(f"{wavs}\n" + "".join(f"u{i}.wav\t1\n" for i in range(5)))
    meta = {"extractor": "hubert-base-ls960", "layer": 6, "frame_rate": 50.0}
    km = tmp_path / "km.safetensors"
    train(x, 4, backend="torch", niter=5, meta=meta).save(km)
    out = tmp_path / "html"
    with pytest.raises(SystemExit) as e:
        main(["kmeans", "eval", str(km), str(feats), "--html", str(out), "--json"])
    cap = capsys.readouterr()
    assert e.value.code == 0, cap.err
    assert json.loads(cap.out)["utterances"] == 5
    index = out / "index.html"
    text = index.read_text()
    assert "kmeans eval: km.safetensors" in text and "hubert-base-ls960" in text
    assert "inertia_per_frame" in text and "PNMI" not in text  # no alignments given
    audios = [v for t, v in refs_of(index) if t == "audio"]
    # lowest inertia per frame: u0 (scale 1); highest: u4 (scale 5)
    assert len(audios) == 3 and "u0" in audios[0] and "u4" in audios[-1]
    res = browser.load(index, expression=CHECK_PAGE % "frames")
    assert res.loaded and res.errors == []
    assert res.value["decoded"] and res.value["audio_ok"] and res.value["images"] == 4
