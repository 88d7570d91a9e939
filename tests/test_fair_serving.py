"""One client cannot lock the class out: fair admission, upload and drawing limits, the small refusals.

Driven through the HTTP API on loopback as the attacks of issue 14 were (raw queue joins, raw
uploads), against the app served once for this module. Counts are bounded (65 joins at most) and
nothing long runs: while a test fills the model group, the group is paused (counted as if its slot
were taken, so nothing is taken from it) and its waiting events are cancelled before it resumes.
Speed is measured by ``python -m explorer loadtest --flooder``, never asserted here.
"""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

from explorer.data import PROJECT_ROOT
from explorer.sampling import LIVE_MAX_STEPS
from explorer.server import fair_share, serving, upload_limits

MAX_COST = ["fashion", "", "T-shirt/top", 1, "ddpm", LIVE_MAX_STEPS, 20.0, 0.0]  # /generate's inputs, most costly
DEFAULT_RUN = ["fashion", "", "T-shirt/top", 7, "ddim", 3, 2.0, 0.0]
NOISE = ["fashion", 0, 300, "cosine", 0]  # /noise_drawing's inputs after the drawing


@pytest.fixture(scope="module")
def served(served_app):
    """The app served for this module, with its Blocks (to pause the model group) and its events' ids."""
    demo = served_app
    return SimpleNamespace(url=demo.local_url, demo=demo,
                           fns={d["api_name"]: d["id"] for d in httpx.get(demo.local_url + "config").json()
                                ["dependencies"] if d.get("api_name")})


# ----------------------------------------------------------------------------- queue protocol

def _join(served, api_name: str, data: list, session: str, headers: dict | None = None) -> str:
    """Join the queue as a browser does (JSON that may hold any string); the event id."""
    body = json.dumps({"data": data, "fn_index": served.fns[api_name], "session_hash": session,
                       "event_data": None, "trigger_id": None})  # ensure_ascii: a lone surrogate travels as \\ud800
    response = httpx.post(served.url + "gradio_api/queue/join", content=body,
                          headers={"Content-Type": "application/json", **(headers or {})})
    response.raise_for_status()
    return response.json()["event_id"]


@contextmanager
def _stream(served, session: str, timeout: float = 60):
    """The process_completed messages of ``session``'s event stream, as they come; the stream stays open
    inside the block (closing it withdraws the session's waiting events, as a closed browser tab does)."""
    deadline = time.monotonic() + timeout

    def completed(lines):
        for line in lines:  # a heartbeat comes every 15 s: the deadline is checked at least that often
            assert time.monotonic() < deadline, f"no finished event within {timeout} s"
            message = json.loads(line[len("data:"):]) if line.startswith("data:") else {}
            if message.get("msg") == "process_completed":
                yield message

    with httpx.stream("GET", served.url + "gradio_api/queue/data", params={"session_hash": session},
                      timeout=timeout) as events:
        yield completed(events.iter_lines())


def _completed(served, session: str, count: int, timeout: float = 60) -> list[dict]:
    """The first ``count`` process_completed messages of ``session``'s event stream (then it is closed)."""
    with _stream(served, session, timeout) as completed:
        return [next(completed) for _ in range(count)]


def _error(message: dict) -> str:
    return "" if message["success"] else message["output"]["error"]


def _cancel(served, api_name: str, session: str, event_ids: list[str]) -> None:
    for event_id in event_ids:
        httpx.post(served.url + "gradio_api/cancel", json={"session_hash": session, "fn_index": served.fns[api_name],
                                                             "event_id": event_id}).raise_for_status()


def _sessions(n: int) -> list[str]:
    return [uuid.uuid4().hex for _ in range(n)]


@contextmanager
def _model_paused(served):
    """Nothing is taken from the model group's queue inside this block; what waits in it is the test's to cancel."""
    queue = served.demo._queue
    fn = next(f for f in served.demo.fns.values() if f.concurrency_id == serving.MODEL_GROUP)
    queue.create_event_queue_for_fn(fn)
    group = queue.event_queue_per_concurrency_id[serving.MODEL_GROUP]
    group.current_concurrency += serving.QUICK_CONCURRENCY  # as if its slots were taken
    try:
        yield group
    finally:
        group.current_concurrency -= serving.QUICK_CONCURRENCY


