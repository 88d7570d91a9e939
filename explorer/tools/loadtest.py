"""A classroom load test of the running app: many students pressing Generate at once, through the public API.

Owns: starting the app in a child process when no URL is given (so its memory can be read), N
concurrent gradio_client users each making one full picture at the default settings with a seed
of its own (so the cache cannot answer), a long sequential run that shows whether the server's
memory keeps growing, repeated identical requests (answered from the cache), whether the waiting time
each page shows comes true (``_estimates``: the first ETA a browser-like request hears against when its
result came), and the report:
latency percentiles, failures, the server's resident memory (psutil when installed, else
/proc/<pid>/status). Prints nothing itself; ``run`` returns the report as a dict.
The repeated requests are timed twice: through gradio_client, and as a browser makes them
(``_browser_request``: join the queue, read the event stream to the finished message, fetch the
pictures it shows, over one kept-alive connection). gradio_client alone cannot time a fast answer:
it looks for new messages every 50 ms, builds a new HTTP client for each call and downloads every
output file two or three times.
Does not know: the app's insides (only its /generate endpoint, Gradio's queue protocol and the
"Answered from the cache" note of its status text), the models or the UI. Not a test: it asserts
nothing about speed.
With ``flooder=True`` (``python -m explorer.tools.loadtest --flooder``) the concurrent phase runs a
second time beside one hostile client that keeps FLOOD_JOINS max-cost /generate joins outstanding
(re-sending refused ones every FLOOD_RETRY_S), and a new student's Add-noise views are timed while it
floods: the honest students' latencies with and without it side by side.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import gradio_client
import httpx
import numpy as np
from gradio_client import Client

from explorer.data import PROJECT_ROOT
from explorer.sampling import LIVE_MAX_STEPS

API_NAME = "/generate"
CACHED_NOTE = "Answered from the cache"
MEMORY_WINDOW = 50  # sequential requests before the first and the last memory reading
STARTUP_TIMEOUT_S = 600  # importing torch on a busy 2-core machine is slow
SAMPLE_EVERY_S = 0.2  # how often the server's memory is read during the concurrent phase
# A server has settled (finished starting up) when it uses under SETTLED_CPU_SHARE of one core for SETTLED_FOR_S in a
# row: an idle app uses ~0.08 of a core (2-vCPU Xeon, 2026-12-03); making its openings after a start, ~1.2 for ~30 s.
SETTLED_CPU_SHARE = 0.2
SETTLED_FOR_S = 3.0
SETTLE_POLL_S = 0.5
SETTLE_DEADLINE_S = 300.0
FLOOD_JOINS = 65  # the flooder's outstanding joins (issue 14's attack)
FLOOD_RETRY_S = 1.0  # how often it re-sends the joins that were refused
MAX_COST = {"sampler": "ddpm", "steps": LIVE_MAX_STEPS, "guidance": 20.0}  # /generate at its most costly
# (the app refuses more steps)
ADD_NOISE_VIEWS = 10  # Add-noise views a new student asks for while the flooder floods


def run(url: str | None = None, users: int = 30, sequential: int = 300, repeats: int = 20,
        pid: int | None = None, flooder: bool = False) -> dict:
    """Drive the app at ``url`` (or a fresh one started here) and return the report."""
    with serve_app(url, pid) as (base_url, server_pid):
        memory = Memory(server_pid) if server_pid is not None else None
        seeds = iter(range(random.SystemRandom().randint(10**6, 10**9), 2**62))  # never seen before
        report = {"url": base_url, "server_pid": server_pid, "started_here": url is None,
                  "client": {"gradio_client": gradio_client.__version__, "ssl_verify": _verify(base_url)},
                  "memory_source": memory.source if memory else None,
                  "rss_mb_at_start": memory() if memory else None}
        report["concurrent"] = _concurrent(base_url, users, seeds, memory)
        report["estimates"] = _estimates(base_url, users, seeds)
        report["estimates_mixed_costs"] = _estimates(base_url, users, seeds, costly_every=3)
        if flooder:
            report["with_flooder"] = _flooded(base_url, users, seeds, memory)
        report["sequential"] = _sequential(base_url, sequential, seeds, memory)
        report["cached"] = _cached(base_url, repeats, next(seeds))
        report["peak_rss_mb"] = memory.peak() if memory else None
        return report


# ----------------------------------------------------------------------------- the three phases

def _concurrent(url: str, users: int, seeds: Iterator[int], memory: Memory | None) -> dict:
    """``users`` clients, each in its own thread and session, all asking at once."""
    sessions = clients(url, users)
    user_seeds = [next(seeds) for _ in range(users)]
    start = threading.Barrier(users)
    began = time.perf_counter()
    with sampling(memory) as peak:
        with ThreadPoolExecutor(max_workers=users) as pool:
            outcomes = list(pool.map(lambda i: _timed(sessions[i], user_seeds[i], start.wait), range(users)))
    return {"users": users, **_summary(outcomes), "wall_s": _round(time.perf_counter() - began),
            "peak_rss_mb_during": peak()}


def _sequential(url: str, requests: int, seeds: Iterator[int], memory: Memory | None) -> dict:
    """One client, ``requests`` pictures in a row, each with a new seed; memory after every 50 (and the last)."""
    client = clients(url, 1)[0]
    outcomes, readings = [], []
    for i in range(requests):
        outcomes.append(_timed(client, next(seeds)))
        if memory and ((i + 1) % MEMORY_WINDOW == 0 or i + 1 == requests):
            readings.append(memory())
    return {"requests": requests, **_summary(outcomes),
            f"rss_mb_after_first_{MEMORY_WINDOW}": readings[0] if readings else None,
            f"rss_mb_after_last_{MEMORY_WINDOW}": readings[-1] if readings else None,
            f"rss_mb_every_{MEMORY_WINDOW}": readings}


def _cached(url: str, repeats: int, seed: int) -> dict:
    """The same request ``repeats`` times after a first one, through gradio_client and as a browser: each from the
    cache."""
    client = clients(url, 1)[0]
    _timed(client, seed)
    outcomes = [_timed(client, seed) for _ in range(repeats)]
    fn_index, data = browser_call(client, seed)
    with httpx.Client(timeout=STARTUP_TIMEOUT_S) as http:
        answers = [_browser_request(http, url, fn_index, data) for _ in range(repeats)]
    browser = _summary(answers)
    return {"requests": repeats, **_summary(outcomes),
            "answered_from_cache": sum(CACHED_NOTE in (o.get("status") or "") for o in outcomes),
            "browser_like": {"latency_s": browser["latency_s"], "failures": browser["failures"],
                             "answered_from_cache": sum(CACHED_NOTE in (o.get("status") or "") for o in answers)}}


def _flooded(url: str, users: int, seeds: Iterator[int], memory: Memory | None) -> dict:
    """The concurrent phase again, beside a client that keeps FLOOD_JOINS max-cost joins; Add-noise views first."""
    with Flooder(url) as flood:
        viewer = clients(url, 1)[0]
        views = [_timed_view(viewer) for _ in range(ADD_NOISE_VIEWS)]
        honest = _concurrent(url, users, seeds, memory)
        estimates = _estimates(url, users, seeds)
        flooder = flood.summary()
    return {"flooder": flooder, "add_noise_view": _summary(views), "honest": honest, "estimates": estimates}


def _estimates(url: str, users: int, seeds: Iterator[int], costly_every: int = 0) -> dict:
    """``users`` browser-like requests at once: how the first waiting time each page showed compares with the wait.

    With ``costly_every`` = k, every k-th student asks for /generate at its most costly (MAX_COST, 5× the
    default steps) and the others for the defaults. ``late_s`` = finished − promised (positive: later than
    the page said); ``ratio`` = finished / promised.
    """
    client = clients(url, 1)[0]
    calls = [browser_call(client, next(seeds), MAX_COST if costly_every and i % costly_every == 0 else None)
             for i in range(users)]
    start = threading.Barrier(users)

    def one(call: tuple[int, list]) -> dict:
        with httpx.Client(timeout=STARTUP_TIMEOUT_S) as http:
            start.wait()
            return _browser_request(http, url, *call)

    with ThreadPoolExecutor(max_workers=users) as pool:
        outcomes = list(pool.map(one, calls))
    kept = [o for o in outcomes if "error" not in o and o["promised_s"] is not None]
    late = np.array([o["finished_s"] - o["promised_s"] for o in kept])
    ratio = np.array([o["finished_s"] / max(o["promised_s"], 1e-3) for o in kept])

    def spread(a):
        return ({"p5": _round(np.percentile(a, 5)), "p50": _round(np.percentile(a, 50)),
                 "p95": _round(np.percentile(a, 95)), "max": _round(a.max())} if a.size else None)

    return {"users": users, **_summary(outcomes), "with_estimate": len(kept), "late_s": spread(late),
            "ratio": spread(ratio)}


def _timed_view(client: Client) -> dict:
    """One Add-noise view at its defaults: {"seconds"} or {"seconds", "error"}."""
    began = time.perf_counter()
    try:
        client.predict(api_name="/noise")
        return {"seconds": time.perf_counter() - began}
    except Exception as error:  # a failure is a finding of the load test, not a crash of it
        return {"seconds": time.perf_counter() - began, "error": f"{type(error).__name__}: {error}"[:300]}


class Flooder:
    """One hostile browser session that keeps FLOOD_JOINS max-cost /generate joins outstanding.

    One thread reads its event stream and counts what came back (refused, finished, failed); another
    re-sends every FLOOD_RETRY_S as many joins as are no longer outstanding. Leaving the block closes the
    stream, which withdraws whatever of it still waits (as a closed browser tab does).
    """

    def __init__(self, url: str, address: str | None = None):
        self.url, self.session = url, secrets.token_hex(8)
        self.counts = {"sent": 0, "refused": 0, "finished": 0, "failed": 0}
        self.refusals: set[str] = set()
        self.failures: set[str] = set()
        self.lock, self.stop = threading.Lock(), threading.Event()
        client = clients(url, 1)[0]
        self.fn_index, data = browser_call(client, 1, MAX_COST)
        self.body = {"data": data, "fn_index": self.fn_index, "session_hash": self.session}
        transport = httpx.HTTPTransport(local_address=address) if address else None  # a local address to send from
        self.http = httpx.Client(timeout=STARTUP_TIMEOUT_S, transport=transport)

    def __enter__(self) -> Flooder:
        self._join(FLOOD_JOINS)
        self.threads = [threading.Thread(target=self._read, daemon=True),
                        threading.Thread(target=self._keep_joining, daemon=True)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.threads[1].join(timeout=60)  # no more joins
        self.http.close()  # closes the stream: the server withdraws the flooder's waiting joins
        self.threads[0].join(timeout=30)

    def summary(self) -> dict:
        with self.lock:
            return {**self.counts, "refusal_messages": sorted(self.refusals)[:3],
                    "failure_messages": sorted(self.failures)[:3]}

    def _outstanding(self) -> int:
        with self.lock:
            return self.counts["sent"] - self.counts["refused"] - self.counts["finished"] - self.counts["failed"]

    def _join(self, n: int) -> None:
        for _ in range(n):
            try:
                self.http.post(urljoin(self.url, "gradio_api/queue/join"), json=self.body).raise_for_status()
            except httpx.HTTPError as error:
                with self.lock:
                    self.counts["failed"] += 1
                    self.failures.add(f"{type(error).__name__}: {error}"[:300])
            with self.lock:
                self.counts["sent"] += 1

    def _keep_joining(self) -> None:
        while not self.stop.wait(FLOOD_RETRY_S):
            self._join(max(0, FLOOD_JOINS - self._outstanding()))

    def _read(self) -> None:
        try:
            with self.http.stream("GET", urljoin(self.url, "gradio_api/queue/data"),
                                  params={"session_hash": self.session}) as response:
                for line in response.iter_lines():
                    if self.stop.is_set():
                        return
                    if line.startswith("data:"):
                        self._count(json.loads(line[len("data:"):]))
        except Exception:  # the client was closed under it: the flood is over
            return

    def _count(self, message: dict) -> None:
        if message.get("msg") != "process_completed":
            return
        error = (message.get("output") or {}).get("error") if not message.get("success") else None
        with self.lock:
            if error is None:
                self.counts["finished"] += 1
            elif "waiting" in error:
                self.counts["refused"] += 1
                self.refusals.add(error)
            else:
                self.counts["failed"] += 1
                self.failures.add(str(error)[:300])


# ----------------------------------------------------------------------------- requests

def clients(url: str, n: int) -> list[Client]:
    """``n`` gradio_client sessions, connected in parallel (each fetches the app's config).

    Over plain http there is no TLS to verify; without ``ssl_verify=False`` gradio_client would still
    build a verifying SSL context (~20 ms of CPU) for every HTTP call it makes, CPU that a server on
    the same machine loses and that students' own devices would spend in a classroom.
    """
    with ThreadPoolExecutor(max_workers=min(n, 16)) as pool:
        return list(pool.map(lambda _: Client(url, verbose=False, ssl_verify=_verify(url)), range(n)))


def _verify(url: str) -> bool:
    """Whether gradio_client should verify TLS certificates: only where there is TLS (not over plain http)."""
    return not url.startswith("http://")


def _timed(client: Client, seed: int, before: Callable[[], object] | None = None) -> dict:
    """One picture at the default settings: {"seconds", "status"} or {"seconds", "error"}."""
    if before:
        before()
    began = time.perf_counter()
    try:
        result = client.predict(seed=seed, api_name=API_NAME)
        return {"seconds": time.perf_counter() - began, "status": result[3]}
    except Exception as error:  # a failure is a finding of the load test, not a crash of it
        return {"seconds": time.perf_counter() - began, "error": f"{type(error).__name__}: {error}"[:300]}


def browser_call(client: Client, seed: int, settings: dict | None = None) -> tuple[int, list]:
    """The queue's index of API_NAME and its full input list: the defaults, with ``seed`` and ``settings``."""
    fn_index = next(d["id"] for d in client.config["dependencies"] if "/" + str(d.get("api_name")) == API_NAME)
    parameters = client.view_api(print_info=False, return_format="dict")["named_endpoints"][API_NAME]["parameters"]
    chosen = {**(settings or {}), "seed": seed}
    return fn_index, [chosen.get(p["parameter_name"], p["parameter_default"]) for p in parameters]


def _browser_request(http: httpx.Client, url: str, fn_index: int, data: list) -> dict:
    """One request as the browser makes it: {"seconds", "status", "promised_s"} or {"seconds", "error"}.

    Joins the queue, reads the session's event stream up to the finished message, then fetches the
    pictures that message shows (the download files wait for a click). ``promised_s``: when the first
    estimate the page would show (queue rank with an ETA, or "processing" with one) said the result
    would come, in seconds after the join (None if the server gave no estimate).
    """
    session = secrets.token_hex(8)
    began = time.perf_counter()
    promised: list[float] = []

    def heard(message: dict) -> None:
        eta = message.get("rank_eta") if message["msg"] == "estimation" else message.get("eta")
        if not promised and message["msg"] in ("estimation", "process_starts") and eta is not None:
            promised.append(time.perf_counter() - began + eta)

    try:
        http.post(urljoin(url, "gradio_api/queue/join"),
                  json={"data": data, "fn_index": fn_index, "session_hash": session}).raise_for_status()
        outputs = finished_outputs(http, url, session, heard)
        finished = time.perf_counter() - began
        for item in outputs:
            if isinstance(item, dict) and item.get("url"):
                http.get(urljoin(url, item["url"])).raise_for_status()
        return {"seconds": time.perf_counter() - began, "status": outputs[3], "finished_s": finished,
                "promised_s": promised[0] if promised else None}
    except Exception as error:  # a failure is a finding of the load test, not a crash of it
        return {"seconds": time.perf_counter() - began, "error": f"{type(error).__name__}: {error}"[:300]}


def finished_outputs(http: httpx.Client, url: str, session: str,
                      heard: Callable[[dict], None] = lambda message: None) -> list:
    """The outputs of the session's finished event, read from Gradio's event stream (server-sent events);
    ``heard`` sees every message on the way."""
    with http.stream("GET", urljoin(url, "gradio_api/queue/data"), params={"session_hash": session}) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue
            message = json.loads(line[len("data:"):])
            heard(message)
            if message["msg"] == "process_completed":
                if not message.get("success"):
                    raise RuntimeError(f"the app answered with an error: {message.get('output')}")
                return message["output"]["data"]
            if message["msg"] in ("unexpected_error", "close_stream"):
                raise RuntimeError(f"the event stream ended without a result: {message}")
    raise RuntimeError("the event stream closed without a result")


def _summary(outcomes: list[dict]) -> dict:
    """Latency percentiles of the successful requests, and the failures."""
    seconds = np.array([o["seconds"] for o in outcomes if "error" not in o])
    errors = [o["error"] for o in outcomes if "error" in o]
    latency = ({"p50": _round(np.percentile(seconds, 50)), "p95": _round(np.percentile(seconds, 95)),
                "max": _round(seconds.max())} if seconds.size else None)
    return {"ok": int(seconds.size), "failures": len(errors), "failure_messages": sorted(set(errors))[:5],
            "latency_s": latency}


def _round(value: float) -> float:
    return round(float(value), 3)


# ----------------------------------------------------------------------------- the server

@contextmanager
def serve_app(url: str | None, pid: int | None, env: dict | None = None) -> Iterator[tuple[str, int | None]]:
    """The app to test: ``url`` as given (memory readable only with ``pid``), or a child process (with ``env``
    added to its environment, e.g. bench.AVX2_ONLY)."""
    if url is not None:
        yield url.rstrip("/") + "/", pid
        return
    port = _free_port()
    with tempfile.TemporaryFile() as log:
        child = subprocess.Popen([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)],
                                 cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                 env={**os.environ, **(env or {})})
        try:
            base_url = f"http://127.0.0.1:{port}/"
            _wait_until_up(base_url, child, log)
            yield base_url, child.pid
        finally:
            child.terminate()
            child.wait(timeout=60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, child: subprocess.Popen, log) -> None:
    """Return once ``url`` answers; a RuntimeError with the end of the app's output if it never does."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline and child.poll() is None:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    log.seek(0)
    tail = log.read().decode(errors="replace")[-2000:]
    raise RuntimeError(f"the app did not start (exit status {child.poll()}); its output ends:\n{tail}")


# ----------------------------------------------------------------------------- memory

class Memory:
    """The resident memory of process ``pid`` in MB: now (call it) and its peak so far."""

    def __init__(self, pid: int):
        self.pid = pid
        try:
            import psutil

            self._process = psutil.Process(pid)
            self.source = "psutil"
        except ImportError:
            self._process = None
            self.source = f"/proc/{pid}/status"

    def __call__(self) -> float:
        if self._process is not None:
            return _round(self._process.memory_info().rss / 2**20)
        return self._status_mb("VmRSS")

    def peak(self) -> float | None:
        """The peak resident memory since the process started (VmHWM; None where unknown)."""
        status = Path(f"/proc/{self.pid}/status")
        return self._status_mb("VmHWM") if status.exists() else None

    def _status_mb(self, field: str) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return _round(int(line.split()[1]) / 1024)  # kB → MB
        raise ValueError(f"{field} not in /proc/{self.pid}/status")


def settle(pid: int, idle_share: float = SETTLED_CPU_SHARE, quiet_s: float = SETTLED_FOR_S,
           deadline_s: float = SETTLE_DEADLINE_S) -> float:
    """Wait until process ``pid`` has used under ``idle_share`` of one core for ``quiet_s`` in a row (a server that
    finished starting up: the app makes its openings in the background after it answers), at most ``deadline_s``;
    the seconds waited."""
    began = time.monotonic()
    ticks = os.sysconf("SC_CLK_TCK")
    quiet_since = began
    used = _cpu_seconds(pid, ticks)
    while time.monotonic() - began < deadline_s:
        time.sleep(SETTLE_POLL_S)
        now_used = _cpu_seconds(pid, ticks)
        if now_used - used > idle_share * SETTLE_POLL_S:
            quiet_since = time.monotonic()
        used = now_used
        if time.monotonic() - quiet_since >= quiet_s:
            break
    return _round(time.monotonic() - began)


def _cpu_seconds(pid: int, ticks: int) -> float:
    """The user and system CPU seconds process ``pid`` has used (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of stat)


@contextmanager
def sampling(memory: Memory | None) -> Iterator[Callable[[], float | None]]:
    """Read the server's memory every SAMPLE_EVERY_S in the background; yields a getter of the peak seen."""
    readings: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(SAMPLE_EVERY_S):
            readings.append(memory())

    sampler = threading.Thread(target=sample, daemon=True) if memory else None
    if sampler:
        sampler.start()
    try:
        yield lambda: max(readings) if readings else None
    finally:
        done.set()
        if sampler:
            sampler.join()


def main(argv: list[str] | None = None) -> None:
    """``python -m explorer.tools.loadtest [--flooder]``: the load test with the flooding client beside it."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url")
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--sequential", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--pid", type=int)
    parser.add_argument("--flooder", action="store_true",
                        help="run the concurrent phase again beside a flooding client")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.url, args.users, args.sequential, args.repeats, args.pid, args.flooder), indent=2))


if __name__ == "__main__":
    main()
