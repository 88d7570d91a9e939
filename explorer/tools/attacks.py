"""Issue 26's attacks against the served app, each with one student beside it: is the class still served?

Owns: the attacks (ATTACKS, in the order ``all`` runs them: the flood of max-cost joins from one browser
session, joins with invented session hashes from three addresses, half-open connections that never finish
their request head, uploads that trickle forever, the drawing editor's blob store filled from thirteen
addresses with the issue's 10 MB parts and again with the largest part the app accepts, one address's upload
quota, the whole upload budget from four addresses), their sizes (the module's constants, at the scale the
issue reports), the network addresses they and the students come from, and the report.
Each attack row: a student's quiet time (``quiet_s``: a default /generate run with a
seed never used before, as a browser makes it: load the page, join the queue, read the event stream to
the result, fetch the pictures it shows, over a new connection), then the attack in background threads
and, once it has built up, one student at ANOTHER address and one at the SAME address as the attacker,
then the attack stopped and a student again (the server still serving, no restart), the server's peak
memory over the row, and a pass or fail for each rule of issue 26's "Done when" (``RULES``). Beside
the upload attacks each student also uploads one small picture (``student_uploads``).
Different addresses on one machine: the app listens on 127.0.0.1 and every client binds its own source
address in 127.0.0.0/8 (Linux routes all of it to the loopback), so the server sees each as its own TCP
peer. The students keep one browser session each for the whole run, opened at the start and at least
SETTLE_S old before the attack at their address begins (a class has had the page open a while). On one
machine the attackers (threads of this process) and the students take CPU from the server too: a student
slower here than quiet is at worst what a remote attacker would cause.
Does not know: the app's insides (only its /generate endpoint and parameter names, read from the public
API description, the ``imageeditor`` components in the page's config, Gradio's queue, upload, cancel and
component-server routes, and the queue's size from /queue/status), the models or the UI. Not a test:
it asserts nothing; ``python -m explorer loadtest --attack all [--avx2]``. Every attack stops by itself
after ATTACK_MAX_S and every loop, request and wait is bounded.
Not here: issue 26's clean-up at a stop (a SIGTERM with work in flight: tests/test_cleanup.py) and its
smaller items (single malformed requests: tests/test_bad_input.py, tests/test_upload_limits.py).
"""

from __future__ import annotations

import ipaddress
import os
import resource
import secrets
import selectors
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from urllib.parse import urljoin, urlsplit

import httpx

from explorer.server.upload_limits import MAX_DRAWING_PART_BYTES
from explorer.tools import loadtest

# ----------------------------------------------------------------------------- the rules (issue 26, "Done when")
QUIET_FACTOR = 2.0  # a student at another address: served within this many times its quiet time
SAME_ADDRESS_LIMIT_S = 15.0  # a student at the attacker's address: served (not refused) within this
MEMORY_LIMIT_MB = 1.5 * 1024  # the server's resident memory (MiB, as loadtest.Memory reads it)
RULES = ("other_address_within_2x_quiet", "same_address_served_within_15_s", "memory_within_1_5_gb",
         "still_serving_after")

# ----------------------------------------------------------------------------- the students
OTHER_ADDRESS = "127.0.0.2"  # the student at another address (each attack's addresses: ``addresses``)
QUIET_RUNS = 3  # the quiet time is the median of this many runs (one is noisy on a busy machine)
STUDENT_SETTINGS: dict | None = None  # /generate's defaults (tests choose a cheaper run)
STUDENT_TIMEOUT_S = 120.0  # a student's run that takes longer is a failure
SETTLE_S = 61.0  # a student's session is this old before the attack at its address starts (the app keeps an
# address's last places for browsers it has known a minute)
IDLE_WAIT_S = 300.0  # before each row: at most this long for the queue to empty (the last attack's runs)
COOL_DOWN_S = 5.0  # ... then this long for the runs still in flight
READY_TIMEOUT_S = 120.0  # at most this long for an attack to build up before the students go
STOP_TIMEOUT_S = 60.0  # at most this long for an attack's threads to end once told to stop
ATTACK_MAX_S = 600.0  # an attack that was never told to stop stops by itself after this