# ----------------------------------------------------------------------------- fair share of the model

def test_a_flood_of_max_cost_joins_holds_three_and_the_next_student_is_served(served):
    flooder, student = _sessions(2)
    with _model_paused(served) as group:
        joined = [_join(served, "generate", MAX_COST, flooder) for _ in range(65)]
        with _stream(served, flooder) as flooders_results:
            refused = [next(flooders_results) for _ in range(62)]
            assert all("You already have 3 pictures waiting" in _error(m) for m in refused)
            held = [e for e in joined if e not in {m["event_id"] for m in refused}]
            assert len(held) == 3

            view = Client(served.url, verbose=False)  # a cheap view is never refused, the model group being full
            assert len(view.predict(api_name="/noise")) == 8

            mine = _join(served, "generate", DEFAULT_RUN, student)  # round robin: right after the flooder's first
            assert [e.session_hash for e in group.queue] == [flooder, student, flooder, flooder]
            _cancel(served, "generate", flooder, held)
    finished = _completed(served, student, 1, timeout=120)[0]
    assert finished["event_id"] == mine and finished["success"], _error(finished)


def test_a_quick_run_is_not_held_behind_a_many_picture_request(served):
    """64 pictures (the Mistakes tab, the long model group) are being made; a student's Remove-noise run
    (the quick group) takes turns with it at the network and is done first."""
    teacher, student = _sessions(2)
    odd = _join(served, "odd_ones_out", ["fashion", "Sneaker", 4321, "full model"], teacher)  # the slow maker
    with _stream(served, teacher, timeout=300) as teachers_results:
        time.sleep(1.0)  # well inside its run (seconds on 2 cores)
        quick = _join(served, "generate", DEFAULT_RUN, student)
        finished = _completed(served, student, 1, timeout=300)[0]
        assert finished["event_id"] == quick and finished["success"], _error(finished)
        running = [e._id for job in served.demo._queue.active_jobs if job for e in job]
        assert odd in running  # the 64 pictures are still being made
        done = next(teachers_results)
        assert done["event_id"] == odd and done["success"], _error(done)


def test_one_network_address_holds_at_most_its_ceiling(served, monkeypatch):
    monkeypatch.setattr(fair_share, "MODEL", fair_share.Limits(per_session=3, per_address=4, total=5,
                                                               what="pictures"))
    sessions = _sessions(8)
    with _model_paused(served):
        held = {s: _join(served, "generate", MAX_COST, s) for s in sessions[:4]}
        _join(served, "generate", MAX_COST, sessions[4])  # a fifth browser on the same address
        assert "Your network already has 4 pictures waiting" in _error(_completed(served, sessions[4], 1)[0])

        forged = {"X-Forwarded-For": "10.9.9.9"}  # without a trusted proxy the header is the client's own word
        _join(served, "generate", MAX_COST, sessions[5], forged)
        assert "Your network already has 4" in _error(_completed(served, sessions[5], 1)[0])

        monkeypatch.setenv("EXPLORER_TRUSTED_PROXIES", "1")  # behind one proxy: its entry names the address
        held[sessions[6]] = _join(served, "generate", MAX_COST, sessions[6], {"X-Forwarded-For": "1.2.3.4, 10.0.0.7"})
        _join(served, "generate", MAX_COST, sessions[7], {"X-Forwarded-For": "10.0.0.8"})  # the group is full
        assert "The app is very busy: 5 pictures are waiting" in _error(_completed(served, sessions[7], 1)[0])

        assert len(Client(served.url, verbose=False).predict(api_name="/noise")) == 8  # cheap views still answer
        for session, event_id in held.items():
            _cancel(served, "generate", session, [event_id])


@pytest.mark.parametrize("waiting, served_, order", [
    ([("a", "ip1")] * 3 + [("b", "ip1")], [], [0, 3, 1, 2]),  # two browsers on one address take turns
    ([("a", "ip1")] * 2 + [("c", "ip2")], [], [0, 2, 1]),  # two addresses take turns
    ([("a", "ip1"), ("c", "ip2")], [("a", "ip1")], [1, 0]),  # a's running event counts as its turn
    ([("a", "ip1"), ("b", "ip1"), ("c", "ip1"), ("d", "ip2")], [], [0, 3, 1, 2]),  # a crowded address is one turn
])
def test_round_robin_order(waiting, served_, order):
    assert fair_share.round_robin(waiting, served_) == order


