"""explorer.server.serving's temporary files: one walk over a copied set, one round at a time, a folder per
process (download folders included, removed at a stop), a budget for what is shown, and a start that
removes only what dead processes of this app left."""

from __future__ import annotations

import fcntl
import io
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import types
from pathlib import Path

import pytest

from explorer.server import serving


class _GrowingSet(set):
    """A set that, like Gradio's set of temporary files under load, grows whenever it is walked in Python."""

    def __iter__(self):
        for item in super().__iter__():
            self.add(item + ".new")  # Python's set iterator then raises "Set changed size during iteration"
            yield item


def _app(*file_sets, uploads=None, keep=()) -> types.SimpleNamespace:
    component = types.SimpleNamespace(keep_in_cache=set(keep))
    blocks = types.SimpleNamespace(blocks={1: component}, temp_file_sets=list(file_sets))
    if uploads is not None:
        blocks.upload_file_set = uploads
        blocks.temp_file_sets.insert(0, uploads)
    return types.SimpleNamespace(get_blocks=lambda: blocks)


def _files(folder: Path, *names: str) -> list[Path]:
    paths = [folder / name for name in names]
    for path in paths:
        path.write_bytes(b"x" * 10)
    return paths


def test_one_round_deletes_every_file_of_a_set_that_grows_while_walked(tmp_path):
    paths = _files(tmp_path, "a.png", "b.png", "c.png")
    names = _GrowingSet(str(p) for p in paths)
    assert serving.delete_old_files(_app(names), age_s=None) == 3
    assert not any(p.exists() for p in paths)
    assert set.__len__(names) == 0  # the names are taken out of Gradio's set too


def test_files_gradio_keeps_stay(tmp_path):
    kept, other = _files(tmp_path, "kept.png", "other.png")
    serving.delete_old_files(_app({str(kept), str(other)}, keep={str(kept)}), age_s=None)
    assert kept.exists() and not other.exists()


def test_never_two_rounds_at_once(tmp_path):
    (path,) = _files(tmp_path, "a.png")
    app = _app({str(path)})
    with serving._clean_lock:  # a round is running
        assert serving.delete_old_files(app, age_s=None, wait=False) == 0  # the timer's round is skipped
        assert path.exists()
        waiting = threading.Thread(target=serving.delete_old_files, args=(app, None))
        waiting.start()  # the final round waits for the running one ...
        time.sleep(0.2)
        assert waiting.is_alive() and path.exists()
    waiting.join(5)
    assert not path.exists()  # ... then does its work


def test_a_failing_round_does_not_raise():
    broken = types.SimpleNamespace(get_blocks=lambda: 1 / 0)
    assert serving.delete_old_files(broken, age_s=None) == 0
    assert not serving._clean_lock.locked()


# ----------------------------------------------------------------------------- the policy

def test_old_entries_go_then_the_oldest_while_over_budget():
    now = 10_000.0
    entries = [("old", now - 4000, 5), ("a", now - 900, 40), ("b", now - 600, 40), ("c", now - 300, 40),
               ("fresh", now - 10, 40)]
    assert serving.files_to_delete(entries, now, 3600, None, 0) == ["old"]
    assert serving.files_to_delete(entries, now, 3600, 100, 60) == ["old", "a", "b"]
    assert serving.files_to_delete(entries, now, 3600, 0, 60) == ["old", "a", "b", "c"]  # never one younger than 60 s
    assert sorted(serving.files_to_delete(entries, now, None, 100, 60)) == sorted(n for n, _, _ in entries)


def test_shown_pictures_past_the_budget_go_but_uploads_do_not(tmp_path, monkeypatch):
    monkeypatch.setattr(serving, "OUTPUT_BUDGET_BYTES", 15)
    monkeypatch.setattr(serving, "OUTPUT_MIN_AGE_S", 0)
    shown = _files(tmp_path, "shown1.png", "shown2.png")
    (upload,) = _files(tmp_path, "upload.png")
    os.utime(shown[0], (1, 1))  # ctime cannot be set; order by it is what the policy sees, so check the count
    serving.delete_old_files(_app({str(p) for p in shown}, uploads={str(upload)}), age_s=3600)
    assert sum(p.exists() for p in shown) == 1 and upload.exists()


# ----------------------------------------------------------------------------- the process's folder