# ----------------------------------------------------------------------------- the attacks' sizes (the issue's)
# flood: explorer.tools.loadtest.Flooder (FLOOD_JOINS max-cost joins outstanding from one session)
CHURN_ADDRESSES = 3  # "three addresses fill the global 120"
CHURN_FIRST = 40  # per address: max-cost joins, each with a new session hash, as fast as it can
CHURN_MORE = 700  # ... then this many more with new session hashes (3 × 740: the issue's ~2,100 and over
# Gradio's 2,000 session queues)
CHURN_PER_S = 10.0  # ... at this rate per address (the issue: ~2,100 in 73 s)
SLOW_ADDRESSES = 1
SLOW_SOCKETS = 20_000  # half-open connections the script tries to hold (the 20,000), within its file limit
SLOW_OPEN_PER_S = 1000  # it opens again at most this many a second as the server closes them
SLOW_TRICKLE_S = 5.0  # every this long each sends one more header line (never the blank line that ends the head)
SLOW_RAMP_S = 5.0  # built up after this long
SLOW_UPLOADS = 100  # uploads that declare 10 MB and trickle (the issue: "it may stay open forever")
SLOW_UPLOAD_CHUNK = 16 * 1024  # bytes each sends ...
SLOW_UPLOAD_EVERY_S = 10.0  # ... every this long (under the app's idle cut-off), opened again when cut off
BLOB_ADDRESSES = 13  # the issue: 13 addresses × 28 blobs of 10 MB
BLOBS_PER_ADDRESS = 28
BLOB_BYTES = 10 * 1024 * 1024  # the parts (the app refuses any over ACCEPTED_BLOB_BYTES before reading it)
ACCEPTED_BLOB_BYTES = MAX_DRAWING_PART_BYTES  # the largest part of a drawing the app accepts
UPLOAD_BYTES = 10 * 1024 * 1024  # the app's largest upload
UPLOAD_TRIES = 40  # per address: 400 MB, past the per-address quota
UPLOAD_RETRY_S = 1.0  # a refused upload is tried again after this
BUDGET_ADDRESSES = 4  # "four addresses fill the 1 GB upload budget"
REQUEST_TIMEOUT_S = 60.0  # one attacking request


# ----------------------------------------------------------------------------- the attacks

class Attack:
    """An attack in background threads, from ``addresses``: ``with`` starts it, leaving the block stops it.

    ``ready`` is set once it has built up; ``summary()`` says what it sent and what came back, and whether
    every thread ended once told to stop (``stopped_cleanly``).
    """

    def __init__(self, url: str, addresses: list[str]):
        self.url, self.addresses = url, addresses
        self.stop, self.ready, self.lock = threading.Event(), threading.Event(), threading.Lock()
        self.counts: Counter = Counter()
        self.messages: set[str] = set()
        self.threads: list[threading.Thread] = []
        self.deadline = time.monotonic() + ATTACK_MAX_S
        self._built: set[str] = set()  # addresses whose share of the attack has built up

    def __enter__(self) -> Attack:
        self.deadline = time.monotonic() + ATTACK_MAX_S
        for work in self.workers():
            thread = threading.Thread(target=self._guarded, args=(work,), daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=STOP_TIMEOUT_S)
        self.clean_up()

    def workers(self) -> list[Callable[[], None]]:
        raise NotImplementedError

    def clean_up(self) -> None:
        """After the threads end: withdraw what the attack left queued (nothing by default)."""

    def built_up_at(self, address: str) -> None:
        """``address``'s share has built up (or is done); the attack has built up once every address's has."""
        with self.lock:
            self._built.add(address)
            if self._built >= set(self.addresses):
                self.ready.set()

    def running(self) -> bool:
        return not self.stop.is_set() and time.monotonic() < self.deadline

    def count(self, key: str, n: int = 1, message: str | None = None) -> None:
        with self.lock:
            self.counts[key] += n
            if message is not None and len(self.messages) < 50:
                self.messages.add(message[:200])

    def summary(self) -> dict:
        with self.lock:
            return {**dict(sorted(self.counts.items())), "messages": sorted(self.messages)[:5],
                    "stopped_cleanly": not any(thread.is_alive() for thread in self.threads)}

    def _guarded(self, work: Callable[[], None]) -> None:
        try:
            work()
        except Exception as error:  # an attack's own failure is a finding, never a crash of the run
            self.count("attacker_errors", message=f"{type(error).__name__}: {error}")
            self.ready.set()


