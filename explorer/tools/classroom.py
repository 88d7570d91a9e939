"""A class at once: simulated students who each load the page, then press their tab's main button.

Owns: the class scenarios (SCENARIOS: one student alone; thirty students on Remove noise; a mixed class
of ten on Remove noise, ten on the Guidance grid and ten on Odd ones out with the fast copy; the mixed
class beside the flooder of explorer.tools.loadtest; a class of thirty where 29 train the 2-D toy and one asks
Remove noise for a picture; each class from its own loopback address, as behind a
school's NAT, and the flooder from another); one student as a browser behaves (GET the page and
the scripts and style sheets its HTML names, then join the queue of the tab's main endpoint at its
defaults (or the student's settings) with a seed never used before, read the event stream to the result
and fetch the pictures it shows); and the report: per scenario and per tab the first, median and last result
counted from the moment the class started, page loads (seconds and bytes), failures, the server's peak memory and the
server's own note on where and in which precision it computes. The class arrives at a server that has finished
starting up, as it does after the teacher opened the app (``loadtest.settle``: the server's CPU quiet for a few
seconds; the wait is reported, ``settled_after_s``; not possible against ``--url`` without ``--pid``).
Does not know: the app's insides (only the endpoints' API names and parameter names, read from the
public API description, and the elem_id of the server's note in the page's config), the models or the UI.
Not a test: it asserts nothing about speed. ``python -m explorer loadtest --class all [--avx2]``.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx
import numpy as np

from explorer.tools import loadtest


@dataclass(frozen=True)
class Student:
    """Which tab a student uses: its main endpoint, the parameter that takes the student's own seed (None: the
    endpoint takes none) and the settings the student changes from the defaults."""

    tab: str
    api_name: str
    seed_parameter: str | None
    settings: tuple[tuple[str, object], ...] = ()


REMOVE_NOISE = Student("Remove noise", "/generate", "seed")
GUIDANCE = Student("Guidance", "/guidance_grid", "first_seed")
ODD_ONES = Student("Mistakes: odd ones out", "/odd_ones_out", "first_seed")  # its default: the fast copy
TOY_TRAINING_STEPS = 1000  # a trainer's press of Train (the slider's default is 2,500)
TOY_TRAINER = Student("Toy in 2-D: Train", "/toy_train", None, (("train_steps", TOY_TRAINING_STEPS),))
SCENARIOS = {  # each class behind its own address (a school's NAT), as the app's per-address limits see it
    "alone": {"students": [REMOVE_NOISE], "flooder": False, "address": "127.0.0.2"},  # the reference
    "remove-noise": {"students": [REMOVE_NOISE] * 30, "flooder": False, "address": "127.0.0.3"},
    "mixed": {"students": [REMOVE_NOISE] * 10 + [GUIDANCE] * 10 + [ODD_ONES] * 10, "flooder": False,
              "address": "127.0.0.4"},
    "mixed-flooder": {"students": [REMOVE_NOISE] * 10 + [GUIDANCE] * 10 + [ODD_ONES] * 10, "flooder": True,
                      "address": "127.0.0.5"},
    # a class of 30: 29 train their own toy model while one classmate asks Remove noise for a picture
    "toy-training": {"students": [REMOVE_NOISE] + [TOY_TRAINER] * 29, "flooder": False, "address": "127.0.0.6"},
}
FLOODER_ADDRESS = "127.0.0.9"  # the flooding script runs elsewhere, not behind the class's address
ASSETS = re.compile(r'<(?:script[^>]*\bsrc|link[^>]*\brel="stylesheet"[^>]*\bhref)="([^"]+)"')
SERVER_NOTE_ID = "server-note"  # the elem_id of the app's "About this server" note
TIMEOUT_S = 600


def run(scenarios: list[str], url: str | None = None, pid: int | None = None, env: dict | None = None) -> dict:
    """Each scenario in turn against the app at ``url`` (or one started here, with ``env``), in one run."""
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        raise ValueError(f"Unknown class scenario {unknown}: choose from {sorted(SCENARIOS)}.")
    with loadtest.serve_app(url, pid, env) as (base_url, server_pid):
        memory = loadtest.Memory(server_pid) if server_pid is not None else None
        settled_s = loadtest.settle(server_pid) if server_pid is not None else None  # the teacher started it earlier
        seeds = iter(range(secrets.randbelow(10**9) + 10**6, 2**62))  # never seen before: the cache cannot answer
        calls = _calls(base_url)
        report = {"url": base_url, "started_here": url is None, "server": _server_note(base_url),
                  "rss_mb_at_start": memory() if memory else None, "settled_after_s": settled_s}
        for name in scenarios:
            report[name] = _scenario(base_url, SCENARIOS[name], calls, seeds, memory)
        report["peak_rss_mb"] = memory.peak() if memory else None
        return report


def _scenario(url: str, scenario: dict, calls: dict, seeds: Iterator[int], memory) -> dict:
    """All the scenario's students at once (beside the flooder if it has one); their results by tab."""
    students = scenario["students"]
    own_seeds = [next(seeds) for _ in students]
    start = threading.Barrier(len(students))
    flooding = loadtest.Flooder(url, FLOODER_ADDRESS) if scenario["flooder"] else nullcontext()
    with flooding as flood, loadtest.sampling(memory) as peak:
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(students)) as pool:
            outcomes = list(pool.map(lambda i: _student(url, students[i], calls, own_seeds[i], start, began,
                                                        scenario.get("address")), range(len(students))))
        flooder = flood.summary() if flood else None
    by_tab = {tab: _spread([o for o, s in zip(outcomes, students) if s.tab == tab])
              for tab in dict.fromkeys(s.tab for s in students)}
    return {"students": len(students), "all": _spread(outcomes), "by_tab": by_tab,
            "peak_rss_mb_during": peak(), "flooder": flooder}