def test_round_robin_puts_settled_browsers_first_among_equal_turns():
    """Three sessions of one address, the last a classmate who has been here a while: among sessions with no
    turn taken yet, hers goes first; each session's own requests keep their order."""
    waiting = [("x1", "school"), ("x2", "school"), ("x1", "school"), ("c", "school"), ("d", "home")]
    assert fair_share.round_robin(waiting, [], {"c"}) == [3, 4, 0, 1, 2]
    assert fair_share.round_robin(waiting, []) == [0, 4, 1, 3, 2]  # without ages: arrival order


# ----------------------------------------------------------------------------- inventing sessions buys nothing

def _fill(pending, sessions, address, limits, settled=False):
    """Join once from each of ``sessions`` at ``address``; the number admitted."""
    admitted = 0
    for session in sessions:
        if fair_share.refusal(pending, session, address, limits, settled=settled) is None:
            pending.append((session, address))
            admitted += 1
    return admitted


def test_a_script_inventing_a_session_per_join_leaves_a_settled_classmate_places():
    limits = fair_share.MODEL
    pending = []
    assert _fill(pending, [f"script{i}" for i in range(200)], "school", limits) == limits.per_address - limits.reserve
    assert "kept for browsers that have been here a while" in fair_share.refusal(pending, "new", "school", limits,
                                                                                 settled=False)
    classmates = [f"classmate{i}" for i in range(limits.reserve + 1)]
    assert _fill(pending, classmates, "school", limits, settled=True) == limits.reserve  # one place each
    assert "at most 36 at a time from one address" in fair_share.refusal(pending, "late", "school", limits)


def test_a_settled_browser_with_a_picture_waiting_gets_no_reserved_place():
    limits = fair_share.Limits(per_session=3, per_address=6, total=100, what="pictures", reserve=2)
    pending = [("a", "school")] * 2 + [("b", "school")] * 2
    assert "kept for browsers" in fair_share.refusal(pending, "a", "school", limits, settled=True)
    assert fair_share.refusal(pending, "c", "school", limits, settled=True) is None
    assert "kept for browsers" in fair_share.refusal(pending, "c", "school", limits, settled=False)


def test_three_addresses_cannot_fill_the_model_group():
    limits, pending = fair_share.MODEL, []
    for address in ("a", "b", "c"):  # each with settled sessions taking every place they can
        _fill(pending, [f"{address}{i}" for i in range(100) for _ in range(3)], address, limits, settled=True)
    assert len(pending) == 3 * limits.per_address and limits.per_address * 4 <= limits.total
    assert fair_share.refusal(pending, "student", "d", limits, settled=False) is None
    assert fair_share.LIGHT.per_address * 4 <= fair_share.LIGHT.total


def test_an_address_opens_at_most_so_many_new_sessions_a_minute():
    opened = [100.0 + i for i in range(10)]
    assert fair_share.new_session_refusal(opened, 115.0, 11) is None
    assert "Too many new browser sessions from your network: 10 in the last minute (at most 10)" in \
        fair_share.new_session_refusal(opened, 115.0, 10)
    assert fair_share.new_session_refusal(opened, 165.0, 10) is None  # 5 of them are over a minute old


def test_sessions_remember_first_sight_and_each_address_s_last_minute_within_bounds():
    sessions = fair_share.Sessions(kept=3)
    for i in range(5):
        sessions.open(f"s{i}", "school", 10.0 * i)
    assert list(sessions.first) == ["s2", "s3", "s4"] and sessions.first_seen("s0") is None
    assert list(sessions.opened("school", 45.0)) == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert list(sessions.opened("school", 95.0)) == [40.0]
    assert sessions.settled("s2", 80.0) and not sessions.settled("s4", 80.0) and not sessions.settled("s0", 999.0)
    for i in range(5):  # more addresses than kept: quiet ones are forgotten
        sessions.open(None, f"ip{i}", 200.0 + 70.0 * i)
    assert len(sessions.by_address) <= 3