class Flood(Attack):
    """explorer.tools.loadtest.Flooder from the attack's first address: one session keeps FLOOD_JOINS max-cost
    joins outstanding (issue 14's attack, the start of issue 26's)."""

    def __enter__(self) -> Flood:
        self.flood = loadtest.Flooder(self.url)
        self.flood.http.close()
        self.flood.http = _http(self.addresses[0], loadtest.STARTUP_TIMEOUT_S)
        self.flood.__enter__()
        self.ready.set()
        return self

    def __exit__(self, *exc) -> None:
        self.flood.__exit__(*exc)

    def summary(self) -> dict:
        return {**self.flood.summary(), "stopped_cleanly": not any(t.is_alive() for t in self.flood.threads)}


class SessionChurn(Attack):
    """Per address: CHURN_FIRST max-cost /generate joins as fast as it can, then CHURN_MORE more at CHURN_PER_S,
    each with a session hash never used before, reading no event stream (issue 26 items 1 and 2).

    Leaving the block cancels every join it made (Gradio's cancel route), so that its runs do not go on
    after the attack."""

    def __init__(self, url: str, addresses: list[str]):
        super().__init__(url, addresses)
        self.call = _endpoint(loadtest.clients(url, 1)[0], loadtest.MAX_COST)
        self.joined: dict[str, list[tuple[str, str]]] = {address: [] for address in addresses}

    def workers(self) -> list[Callable[[], None]]:
        return [lambda address=address: self._churn(address) for address in self.addresses]

    def _churn(self, address: str) -> None:
        fn_index, data, seat = self.call
        with _http(address, REQUEST_TIMEOUT_S) as http:
            for sent in range(CHURN_FIRST + CHURN_MORE):
                if not self.running():
                    break
                if sent >= CHURN_FIRST:
                    self.built_up_at(address)
                    if self.stop.wait(1 / CHURN_PER_S):
                        break
                session, inputs = secrets.token_hex(8), list(data)
                inputs[seat] = _seed()  # never the same run twice: the cache cannot answer
                try:
                    response = http.post(urljoin(self.url, "gradio_api/queue/join"),
                                         json={"data": inputs, "fn_index": fn_index, "session_hash": session})
                    response.raise_for_status()
                    self.joined[address].append((session, response.json()["event_id"]))
                    self.count("joined")
                except (httpx.HTTPError, KeyError, ValueError) as error:
                    self.count("join_failed", message=f"{type(error).__name__}: {error}")
        self.built_up_at(address)


    def clean_up(self) -> None:
        """Cancel every join, one thread per address, within STOP_TIMEOUT_S."""
        deadline = time.monotonic() + STOP_TIMEOUT_S

        def cancel(address: str) -> None:
            with _http(address, REQUEST_TIMEOUT_S) as http:
                for session, event_id in self.joined[address]:
                    if time.monotonic() > deadline:
                        return
                    try:
                        http.post(urljoin(self.url, "gradio_api/cancel"),
                                  json={"session_hash": session, "fn_index": self.call[0], "event_id": event_id})
                        self.count("cancelled")
                    except httpx.HTTPError:
                        self.count("cancel_failed")

        threads = [threading.Thread(target=cancel, args=(address,), daemon=True) for address in self.addresses]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=STOP_TIMEOUT_S)


