"""explorer.server.upload_limits: uploads charged as their bytes arrive and cut off when too slow, the upload
budget apart from the pictures shown, and an editor's unfinished drawings bounded in bytes with clear
messages for a malformed part."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import gradio as gr
import pytest

from explorer.server import upload_limits

BOUNDARY = "b0undary"


def _scope(length: int, path: str = "/gradio_api/upload") -> dict:
    return {"type": "http", "method": "POST", "path": path, "query_string": b"", "client": ("10.0.0.7", 5000),
            "headers": [(b"content-length", str(length).encode()),
                        (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())]}


async def _reading_app(scope, receive, send):
    """Stands in for Gradio's upload route: reads the whole body, then answers 200."""
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _run(middleware, scope, chunks, pause_s: float = 0.0) -> tuple[int, bytes]:
    """Send ``chunks`` (the last ends the body) through ``middleware``; (status, body) of its answer."""
    sent: list[dict] = []

    async def receive():
        if not chunks:
            await asyncio.sleep(3600)  # a client that has gone quiet
        await asyncio.sleep(pause_s)
        body = chunks.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_an_upload_that_goes_quiet_is_cut_off_with_408(monkeypatch):
    monkeypatch.setattr(upload_limits, "UPLOAD_IDLE_S", 0.2)
    middleware = upload_limits.UploadLimits(_reading_app)
    sent: list[dict] = []
    first = [True]

    async def receive():  # one chunk that says more is coming, then nothing, forever
        if first[0]:
            first[0] = False
            return {"type": "http.request", "body": f"--{BOUNDARY}\r\n".encode(), "more_body": True}
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    asyncio.run(asyncio.wait_for(middleware(_scope(5000), receive, send), 5))
    assert sent[0]["status"] == 408 and b"too slow" in sent[1]["body"]


def test_an_upload_past_its_deadline_is_cut_off_even_if_it_trickles(monkeypatch):
    monkeypatch.setattr(upload_limits, "UPLOAD_DEADLINE_S", 0.3)
    status, body = _run(upload_limits.UploadLimits(_reading_app), _scope(100), [b"x"] * 100, pause_s=0.02)
    assert status == 408


def test_bytes_are_charged_as_they_arrive_not_as_declared():
    middleware = upload_limits.UploadLimits(_reading_app)
    status, _ = _run(middleware, _scope(upload_limits.MAX_REQUEST_BYTES), [b"x" * 1000])  # declares 10 MB, sends 1 kB
    assert status == 200
    assert sum(n for _, n in middleware.quota.sent["10.0.0.7"]) == 1000


def test_an_upload_that_runs_past_the_quota_mid_stream_is_refused():
    middleware = upload_limits.UploadLimits(_reading_app)
    middleware.quota = upload_limits.AddressQuota(limit=5000, window_s=600)
    status, body = _run(middleware, _scope(4000), [b"x" * 1000] * 8)  # sends more than it declared
    assert status == 429 and b"Too many uploads" in body


def test_a_declared_size_over_the_quota_is_refused_before_a_byte_is_read():
    middleware = upload_limits.UploadLimits(_reading_app)
    middleware.quota = upload_limits.AddressQuota(limit=5000, window_s=600)
    chunks = [b"x" * 10]
    status, _ = _run(middleware, _scope(6000), chunks)
    assert status == 429 and chunks == [b"x" * 10]  # nothing was read


def test_the_upload_budget_counts_uploads_not_the_pictures_shown(tmp_path):
    upload, shown = tmp_path / "upload.png", tmp_path / "shown.png"
    upload.write_bytes(b"x" * 1000)
    shown.write_bytes(b"x" * 10_000)
    uploads = {str(upload)}
    blocks = SimpleNamespace(upload_file_set=uploads, temp_file_sets=[uploads, {str(shown)}])
    budget = upload_limits.DiskBudget(limit=1500)
    assert budget.admits(blocks, 400, charge=False) and budget.admits(blocks, 400)
    assert not budget.admits(blocks, 400)  # 1000 uploaded + 400 charged + 400 > 1500; the 10 kB shown do not count


# ----------------------------------------------------------------------------- drawings

def _blob(index, drawing="d", size=10, kind="layer"):
    return SimpleNamespace(data={"type": kind, "index": index, "id": drawing}, files=[("blob", b"x" * size)])


def test_unfinished_drawings_are_bounded_in_bytes_across_editors(monkeypatch):
    monkeypatch.setattr(upload_limits, "_blob_bytes", upload_limits.BlobBytes(limit=25_000))
    upload_limits.bound_drawings()
    pads = [gr.Sketchpad(render=False) for _ in range(3)]
    for i in range(12):
        pads[i % 3].accept_blobs(_blob("0", f"drawing {i}", size=5_000))  # a browser sends the index as text
    stored = sum(upload_limits.blob_size(parts) for pad in pads for parts in pad.blob_storage.values())
    assert stored <= 25_000 and upload_limits._blob_bytes.total() == stored
    assert "drawing 11" in pads[2].blob_storage and "drawing 0" not in pads[0].blob_storage  # the oldest went


@pytest.mark.parametrize("blob, message", [
    (_blob("two"), "no valid number"),
    (_blob(-1), "names layer -1"),
    (_blob(7), "at most 4 layers"),
    (_blob(0, kind="sticker"), "unknown kind"),
    (SimpleNamespace(data={"type": "layer", "index": 0, "id": "d"}, files=[]), "without its picture"),
    (SimpleNamespace(data={"type": "layer", "index": 0}, files=[("blob", b"x")]), "without its drawing's id"),
])
def test_a_malformed_part_of_a_drawing_gets_a_clear_message(blob, message):
    upload_limits.bound_drawings()
    with pytest.raises(gr.Error, match=message):
        gr.Sketchpad(render=False).accept_blobs(blob)


def test_the_middleware_answers_a_refused_part_with_400_and_its_message():
    async def editor_route(scope, receive, send):
        await receive()
        raise gr.Error("A drawing can have at most 4 layers.")

    status, body = _run(upload_limits.UploadLimits(editor_route), _scope(10, "/gradio_api/component_server"),
                        [b"x" * 10])
    assert status == 400 and b"at most 4 layers" in body


@pytest.mark.parametrize("path", upload_limits.DRAWING_PATHS)
def test_a_part_of_a_drawing_larger_than_a_pad_sends_is_refused_before_it_is_read(path):
    status, body = _run(upload_limits.UploadLimits(_reading_app), _scope(10 * 2**20, path), [b"x" * 10])
    assert status == 413 and b"drawing pads send parts of at most 256 kB" in body
    status, _ = _run(upload_limits.UploadLimits(_reading_app), _scope(8_000, path), [b"x" * 8_000])  # a real part
    assert status == 200
    status, _ = _run(upload_limits.UploadLimits(_reading_app), _scope(5 * 2**20), [b"x" * 10])  # an upload: 10 MB
    assert status == 200


def test_a_layer_over_the_drawing_part_limit_gets_a_clear_message():
    upload_limits.bound_drawings()
    big = SimpleNamespace(data={"type": "layer", "index": 0, "id": "d"},
                          files=[("blob", b"x" * (upload_limits.MAX_DRAWING_PART_BYTES + 1))])
    with pytest.raises(gr.Error, match="over the 256 kB limit"):
        gr.Sketchpad(render=False).accept_blobs(big)
