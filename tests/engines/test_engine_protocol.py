"""An engine only streams: the store, the failure policy and the run summary are the
pipeline's, once, whichever engine runs (no Ray needed here)."""

from __future__ import annotations

import ast
from pathlib import Path

from engine_helpers import assert_same_store

import audiotok
from audiotok.corpus import scan
from audiotok.pipeline.engine import Engine
from audiotok.pipeline.local import LocalEngine, RunOptions

ENGINES_DIR = Path(audiotok.__file__).parent / "engines"
# what writes a store or keeps a run's account: never in an engine's module
RUN_NAMES = {"RunSummary", "TokenWriter", "FeatureWriter", "ShardedWriter", "TokenSink",
             "FeatureSink", "failure_handler", "record_problems", "finish"}  # fmt: skip
RUN_MODULES = ("audiotok.store", "audiotok.pipeline.sinks", "audiotok.pipeline.api")


def _public(cls: type) -> set[str]:
    return {n for n in vars(cls) if not n.startswith("_")}


def test_the_engine_protocol_is_one_streaming_method():
    assert _public(Engine) == {"stream"}
    assert _public(LocalEngine) == {"stream"}


def test_no_engine_module_writes_a_store_or_counts_a_run():
    modules = sorted(ENGINES_DIR.glob("*.py"))
    assert {p.name for p in modules} >= {"ray.py", "stages.py"}
    for path in modules:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                mod = node.module or ""
                assert not mod.startswith(RUN_MODULES), f"{path.name} imports {mod}"
                names = {a.name for a in node.names}
                assert not names & RUN_NAMES, f"{path.name} imports {names & RUN_NAMES}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    assert not a.name.startswith(RUN_MODULES), f"{path.name} imports {a.name}"
            elif isinstance(node, ast.Name | ast.Attribute):
                name = node.id if isinstance(node, ast.Name) else node.attr
                assert name not in RUN_NAMES, f"{path.name} uses {name}"


class Recording:
    """An engine of its own: the local one's rows, in reverse order, and every call seen."""

    def __init__(self):
        self.calls = 0

    def stream(self, items, batch_fn, fail, options, events):
        self.calls += 1
        rows = list(LocalEngine().stream(items, batch_fn, fail, options, events))
        yield from reversed(rows)


def test_any_engine_gets_the_same_store_and_summary(small_corpus, bad_corpus, tmp_path):
    tok = audiotok.load("mfcc-km100")
    items = scan([small_corpus, bad_corpus])
    opts = RunOptions(num_workers=0, batch_seconds=2.0)
    a = audiotok.encode_corpus(items, tok, tmp_path / "a", options=opts)
    eng = Recording()
    b = audiotok.encode_corpus(items, tok, tmp_path / "b", options=opts, engine=eng)
    assert eng.calls == 1 and b.encoded == a.encoded > 0 and b.failed == a.failed > 0
    assert (b.frames, b.errors, b.already_done) == (a.frames, a.errors, a.already_done)
    assert_same_store(tmp_path / "a", tmp_path / "b")
    again = audiotok.encode_corpus(items, tok, tmp_path / "b", options=opts, engine=eng)
    assert again.already_done == a.encoded and again.encoded == 0  # resumed by the pipeline


def test_encode_corpus_and_extract_corpus_are_defined_once():
    import audiotok.engines
    import audiotok.pipeline
    import audiotok.pipeline.api as api

    for name in ("encode_corpus", "extract_corpus"):
        assert getattr(audiotok, name) is getattr(audiotok.pipeline, name) is getattr(api, name)
        assert not hasattr(audiotok.engines, name)