class HeldSockets(Attack):
    """Raw connections from the attack's addresses, each sending ``head`` and then ``trickle`` every ``every_s``,
    never finishing: at most ``target`` open at once, opened again (at most SLOW_OPEN_PER_S a second) as the
    server closes them. Counts what the server did: closed them, or answered (its status lines)."""

    def __init__(self, url: str, addresses: list[str], target: int, head: bytes, trickle: bytes, every_s: float):
        super().__init__(url, addresses)
        parts = urlsplit(url)
        self.server = (parts.hostname, parts.port or 80)
        self.target = _socket_budget(target)
        self.head, self.trickle, self.every_s = head, trickle, every_s

    def workers(self) -> list[Callable[[], None]]:
        return [self._hold]

    def _hold(self) -> None:
        selector = selectors.DefaultSelector()
        held: set[socket.socket] = set()
        began = time.monotonic()
        next_trickle, tried = began + self.every_s, 0
        try:
            while self.running():
                allowed = int(SLOW_OPEN_PER_S * (time.monotonic() - began)) + 1 - tried  # at most that many a second
                for _ in range(max(0, min(allowed, self.target - len(held)))):
                    sock = self._open(self.addresses[tried % len(self.addresses)])
                    tried += 1
                    if sock is None:
                        break
                    selector.register(sock, selectors.EVENT_READ)
                    held.add(sock)
                with self.lock:
                    self.counts["most_open_at_once"] = max(self.counts["most_open_at_once"], len(held))
                for key, _ in selector.select(timeout=0.05):
                    if self._closed(key.fileobj):
                        selector.unregister(key.fileobj)
                        key.fileobj.close()
                        held.discard(key.fileobj)
                now = time.monotonic()
                if now >= next_trickle:
                    next_trickle = now + self.every_s
                    for sock in list(held):
                        try:
                            sock.send(self.trickle)
                        except OSError:
                            pass  # the server closed it: the selector hears of it
                if len(held) >= self.target or now - began >= SLOW_RAMP_S:
                    self.ready.set()
        finally:
            for sock in held:
                selector.unregister(sock)
                sock.close()
            selector.close()

    def _open(self, address: str) -> socket.socket | None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((address, 0))
            sock.settimeout(1.0)
            sock.connect(self.server)
            sock.sendall(self.head)
            sock.setblocking(False)
        except OSError as error:
            sock.close()
            self.count("connect_failed", message=f"{type(error).__name__}: {error}")
            return None
        self.count("opened")
        return sock

    def _closed(self, sock: socket.socket) -> bool:
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if data.startswith(b"HTTP/"):
            self.count("answered", message=data.split(b"\r\n", 1)[0].decode(errors="replace"))
        if not data:
            self.count("closed_by_server")
        return not data


class Slowloris(HeldSockets):
    """SLOW_SOCKETS connections that send part of a request head and then one header line every SLOW_TRICKLE_S,
    never the blank line that ends it (issue 26 item 3)."""

    def __init__(self, url: str, addresses: list[str]):
        host = urlsplit(url).netloc.encode()
        super().__init__(url, addresses, SLOW_SOCKETS, b"GET / HTTP/1.1\r\nHost: " + host + b"\r\nX-Slow: 0\r\n",
                         b"X-Slow: 0\r\n", SLOW_TRICKLE_S)


class SlowUploads(HeldSockets):
    """SLOW_UPLOADS uploads that declare a full-size file and send SLOW_UPLOAD_CHUNK bytes every SLOW_UPLOAD_EVERY_S
    (issue 26 item 4: "a slow upload ... may stay open forever")."""

    def __init__(self, url: str, addresses: list[str]):
        boundary = secrets.token_hex(8)
        preamble = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"slow.png\"\r\n"
                    f"Content-Type: image/png\r\n\r\n").encode()
        path = urlsplit(urljoin(url, "gradio_api/upload")).path
        head = (f"POST {path} HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {UPLOAD_BYTES}\r\n\r\n").encode() + preamble
        super().__init__(url, addresses, SLOW_UPLOADS, head, b"\0" * SLOW_UPLOAD_CHUNK, SLOW_UPLOAD_EVERY_S)