def test_the_process_folder_holds_gradio_cache_and_downloads():
    from explorer.demos import remove_noise

    folder = serving.process_folder()
    assert serving.process_folder() == folder and folder.name.startswith(serving.APP_TAG)
    assert os.environ["GRADIO_TEMP_DIR"] == str(folder / "gradio")
    assert remove_noise.FILES_ROOT == folder / "downloads"
    with open(folder / serving.OWNER_FILE) as other, pytest.raises(OSError):
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # locked while this process lives


def test_download_folders_are_removed_when_the_server_stops(monkeypatch):
    downloads = serving.process_folder() / "downloads"
    run = downloads / "remove-noise-test"
    run.mkdir(parents=True, exist_ok=True)
    _files(run, "steps.gif", "strip.png")
    serving.delete_old_files(_app(set()), age_s=3600)
    assert run.exists()  # young: kept while the server runs
    monkeypatch.setattr(serving, "OUTPUT_BUDGET_BYTES", 0)
    monkeypatch.setattr(serving, "OUTPUT_MIN_AGE_S", 0)
    serving.delete_old_files(_app(set()), age_s=3600)
    assert not run.exists()  # counted in the budget
    run.mkdir()
    serving.delete_old_files(_app(set()), age_s=None)  # the server stops
    assert not run.exists()


def test_a_start_removes_only_this_apps_leftovers_of_dead_processes(tmp_path):
    dead = tmp_path / f"{serving.APP_TAG}-111-abc"
    alive = tmp_path / f"{serving.APP_TAG}-222-def"
    unmarked = tmp_path / f"{serving.APP_TAG}-333-ghi"
    other_app = tmp_path / "0123abcd"
    for folder in (dead, alive, unmarked, other_app):
        folder.mkdir()
        _files(folder, "picture.png")
    (dead / serving.OWNER_FILE).write_text("x")
    (alive / serving.OWNER_FILE).write_text("x")
    (other_app / serving.OWNER_FILE).write_text("x")
    with open(alive / serving.OWNER_FILE) as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # its process still serves
        assert serving.remove_leftovers(tmp_path) == 1
    assert not dead.exists() and alive.exists() and unmarked.exists() and other_app.exists()


# ----------------------------------------------------------------------------- a served app, stopped

_SERVER = textwrap.dedent("""
    import sys
    import gradio as gr
    import numpy as np
    from explorer.server import serving

    serving.configure_process()
    with gr.Blocks() as demo:
        button, picture = gr.Button(), gr.Image()
        button.click(lambda: np.zeros((8, 8), np.uint8), None, picture)
    print("FOLDER", serving.process_folder(), flush=True)
    serving.launch(demo, server_port=int(sys.argv[1]))
""")


def _start_server(base: Path, port: int) -> tuple[subprocess.Popen, Path, int]:
    env = {**os.environ, "GRADIO_TEMP_DIR": str(base), "GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen([sys.executable, "-c", _SERVER, str(port)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, cwd=Path(__file__).parent.parent)
    folder = None
    for line in process.stdout:
        if line.startswith("FOLDER "):
            folder = Path(line.split(" ", 1)[1].strip())
            break
    assert folder is not None
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, folder, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("the server did not start")


def _upload(port: int) -> None:
    import httpx

    files = {"files": ("a.png", io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"x" * 100), "image/png")}
    response = httpx.post(f"http://127.0.0.1:{port}/gradio_api/upload", files=files, timeout=30)
    assert response.status_code == 200, response.text


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.name != serving.OWNER_FILE]


@pytest.mark.timeout(300)
def test_sigterm_removes_every_file_and_a_killed_processs_folder_goes_at_the_next_start(tmp_path, free_port):
    killed, killed_folder, port = _start_server(tmp_path, free_port())
    _upload(port)
    assert _files_under(killed_folder)
    killed.kill()  # SIGKILL: no clean-up at all
    killed.wait(30)
    assert _files_under(killed_folder)

    stopped, folder, port = _start_server(tmp_path, free_port())  # its start removes the dead one's folder
    assert not killed_folder.exists()
    _upload(port)
    (downloads := folder / "downloads" / "remove-noise-x").mkdir()
    _files(downloads, "steps.gif")
    assert _files_under(folder)
    stopped.send_signal(signal.SIGTERM)
    time.sleep(0.05)
    stopped.send_signal(signal.SIGTERM)  # a host repeating the signal does not cut the clean-up short
    stopped.wait(60)
    assert not folder.exists()