# ----------------------------------------------------------------------------- Gradio's session queues

def test_eviction_prefers_read_sessions_and_never_takes_a_live_one():
    assert fair_share.eviction_choice(["a", "b", "c"], live={"a"}, unread={"b"}) == "c"
    assert fair_share.eviction_choice(["a", "b", "c"], live={"a"}, unread={"b", "c"}) == "b"
    assert fair_share.eviction_choice(["a", "b"], live={"a", "b"}, unread=set()) is None


def test_session_queues_keep_waiting_runs_through_a_flood_of_refused_sessions():
    """Gradio's LRU of 2,000 evicted the oldest session whatever it was: here two sessions with a run waiting
    survive 50 refused sessions in a store of 5, and each evicted session's event ids go too."""
    import asyncio

    waiting = [SimpleNamespace(session_hash=s) for s in ("run1", "run2")]
    queue = SimpleNamespace(event_queue_per_concurrency_id={"model": SimpleNamespace(queue=waiting)},
                            active_jobs=[None], event_ids_to_events={}, pending_event_ids_session={})
    store = fair_share.SessionQueues(queue, max_size=5)
    queue.pending_messages_per_session = store
    for session in ("run1", "run2"):
        store[session] = asyncio.Queue()
    for i in range(50):
        store[f"refused{i}"] = asyncio.Queue()
        store[f"refused{i}"].put_nowait("error")  # never read
        queue.pending_event_ids_session[f"refused{i}"] = {f"id{i}"}
    assert "run1" in store and "run2" in store and len(store) == 5
    assert set(queue.pending_event_ids_session) == {"refused47", "refused48", "refused49"}
    del store["refused0"]  # Gradio deletes a closed stream's queue, evicted or not: no KeyError

    sent = []
    send = fair_share._tolerant_send(queue, lambda event, message: sent.append(event.session_hash))
    send(SimpleNamespace(session_hash="refused0"), "estimate")  # gone: skipped, not a KeyError
    send(waiting[0], "estimate")
    assert sent == ["run1"]


# ----------------------------------------------------------------------------- drawings

def _uploaded(served, name: str, content: bytes) -> str:
    response = httpx.post(served.url + "gradio_api/upload", files={"files": (name, content, "image/png")})
    response.raise_for_status()
    return response.json()[0]


def _file(path: str) -> dict:
    return {"path": path, "orig_name": Path(path).name, "meta": {"_type": "gradio.FileData"}}


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 0).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@pytest.mark.parametrize("layers, size, message", [
    (16, (5000, 5000), "The drawing has 16 layers; at most 4"),
    (1, (5000, 5000), "A layer of the drawing is too large"),
])
def test_a_drawing_is_bounded_before_any_layer_is_decoded(served, layers, size, message):
    path = _uploaded(served, "layer.png", _png(size))  # a few KB that decode to 25 MB each
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # the app serves from this process
    drawing = {"background": None, "layers": [_file(path)] * layers, "composite": None, "id": None}
    session = uuid.uuid4().hex
    _join(served, "noise_drawing", [drawing, *NOISE], session)
    assert message in _error(_completed(served, session, 1)[0])
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 300 * 1024  # kB


def test_an_editor_keeps_few_layers_and_few_unfinished_drawings():
    import gradio as gr

    upload_limits.bound_drawings()
    pad = gr.Sketchpad(render=False)
    blob = lambda index, drawing="d": SimpleNamespace(data={"type": "layer", "index": index, "id": drawing},  # noqa: E731
                                                      files=[("blob", b"x")])
    with pytest.raises(gr.Error, match="at most 4 layers"):
        pad.accept_blobs(blob(10**9))  # Gradio would first grow a list to a billion entries
    for i in range(upload_limits.BLOBS_KEPT + 10):
        pad.accept_blobs(blob(0, f"drawing {i}"))
    assert len(pad.blob_storage) == upload_limits.BLOBS_KEPT


# ----------------------------------------------------------------------------- uploads

def _upload_folder_bytes() -> int:
    from gradio.utils import get_upload_folder

    return sum(f.stat().st_size for f in Path(get_upload_folder()).rglob("*") if f.is_file())