class Uploads(Attack):
    """From each address, UPLOAD_TRIES uploads of one UPLOAD_BYTES file each (every one different, so nothing is
    stored once for two), as fast as the server takes them; a refused one is tried again after UPLOAD_RETRY_S
    (issue 26 item 4: one address's quota, or with BUDGET_ADDRESSES the whole upload budget)."""

    def __init__(self, url: str, addresses: list[str]):
        super().__init__(url, addresses)
        self.payload = os.urandom(UPLOAD_BYTES)

    def workers(self) -> list[Callable[[], None]]:
        return [lambda address=address: self._upload(address) for address in self.addresses]

    def _upload(self, address: str) -> None:
        with _http(address, REQUEST_TIMEOUT_S) as http:
            for _ in range(UPLOAD_TRIES):
                if not self.running():
                    break
                body = _unique(self.payload)
                try:
                    response = http.post(urljoin(self.url, "gradio_api/upload"),
                                         files=[("files", ("attack.png", body, "image/png"))])
                except httpx.HTTPError as error:
                    self.count("failed", message=f"{type(error).__name__}: {error}")
                    self.built_up_at(address)
                    self.stop.wait(UPLOAD_RETRY_S)
                    continue
                if response.status_code == 200:
                    self.count("accepted")
                    self.count("accepted_bytes", len(body))
                else:
                    self.count(f"refused_{response.status_code}",
                               message=f"{response.status_code}: {response.text}")
                    self.built_up_at(address)
                    self.stop.wait(UPLOAD_RETRY_S)
        self.built_up_at(address)



class Blobs(Attack):
    """From each address, BLOBS_PER_ADDRESS parts of unfinished drawings of BLOB_BYTES each, sent to the page's
    drawing editors as a browser sends them (the component server's ``accept_blobs``), every one a new
    drawing (issue 26 item 5). Built up once every address has sent half of them."""

    def __init__(self, url: str, addresses: list[str]):
        super().__init__(url, addresses)
        config = httpx.get(urljoin(url, "config"), timeout=REQUEST_TIMEOUT_S).json()
        self.editors = [c["id"] for c in config["components"] if c.get("type") == "imageeditor"]
        if not self.editors:
            raise RuntimeError("the page has no drawing editor (no 'imageeditor' component in its config)")
        self.payload = os.urandom(self.part_bytes())

    @staticmethod
    def part_bytes() -> int:
        return BLOB_BYTES

    def workers(self) -> list[Callable[[], None]]:
        return [lambda address=address: self._send(address) for address in self.addresses]

    def _send(self, address: str) -> None:
        session = secrets.token_hex(8)
        with _http(address, REQUEST_TIMEOUT_S) as http:
            for i in range(BLOBS_PER_ADDRESS):
                if not self.running():
                    break
                if i >= BLOBS_PER_ADDRESS // 2:
                    self.built_up_at(address)
                fields = {"id": secrets.token_hex(8), "type": "layer", "index": "0",
                          "component_id": str(self.editors[i % len(self.editors)]), "fn_name": "accept_blobs",
                          "session_hash": session}
                try:
                    response = http.post(urljoin(self.url, "gradio_api/component_server/"), data=fields,
                                         files=[("file", ("layer_0.png", _unique(self.payload), "image/png"))])
                except httpx.HTTPError as error:
                    self.count("failed", message=f"{type(error).__name__}: {error}")
                    self.stop.wait(UPLOAD_RETRY_S)
                    continue
                if response.status_code == 200:
                    self.count("accepted")
                else:
                    self.count(f"refused_{response.status_code}", message=f"{response.status_code}: {response.text}")
                    self.stop.wait(UPLOAD_RETRY_S)
        self.built_up_at(address)


class AcceptedBlobs(Blobs):
    """Blobs of the largest part of a drawing the app accepts (ACCEPTED_BLOB_BYTES): they reach the editors'
    store of unfinished drawings, which is bounded in bytes."""

    @staticmethod
    def part_bytes() -> int:
        return ACCEPTED_BLOB_BYTES


@dataclass(frozen=True)
class Spec:
    """One attack: its class, how many addresses it comes from (read when it starts, so that tests can shrink
    it), whether the students also upload beside it, and what it is in a line."""

    attack: type
    n_addresses: Callable[[], int]
    uploads: bool
    what: str


