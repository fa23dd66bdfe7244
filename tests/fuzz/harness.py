"""A seeded, time-bounded mutation harness for the files audiotok reads from users (issue #19).

A :class:`Reader` names a file kind: valid seed contents, how to mutate them (``bytes``,
``json`` or ``text``), where the mutant goes and the public call that reads it. :func:`fuzz`
writes mutant after mutant and calls the reader; each outcome must be an ``AudiotokError``
whose message is one line naming the file, or a result (optionally checked). Anything else is
a finding, kept with the mutant that caused it:

- another exception type (a traceback on the CLI: exit 3);
- a hang: one call running past ``call_timeout_s`` (SIGALRM interrupts the Python code);
- memory blown by a length field: while mutants run, the address space is capped at its
  size plus ``headroom_mb`` (``RLIMIT_AS``, restored after), so a huge allocation fails at
  once with ``MemoryError`` (or torch's "can't allocate memory") instead of thrashing the
  machine; that, or the peak RSS growing by more than ``max_rss_mb`` in one call, is a
  finding;
- a write outside the output folder: any file created, removed or changed under the work
  folder during a call, except under ``Reader.out`` (the command's own output folder).

The mutations are in :mod:`mutate`.
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mutate import MUTATORS

from audiotok.errors import AudiotokError


@dataclass
class Reader:
    """One file kind: mutate ``seeds`` (file contents), write to ``target``, run ``call()``.

    ``names``: strings of which an error message must contain one (the file, or its folder);
    ``check``: optional check of a successful result (raise AssertionError when wrong);
    ``out``: the folder the call may write into (everything else under the work folder must
    stay as it was)."""

    name: str
    kind: str  # "bytes" | "json" | "text"
    seeds: list[bytes]
    target: Path
    call: Callable[[], Any]
    names: tuple[str, ...] = ()
    check: Callable[[Any], None] | None = None
    out: Path | None = None
    reset: Callable[[], None] | None = None  # undo what a call may leave (caches, outputs)


@dataclass
class Finding:
    mutant: int
    what: str
    detail: str
    data: bytes


@dataclass
class Result:
    reader: str
    mutants: int = 0
    errors: int = 0  # AudiotokError, as wanted
    results: int = 0  # read without error (and checked, where a check is given)
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"fuzz {self.reader}: {self.mutants} mutants in {self.seconds:.1f} s, "
            f"{self.errors} AudiotokError, {self.results} read, {len(self.findings)} findings"
        )


# --- running -----------------------------------------------------------------------------
class Hang(BaseException):
    """One call ran past its time limit."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise Hang


def _snapshot(root: Path, out: Path | None) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of every file under ``root`` outside ``out``."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        if out is not None and (d == out or out in d.parents):
            dirnames[:] = []
            continue
        for f in filenames:
            try:
                st = os.lstat(d / f)
            except OSError:
                continue
            snap[str(d / f)] = (st.st_size, st.st_mtime_ns)
        snap.update({str(d / x) + "/": (0, 0) for x in dirnames if d / x != out})
    return snap


def overwrite(path: Path, data: bytes) -> None:
    """Replace a file's bytes in place: ``write_bytes`` opens with O_TRUNC, which on ext4
    (auto_da_alloc) flushes the file at close: 1-2 ms a mutant, most of a fast reader's run."""
    try:
        f = open(path, "r+b")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        path.write_bytes(data)
        return
    with f:
        f.write(data)
        f.truncate()


