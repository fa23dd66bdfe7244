"""Open a page in headless Chromium and collect what went wrong, through the DevTools
protocol over ``--remote-debugging-pipe`` (JSON messages separated by NUL bytes: Chromium
reads commands on its fd 3 and writes replies and events on fd 4; no websocket needed).

Collected: ``console.error``/``console.assert`` calls (``Runtime.consoleAPICalled``),
uncaught exceptions (``Runtime.exceptionThrown``), and error entries of the browser log
(``Log.entryAdded``: failed resource loads, e.g. a missing image). The page is loaded, a
expression is evaluated in it (e.g. to click a table header), a PNG screenshot of the
window is taken, and the tab is closed; one browser serves several pages.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--mute-audio",
    "--remote-debugging-pipe",
]


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageResult:
    errors: list[str] = field(default_factory=list)  # console errors, exceptions, log errors
    console: list[str] = field(default_factory=list)  # every console message, as "type: text"
    value: Any = None  # the evaluated expression's value
    loaded: bool = False


class _Pipe:
    def __init__(self, proc: subprocess.Popen, w: int, r: int):
        self.proc, self.w, self.r = proc, w, r
        self.buf = b""
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def read(self, deadline: float) -> dict | None:
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.r], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params=None, session=None, timeout: float = 30.0) -> dict:
        want = self.send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            msg = self.read(deadline)
            if msg is None:
                raise TimeoutError(f"no reply to {method} in {timeout} s")
            if msg.get("id") == want:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if any(e.get("method") == method for e in self.events):
            return True
        while True:
            msg = self.read(deadline)
            if msg is None:
                return False
            self.events.append(msg)
            if msg.get("method") == method:
                return True

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (msg := self.read(deadline)) is not None:
            self.events.append(msg)


def _high(fd: int) -> int:
    new = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return new


def _text(args: list[dict]) -> str:
    return " ".join(str(a.get("value", a.get("description", ""))) for a in args)


class Browser:
    """One headless Chromium for several pages: ``with Browser() as b: b.load(page)``."""

    def __init__(self, width: int = 1280, height: int = 2000, timeout: float = 60.0):
        self.width, self.height, self.timeout = width, height, timeout

    def __enter__(self) -> Browser:
        exe = chromium()
        if exe is None:
            raise FileNotFoundError("chromium is not installed")
        self._profile = tempfile.TemporaryDirectory(prefix="audiotok-chromium-")
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()
        # the child's ends must not be fd 3 or 4 themselves, or the redirections below would
        # overwrite one with the other: move them to fds >= 10 first (bash, not dash, takes
        # such fd numbers in redirections)
        to_chrome_r, from_chrome_w = _high(to_chrome_r), _high(from_chrome_w)
        args = [
            *FLAGS,
            f"--user-data-dir={self._profile.name}",
            f"--window-size={self.width},{self.height}",
        ]
        self._proc = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_chrome_r} 4>&{from_chrome_w}', exe, *args],
            pass_fds=(to_chrome_r, from_chrome_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.pipe = _Pipe(self._proc, self._w, self._r)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.pipe.send("Browser.close")
            self._proc.wait(timeout=15)
        except Exception:  # noqa: BLE001
            self._proc.kill()
            self._proc.wait()
        os.close(self._w)
        os.close(self._r)
        self._profile.cleanup()

    def load(
        self,
        page: Path,
        *,
        screenshot: Path | None = None,
        expression: str = "document.title",
        settle_s: float = 0.5,
        full_page: bool = False,
    ) -> PageResult:
        """Open ``page`` in a new tab, wait for its load event (+ ``settle_s``), evaluate
        ``expression`` in it, optionally take a screenshot, and close the tab."""
        pipe, timeout = self.pipe, self.timeout
        res = PageResult()
        target = pipe.call("Target.createTarget", {"url": "about:blank"}, timeout=timeout)
        session = pipe.call(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            pipe.call(f"{domain}.enable", session=session)
        pipe.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        pipe.events.clear()  # about:blank's own events are not the page's
        pipe.call("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        res.loaded = pipe.wait_event("Page.loadEventFired", timeout)
        pipe.drain(settle_s)
        out = pipe.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=session,
        )
        if "exceptionDetails" in out:
            res.errors.append(f"evaluate: {out['exceptionDetails'].get('text')}")
        res.value = out.get("result", {}).get("value")
        if screenshot is not None:
            params: dict[str, Any] = {"format": "png"}
            if full_page:  # the whole document, not just the window
                size = pipe.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
                params["captureBeyondViewport"] = True
                params["clip"] = {
                    "x": 0,
                    "y": 0,
                    "width": size["width"],
                    "height": size["height"],
                    "scale": 1,
                }
            shot = pipe.call("Page.captureScreenshot", params, session=session)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        pipe.drain(0.1)
        events = [e for e in pipe.events if e.get("sessionId") == session]
        pipe.call("Target.closeTarget", {"targetId": target["targetId"]})
        pipe.events.clear()
        _collect(events, res)
        return res


def _collect(events: list[dict], res: PageResult) -> None:
    for e in events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.consoleAPICalled":
            text = f"{p.get('type')}: {_text(p.get('args', []))}"
            res.console.append(text)
            if p.get("type") in ("error", "assert"):
                res.errors.append(f"console {text}")
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            desc = d.get("exception", {}).get("description") or d.get("text")
            res.errors.append(f"exception: {desc}")
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            entry = p["entry"]
            res.errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