ATTACKS = {  # in the order ``all`` runs them: those whose effect lasts (full quotas and budgets) come last
    "flood": Spec(Flood, lambda: 1, False, "one browser session keeps {FLOOD_JOINS} max-cost joins outstanding, "
                                           "sending again every {FLOOD_RETRY_S:g} s the ones refused"),
    "session-churn": Spec(SessionChurn, lambda: CHURN_ADDRESSES, False,
                          "from each of {CHURN_ADDRESSES} addresses {CHURN_FIRST} max-cost joins at once, then "
                          "{CHURN_MORE} more at {CHURN_PER_S:g} a second, each with a new session hash"),
    "slowloris": Spec(Slowloris, lambda: SLOW_ADDRESSES, False,
                      "up to {SLOW_SOCKETS} connections that never finish their request head, opened again "
                      "(at most {SLOW_OPEN_PER_S} a second) as the server closes them"),
    "slow-upload": Spec(SlowUploads, lambda: 1, True,
                        "{SLOW_UPLOADS} uploads that declare {UPLOAD_BYTES:,} bytes and send {SLOW_UPLOAD_CHUNK:,} "
                        "every {SLOW_UPLOAD_EVERY_S:g} s"),
    "blobs": Spec(Blobs, lambda: BLOB_ADDRESSES, True,
                  "from each of {BLOB_ADDRESSES} addresses {BLOBS_PER_ADDRESS} parts of new drawings of "
                  "{BLOB_BYTES:,} bytes to the drawing editors"),
    "accepted-blobs": Spec(AcceptedBlobs, lambda: BLOB_ADDRESSES, True,
                           "from each of {BLOB_ADDRESSES} addresses {BLOBS_PER_ADDRESS} parts of new drawings of "
                           "{ACCEPTED_BLOB_BYTES:,} bytes (the largest the app accepts) to the drawing editors"),
    "upload-quota": Spec(Uploads, lambda: 1, True,
                         "from one address {UPLOAD_TRIES} uploads of {UPLOAD_BYTES:,} bytes, past its quota"),
    "upload-budget": Spec(Uploads, lambda: BUDGET_ADDRESSES, True,
                          "from each of {BUDGET_ADDRESSES} addresses {UPLOAD_TRIES} uploads of {UPLOAD_BYTES:,} "
                          "bytes, past the server's upload budget"),
}


def addresses(name: str) -> list[str]:
    """The source addresses of attack ``name``: its own block of 127.0.0.0/8, the same whichever attacks run (an
    address's new-session and upload quotas outlast an attack); the same-address student uses the first."""
    block = list(ATTACKS).index(name)
    return [f"127.0.{10 + block}.{k + 1}" for k in range(ATTACKS[name].n_addresses())]


# ----------------------------------------------------------------------------- the run

@dataclass(frozen=True)
class Student:
    """A browser tab kept open through the run: its address and its session."""

    address: str
    session: str


def run(names: list[str], url: str | None = None, pid: int | None = None, env: dict | None = None) -> dict:
    """Each attack in ``names`` (or ``all``) in turn, a student beside it, against the app at ``url`` (or one
    started here with ``env`` added to its environment, e.g. bench.AVX2_ONLY); the report."""
    names = list(ATTACKS) if "all" in names else list(dict.fromkeys(names))
    unknown = sorted(set(names) - set(ATTACKS))
    if unknown or not names:
        raise ValueError(f"Unknown attack {unknown}: choose from {sorted(ATTACKS)} or all.")
    if url is not None and not _is_loopback(url):
        raise ValueError("The attacks come from several addresses of this machine's loopback (127.0.0.0/8): "
                         "the app must run on this machine (a --url on 127.0.0.1 or localhost).")
    with loadtest.serve_app(url, pid, env) as (base_url, server_pid):
        memory = loadtest.Memory(server_pid) if server_pid is not None else None
        call = _endpoint(loadtest.clients(base_url, 1)[0], STUDENT_SETTINGS)
        seeds = iter(range(secrets.randbelow(10**9) + 10**6, 2**62))  # never seen before: the cache cannot answer
        other = Student(OTHER_ADDRESS, secrets.token_hex(8))
        same = {name: Student(addresses(name)[0], secrets.token_hex(8)) for name in names}
        report = {"url": base_url, "started_here": url is None, "memory_source": memory.source if memory else None,
                  "rss_mb_at_start": memory() if memory else None, "other_address": OTHER_ADDRESS,
                  "rules": {"quiet_factor": QUIET_FACTOR, "same_address_limit_s": SAME_ADDRESS_LIMIT_S,
                            "memory_limit_mb": MEMORY_LIMIT_MB}}
        opened, report["first_runs"] = {}, {}  # each student's first run opens its session (and warms the app up)
        for student in [other, *same.values()]:
            opened[student] = time.monotonic()
            report["first_runs"][student.address] = _student_run(base_url, student, call, next(seeds))
        report["attacks"] = {}
        for name in names:
            time.sleep(max(0.0, opened[same[name]] + SETTLE_S - time.monotonic()))
            report["attacks"][name] = _row(base_url, name, other, same[name], call, seeds, memory)
        report["peak_rss_mb"] = memory.peak() if memory else None
        report["passed"] = all(row["passed"] for row in report["attacks"].values())
        return report