def _student(url: str, student: Student, calls: dict, seed: int, start: threading.Barrier, began: float,
             address: str | None = None) -> dict:
    """One student (from the local ``address``, if given): everyone starts together; load the page, then ask for
    a picture with ``seed``."""
    start.wait()
    transport = httpx.HTTPTransport(local_address=address) if address else None
    try:
        with httpx.Client(timeout=TIMEOUT_S, transport=transport) as http:
            page_s, page_bytes = _load_page(http, url)
            fn_index, inputs = calls[student.api_name]
            chosen = {**dict(student.settings), student.seed_parameter: seed}
            data = [chosen.get(name, value) if name else value for name, value in inputs]
            session = secrets.token_hex(8)
            http.post(urljoin(url, "gradio_api/queue/join"),
                      json={"data": data, "fn_index": fn_index, "session_hash": session}).raise_for_status()
            for item in loadtest.finished_outputs(http, url, session):
                if isinstance(item, dict) and item.get("url"):
                    http.get(urljoin(url, item["url"])).raise_for_status()
        return {"result_s": time.perf_counter() - began, "page_s": page_s, "page_bytes": page_bytes}
    except Exception as error:  # a failure is a finding of the load test, not a crash of it
        return {"result_s": time.perf_counter() - began, "error": f"{type(error).__name__}: {error}"[:300]}


def _load_page(http: httpx.Client, url: str) -> tuple[float, int]:
    """GET the page and the scripts and style sheets its HTML names: (seconds, bytes)."""
    began = time.perf_counter()
    page = http.get(url)
    page.raise_for_status()
    size = len(page.content)
    for asset in ASSETS.findall(page.text):
        response = http.get(urljoin(url, asset))
        response.raise_for_status()
        size += len(response.content)
    return time.perf_counter() - began, size


def _calls(url: str) -> dict:
    """API name → (queue index, [(parameter name, its default)] for each input of the event: (None, None) for a
    browser's state, which a browser sends empty too), for the students' endpoints."""
    client = loadtest.clients(url, 1)[0]
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    kinds = {c["id"]: c.get("type") for c in client.config["components"]}
    wanted = {s.api_name for scenario in SCENARIOS.values() for s in scenario["students"]}
    calls = {}
    for api_name in wanted:
        event = next(d for d in client.config["dependencies"] if "/" + str(d.get("api_name")) == api_name)
        named = ((p["parameter_name"], p["parameter_default"]) for p in endpoints[api_name]["parameters"])
        inputs = [(None, None) if kinds[i] == "state" else next(named) for i in event["inputs"]]
        calls[api_name] = (event["id"], inputs)
    return calls


def _server_note(url: str) -> str | None:
    """The app's own note on where it computes and in which precision (from the page's config)."""
    config = httpx.get(urljoin(url, "config"), timeout=TIMEOUT_S).json()
    return next((c["props"].get("value") for c in config["components"]
                 if c.get("props", {}).get("elem_id") == SERVER_NOTE_ID), None)


def _spread(outcomes: list[dict]) -> dict:
    """First, median and last result (seconds from the class's start), page loads, failures."""
    done = [o for o in outcomes if "error" not in o]
    results = np.array([o["result_s"] for o in done])
    pages = np.array([o["page_s"] for o in done])
    return {"ok": len(done), "failures": len(outcomes) - len(done),
            "failure_messages": sorted({o["error"] for o in outcomes if "error" in o})[:3],
            "result_s": _first_median_last(results), "page_load_s": _first_median_last(pages),
            "page_bytes": int(np.median([o["page_bytes"] for o in done])) if done else None}


def _first_median_last(seconds: np.ndarray) -> dict | None:
    if not seconds.size:
        return None
    return {"first": round(float(seconds.min()), 3), "median": round(float(np.median(seconds)), 3),
            "last": round(float(seconds.max()), 3)}