def _vm_size() -> int | None:
    """The process' address-space size in bytes (Linux), None where unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class _AddressCap:
    """``RLIMIT_AS`` at the current size plus headroom for the duration of a run."""

    def __init__(self, headroom_mb: float):
        self.headroom = int(headroom_mb * (1 << 20))
        self.old: tuple[int, int] | None = None

    def __enter__(self) -> None:
        vm = _vm_size()
        if vm is None or self.headroom <= 0:
            return
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = vm + self.headroom
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        if soft == resource.RLIM_INFINITY or cap < soft:
            self.old = (soft, hard)
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))

    def __exit__(self, *exc: object) -> None:
        if self.old is not None:
            resource.setrlimit(resource.RLIMIT_AS, self.old)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fuzz(
    reader: Reader,
    work: Path,
    *,
    seed: int = 0,
    max_mutants: int = 3000,
    budget_s: float = 10.0,
    call_timeout_s: int = 5,
    warmup_timeout_s: int = 120,
    max_rss_mb: float = 512,
    headroom_mb: float = 2048,
) -> Result:
    """Run mutants of ``reader`` until ``max_mutants`` or ``budget_s``; every seed unmutated
    first (each must read without a finding, or the harness is wrong)."""
    rng = random.Random(f"{reader.name}:{seed}")
    mutate = MUTATORS[reader.kind]
    res = Result(reader.name)
    old = signal.signal(signal.SIGALRM, _on_alarm)
    start = t0 = time.perf_counter()
    cap = _AddressCap(headroom_mb)
    try:
        i = 0
        while i < max_mutants and (i < len(reader.seeds) or time.perf_counter() - t0 < budget_s):
            base = reader.seeds[i % len(reader.seeds)]
            data = base if i < len(reader.seeds) else mutate(rng, base)
            if reader.reset is not None:
                reader.reset()
            overwrite(reader.target, data)
            before = _snapshot(work, reader.out)
            rss0 = _peak_rss_mb()
            # the seeds also warm up (first imports, first model build): a longer limit
            limit = call_timeout_s if i >= len(reader.seeds) else warmup_timeout_s
            if i == len(reader.seeds):  # warm: imports and first builds are done
                cap.__enter__()
            finding = _one(reader, res, limit)
            after = _snapshot(work, reader.out)
            if finding is None and after != before:
                changed = sorted(set(after.items()) ^ set(before.items()))
                finding = ("write outside the output folder", str(changed[:3]))
            if finding is None and _peak_rss_mb() - rss0 > max_rss_mb:
                finding = ("memory", f"peak RSS grew by {_peak_rss_mb() - rss0:.0f} MB")
            if finding is not None:
                res.findings.append(Finding(i, finding[0], finding[1], data))
            res.mutants += 1
            i += 1
            if i == len(reader.seeds):  # the budget is for mutants, after the warm-up
                t0 = time.perf_counter()
    finally:
        cap.__exit__()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        res.seconds = time.perf_counter() - start
    return res


def _one(reader: Reader, res: Result, timeout_s: int) -> tuple[str, str] | None:
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        value = reader.call()
        signal.setitimer(signal.ITIMER_REAL, 0)
        if reader.check is not None:
            reader.check(value)
    except Hang:
        return ("hang", f"still running after {timeout_s} s")
    except AudiotokError as e:
        signal.setitimer(signal.ITIMER_REAL, 0)
        msg = str(e)
        if "\n" in msg or "\r" in msg:
            return ("multi-line message", repr(msg[:300]))
        if reader.names and not any(n in msg for n in reader.names):
            return ("message does not name the file", repr(msg[:300]))
        res.errors += 1
        return None
    except Exception as e:  # noqa: BLE001 - every other type is a finding
        signal.setitimer(signal.ITIMER_REAL, 0)
        tb = "".join(traceback.format_exception(e)[-3:])[-1500:]
        if isinstance(e, MemoryError) or "allocate memory" in str(e):
            return ("memory", tb)
        return (type(e).__name__, tb)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    res.results += 1
    return None


def report(results: list[Result], path: Path) -> str:
    """Write the per-reader counts as JSON and return the summary lines (the test prints)."""
    summary = {
        r.reader: {
            "mutants": r.mutants,
            "audiotok_errors": r.errors,
            "read": r.results,
            "seconds": round(r.seconds, 2),
            "findings": len(r.findings),
        }
        for r in results
    }
    path.write_text(json.dumps(summary, indent=1) + "\n")
    return "\n".join(r.line() for r in results)


def describe(result: Result, limit: int = 5) -> str:
    """The first findings, grouped by kind, for an assertion message."""
    seen: dict[str, Finding] = {}
    for f in result.findings:
        seen.setdefault(f"{f.what}: {f.detail.strip().splitlines()[-1][:200]}", f)
    lines = [f"{len(result.findings)} findings for {result.reader}:"]
    for key, f in list(seen.items())[:limit]:
        lines.append(f"- mutant {f.mutant}: {key}\n{f.detail}\n  data[:200]={f.data[:200]!r}")
    return "\n".join(lines)