def _row(url: str, name: str, other: Student, same: Student, call: tuple, seeds: Iterator[int], memory) -> dict:
    """One attack with the students beside it: quiet, during (another address, then the same), after."""
    spec = ATTACKS[name]
    idle = _wait_idle(url)
    uploads: dict = {}
    with loadtest.sampling(memory) as peak:
        rss_before = memory() if memory else None
        quiet = _median([_student_run(url, other, call, next(seeds)) for _ in range(QUIET_RUNS)])
        quiet_same = _student_run(url, same, call, next(seeds))
        attack = spec.attack(url, addresses(name))
        with attack:
            built_up = attack.ready.wait(READY_TIMEOUT_S)
            during = _student_run(url, other, call, next(seeds))
            during_same = _student_run(url, same, call, next(seeds))
            if spec.uploads:
                uploads = {"other_address": _student_upload(url, other), "same_address": _student_upload(url, same)}
        after = _student_run(url, other, call, next(seeds))
        if spec.uploads:
            uploads["after"] = _student_upload(url, other)
        rss_after = memory() if memory else None
        sampled = peak()
    peak_mb = max([m for m in (sampled, rss_before, rss_after) if m is not None], default=None)
    rules = {
        "other_address_within_2x_quiet": bool(quiet["ok"] and during["ok"]
                                              and during["seconds"] <= QUIET_FACTOR * quiet["seconds"]),
        "same_address_served_within_15_s": bool(during_same["ok"] and during_same["seconds"] <= SAME_ADDRESS_LIMIT_S),
        "memory_within_1_5_gb": None if peak_mb is None else peak_mb <= MEMORY_LIMIT_MB,
        "still_serving_after": bool(after["ok"]),
    }
    row = {"what": _describe(spec), "attacker_addresses": addresses(name), "same_address": same.address,
           "queue_idle_before": idle, "built_up": built_up,
           "quiet_s": quiet["seconds"], "quiet_same_address_s": quiet_same["seconds"],
           "other_address_s": during["seconds"], "same_address_s": during_same["seconds"],
           "after_s": after["seconds"], "peak_rss_mb": peak_mb, "rss_mb_before": rss_before,
           "rss_mb_after": rss_after,
           "errors": {key: result["error"] for key, result in (("quiet", quiet), ("quiet_same_address", quiet_same),
                                                               ("other_address", during),
                                                               ("same_address", during_same), ("after", after))
                      if not result["ok"]},
           "attacker": attack.summary(), "rules": rules,
           "passed": all(value for value in rules.values() if value is not None)}
    if spec.uploads:
        row["student_uploads"] = uploads
    return row