def _thirty_files_of_10_mb():
    """A multipart body of 30 files × 10 MB, produced as it is sent (the test never holds it in memory)."""
    boundary = "flood"
    chunk = b"\0" * 2**20
    head = lambda i: (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{i}.png\"\r\n"  # noqa: E731
                      "Content-Type: image/png\r\n\r\n").encode()

    def body():
        for i in range(30):
            yield head(i)
            for _ in range(10):
                yield chunk
            yield b"\r\n"
        yield f"--{boundary}--\r\n".encode()

    length = sum(len(head(i)) + 10 * len(chunk) + 2 for i in range(30)) + len(f"--{boundary}--\r\n")
    return body(), {"Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(length)}


def test_thirty_files_of_10_mb_are_refused_before_any_is_stored(served):
    before = _upload_folder_bytes()
    body, headers = _thirty_files_of_10_mb()
    try:
        status = httpx.post(served.url + "gradio_api/upload", content=body, headers=headers, timeout=60).status_code
    except httpx.HTTPError:  # the server may answer and close before the body is sent: refused all the same
        status = 413
    assert status == 413
    assert _upload_folder_bytes() - before < 50 * 2**20


def test_many_small_files_in_one_request_are_refused(served):
    files = [("files", (f"{i}.png", b"x", "image/png")) for i in range(upload_limits.MAX_FILES_PER_REQUEST + 1)]
    response = httpx.post(served.url + "gradio_api/upload", files=files)
    assert response.status_code == 413 and "At most 8 files" in response.text


def test_an_upload_without_a_file_name_gets_400_not_500(served):
    response = httpx.post(served.url + "gradio_api/upload", files={"files": ("", b"x", "image/png")})
    assert response.status_code == 400 and "needs a file name" in response.text
    assert len(_uploaded(served, "fine.png", _png((8, 8)))) > 0  # and the route keeps working


def test_the_disk_budget_refuses_uploads_once_the_temporary_files_fill_it(tmp_path):
    made = tmp_path / "made.png"
    made.write_bytes(b"x" * 1000)
    budget = upload_limits.DiskBudget(limit=1500)
    blocks = SimpleNamespace(temp_file_sets=[{str(made)}])
    assert budget.admits(blocks, 400)
    assert not budget.admits(blocks, 400)  # 1000 made + 400 admitted + 400 > 1500


def test_the_address_quota_is_a_rolling_window():
    quota = upload_limits.AddressQuota(limit=100, window_s=0.2)
    assert quota.admits("a", 60) and not quota.admits("a", 60) and quota.admits("b", 60)
    time.sleep(0.25)
    assert quota.admits("a", 60)


# ----------------------------------------------------------------------------- the small ones

@pytest.mark.parametrize("class_name", [3.7, True])
def test_a_class_that_is_not_a_name_or_whole_number_is_refused(served, class_name):
    with pytest.raises(AppError, match=f"Class must be a class name or a whole number, got {class_name}"):
        Client(served.url, verbose=False).predict(class_name=class_name, steps=3, api_name="/generate")


def test_a_seed_too_large_for_a_float_gets_the_seed_message(served):
    with pytest.raises(AppError, match="Seed must be a whole number from 0 to 9223372036854775807"):
        Client(served.url, verbose=False).predict(seed=10**400, steps=3, api_name="/generate")


def test_a_prompt_with_a_lone_surrogate_is_cleaned_and_the_stream_survives(served):
    session = uuid.uuid4().hex
    _join(served, "generate", ["fashion", "a \ud800 sneaker", "T-shirt/top", 7, "ddim", 3, 2.0, 0.0], session)
    finished = _completed(served, session, 1, timeout=120)[0]
    assert finished["success"], _error(finished)
    assert any("\ufffd" in item and "Sneaker" in item for item in finished["output"]["data"] if isinstance(item, str))


# ----------------------------------------------------------------------------- a normal stop

def test_sigterm_deletes_the_temporary_files_this_process_made(tmp_path, free_port):
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=PROJECT_ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "config", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        stored = Path(httpx.post(url + "gradio_api/upload", files={"files": ("mine.png", _png((8, 8)))}).json()[0])
        assert stored.exists()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) is not None
        assert not stored.exists()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
