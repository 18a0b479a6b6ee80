#!/usr/bin/python3
"""A watched report page in headless Chromium, driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: the browser reads commands on its fd 3 and answers on fd 4, each message
JSON ended by a NUL; no network, no extra module). It opens the page once and then only reads it:
every half second the page's load time (performance.timeOrigin), its live banner (trials final,
trials running) and the running trials' curves drawn dashed. Exit 0 once the page has reloaded
itself and shows as final a trial that was running when it was first opened; 1 at the timeout.

Usage: watch_browser.py CHROMIUM URL TIMEOUT_S PROFILE_DIR
"""
import fcntl
import json
import os
import subprocess
import sys
import time

PROBE = """JSON.stringify({
  origin: performance.timeOrigin,
  ready: document.readyState,
  final: (document.getElementById('final') || {}).textContent,
  running: (document.getElementById('running-trials') || {}).textContent,
  dashed: [...document.querySelectorAll('.js-plotly-plot')].flatMap(g => g.data || [])
          .filter(t => t.line && t.line.dash === 'dash').length,
  errors: window.__errors || 0})"""


def high(fds):
    """The pipe's two descriptors moved above 4 (close-on-exec), so that dup2 onto 3 and 4 always makes
    a new descriptor, which the browser inherits."""
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds)
    for fd in fds:
        os.close(fd)
    return moved


class Browser:
    def __init__(self, chromium, profile):
        # above 4, so that dup2 onto 3 and 4 always makes a new, inherited descriptor
        cmd_r, self.cmd_w = high(os.pipe())
        self.out_r, out_w = high(os.pipe())

        def fds():  # the browser's fd 3 reads our commands, its fd 4 writes its answers
            os.dup2(cmd_r, 3)
            os.dup2(out_w, 4)

        self.proc = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                      "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--remote-debugging-pipe",
                                      "about:blank"], preexec_fn=fds, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(cmd_r), os.close(out_w)
        self.buf, self.next_id = b"", 0

    def call(self, method, session=None, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in self.buf:
                chunk = os.read(self.out_r, 1 << 16)
                if not chunk:
                    raise RuntimeError("the browser closed its pipe")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\0", 1)
            reply = json.loads(line)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def close(self):
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError):
            pass
        self.proc.wait(timeout=20)


def main(chromium, url, timeout, profile):
    b = Browser(chromium, profile)
    try:
        target = b.call("Target.createTarget", url="about:blank")["targetId"]
        session = b.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        b.call("Page.enable", session)
        b.call("Page.navigate", session, url=url)  # the only navigation: every later load is the page's own
        first, last, deadline = None, None, time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.5)
            got = b.call("Runtime.evaluate", session, expression=PROBE, returnByValue=True)
            s = last = json.loads(got.get("result", {}).get("value") or "{}")
            if s.get("ready") != "complete" or s.get("final") is None:
                continue
            running = {int(t) for t in s["running"].replace("and", ",").split(",") if t.strip().isdigit()}
            if first is None:
                if not running:
                    continue  # wait for a view with a trial running
                first = dict(s, running=running)
                print(f"first view: {s['final']} trials final, running {sorted(running)}, {s['dashed']} dashed curves")
                continue
            if s["origin"] != first["origin"] and int(s["final"]) > int(first["final"]) and first["running"] - running:
                print(f"after the page reloaded itself: {s['final']} final, running {sorted(running)}; trial "
                      f"{min(first['running'] - running)} was running at first and is final now; "
                      f"{first['dashed']} dashed curves at first")
                return 0 if first["dashed"] > 0 else 1
        print(f"timeout: first view {first}, last {last}")
        return 1
    finally:
        b.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]))