def _median(runs: list[dict]) -> dict:
    """Several runs as one: the median time if all gave a picture, else the first failure."""
    failed = [run for run in runs if not run["ok"]]
    return failed[0] if failed else {"seconds": _round(sorted(run["seconds"] for run in runs)[len(runs) // 2]),
                                     "ok": True}


def _student_run(url: str, student: Student, call: tuple, seed: int) -> dict:
    """One default /generate run as a browser makes it, over a new connection from the student's address:
    {"seconds", "ok": True} or {"seconds", "ok": False, "error"} (a refusal's message is its error)."""
    fn_index, data, seat = call
    inputs = list(data)
    inputs[seat] = seed
    began = time.perf_counter()

    def in_time(message: dict) -> None:  # every message, heartbeats included (at least every 15 s)
        if time.perf_counter() - began > STUDENT_TIMEOUT_S:
            raise TimeoutError(f"no result within {STUDENT_TIMEOUT_S:g} s")

    try:
        with _http(student.address, STUDENT_TIMEOUT_S) as http:
            http.get(url).raise_for_status()
            http.post(urljoin(url, "gradio_api/queue/join"),
                      json={"data": inputs, "fn_index": fn_index, "session_hash": student.session}).raise_for_status()
            for item in loadtest.finished_outputs(http, url, student.session, in_time):
                if isinstance(item, dict) and item.get("url"):
                    http.get(urljoin(url, item["url"])).raise_for_status()
        return {"seconds": _round(time.perf_counter() - began), "ok": True}
    except Exception as error:  # a failure is a finding of the load test, not a crash of it
        return {"seconds": _round(time.perf_counter() - began), "ok": False,
                "error": f"{type(error).__name__}: {error}"[:300]}


def _student_upload(url: str, student: Student) -> dict:
    """One small picture uploaded from the student's address: {"seconds", "ok", "status"[, "message"]}."""
    began = time.perf_counter()
    try:
        with _http(student.address, STUDENT_TIMEOUT_S) as http:
            response = http.post(urljoin(url, "gradio_api/upload"),
                                 files=[("files", ("drawing.png", _small_png(), "image/png"))])
        result = {"seconds": _round(time.perf_counter() - began), "ok": response.status_code == 200,
                  "status": response.status_code}
        return result if result["ok"] else {**result, "message": response.text[:200]}
    except httpx.HTTPError as error:
        return {"seconds": _round(time.perf_counter() - began), "ok": False, "status": None,
                "message": f"{type(error).__name__}: {error}"[:200]}


def _wait_idle(url: str) -> bool:
    """Wait (at most IDLE_WAIT_S) until nothing waits in the app's queue, then COOL_DOWN_S for what still runs;
    whether it emptied."""
    deadline = time.monotonic() + IDLE_WAIT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(urljoin(url, "gradio_api/queue/status"), timeout=10).json().get("queue_size") == 0:
                time.sleep(COOL_DOWN_S)
                return True
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(1.0)
    return False


# ----------------------------------------------------------------------------- helpers

def _endpoint(client, settings: dict | None) -> tuple[int, list, int]:
    """(/generate's queue index, its inputs at the defaults with ``settings``, the position of its seed)."""
    fn_index, first = loadtest.browser_call(client, 1, settings)
    _, second = loadtest.browser_call(client, 2, settings)
    return fn_index, first, next(i for i, (a, b) in enumerate(zip(first, second)) if a != b)


def _http(address: str, timeout_s: float) -> httpx.Client:
    """An HTTP client whose connections come from ``address`` (the server sees it as the client's address)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address),
                        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 15.0)))


def _describe(spec: Spec) -> str:
    """The attack in a line, with its sizes as they are now."""
    sizes = {name: value for name, value in globals().items() if name.isupper()}
    return spec.what.format(**sizes, FLOOD_JOINS=loadtest.FLOOD_JOINS, FLOOD_RETRY_S=loadtest.FLOOD_RETRY_S)


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback and ipaddress.ip_address(host).version == 4
    except ValueError:
        return False


def _socket_budget(wanted: int) -> int:
    """How many sockets this process may hold: ``wanted``, within its file limit (raised to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and wanted + 300 > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return wanted if soft == resource.RLIM_INFINITY else max(1, min(wanted, soft - 300))


def _unique(payload: bytes) -> bytes:
    """``payload`` with its first bytes made unique: no two files are the same (nothing is stored once for two)."""
    return secrets.token_bytes(16) + payload[16:]


def _seed() -> int:
    return secrets.randbelow(2**31 - 1)


_png: list[bytes] = []


def _small_png() -> bytes:
    """A 28×28 grey PNG, the size of the app's pictures."""
    if not _png:
        from PIL import Image

        buffer = BytesIO()
        Image.new("L", (28, 28), 128).save(buffer, format="PNG")
        _png.append(buffer.getvalue())
    return _png[0]


def _round(value: float) -> float:
    return round(float(value), 3)
