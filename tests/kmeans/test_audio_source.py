"""k-means samples from audio: one probe of the corpus (the pipeline's), failures reported by
name and skipped, and no import cycle with ``kmeans.sources``."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

import audiotok.kmeans.audio_source as audio_source
from audiotok import extractors
from audiotok.pipeline import plan

from audio_fixtures import BAD


def test_sample_probes_each_header_once_and_reports_bad_files_by_name(bad_corpus, monkeypatch):
    calls: list[str] = []
    real = plan.probe_header

    def counted(item, sr):
        calls.append(item.id)
        return real(item, sr)

    monkeypatch.setattr(plan, "probe_header", counted)
    ex = extractors.load("mfcc")
    reported: dict[str, str] = {}
    smp, info, ids = audio_source.sample_audio(
        [str(bad_corpus)], ex, max_frames=10**6, seed=0,
        on_error=lambda path, why: reported.setdefault(Path(path).stem, why),
    )  # fmt: skip
    assert sorted(calls) == sorted(set(calls)) and len(calls) == 12  # one probe per file
    assert set(reported) == BAD and all(reported.values())
    assert len(ids) == 12 - len(BAD) and not set(ids) & BAD
    assert smp.feats.shape[1] == ex.dim == info.dim and smp.total_frames == 12


def test_a_budget_takes_whole_utterances_in_a_seeded_order(small_corpus):
    ex = extractors.load("mfcc")
    full, _, all_ids = audio_source.sample_audio([str(small_corpus)], ex, max_frames=10**6)
    part, _, ids = audio_source.sample_audio(
        [str(small_corpus)], ex, max_frames=len(full.feats) // 2
    )
    assert 0 < len(part.feats) <= len(full.feats) // 2 and set(ids) < set(all_ids)
    again, _, ids_again = audio_source.sample_audio(
        [str(small_corpus)], ex, max_frames=len(full.feats) // 2
    )
    assert ids_again == ids
    np.testing.assert_array_equal(again.feats, part.feats)


def test_audio_source_does_not_import_sources():
    src = Path(audio_source.__file__).read_text()
    mods = {
        n.module
        for n in ast.walk(ast.parse(src))
        if isinstance(n, ast.ImportFrom) and n.module is not None
    }
    assert "audiotok.kmeans.sources" not in mods  # sources builds on it, not the reverse
