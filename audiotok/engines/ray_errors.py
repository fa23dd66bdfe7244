"""One line for a failure of Ray itself (an actor that cannot be built, a lost node past its
retries), from the exceptions Ray wraps. Plain Python: no Ray here."""

from __future__ import annotations

import re

from audiotok.errors import AudiotokError

_EXC_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception)): (.+)$", re.M)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _chain(e: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    x: BaseException | None = e
    while x is not None and all(x is not y for y in out):
        out.append(x)
        nxt = getattr(x, "cause", None) or x.__cause__
        x = nxt if isinstance(nxt, BaseException) else None
    return out


def engine_error(e: BaseException) -> AudiotokError:
    """One line for a failure of Ray itself. Ray wraps a worker's exception (its class may
    not even survive the trip: an actor's constructor comes back as ``ActorDiedError`` with
    the traceback as text), so the cause is the exception in the chain, or else the last
    ``SomethingError: message`` line of the traceback text."""
    chain = _chain(e)
    own = next((x for x in chain if isinstance(x, AudiotokError)), None)
    if own is not None:  # e.g. weights missing on a worker node
        return AudiotokError(f"a Ray worker stopped: {own}")
    found = [m for x in chain for m in _EXC_LINE.findall(_ANSI.sub("", str(x)))]
    if found:
        name, msg = found[-1]
    else:
        lines = [ln.strip() for ln in _ANSI.sub("", str(e)).splitlines() if ln.strip()]
        name, msg = type(e).__name__, lines[0] if lines else ""
    if name.startswith("audiotok.errors."):
        return AudiotokError(f"a Ray worker stopped: {msg.strip()}")
    return AudiotokError(
        f"the Ray run failed ({name.rsplit('.', 1)[-1]}{': ' + msg.strip()[:300] if msg else ''}"
        "); what was written is kept: fix the cause and rerun the same command to resume"
    )
