"""Fair admission to Gradio's queue: no browser, and no network address, can crowd out the class.

Owns: how many events one browser session and one network address may have waiting or running at
once, in the model groups (counted together) and among all other (cheap, model-free) events, each group's
own capacity, the round-robin order of each queue, the client's network address (behind how many
trusted proxies), and the message a refused request gets.
Does not know: the tabs, the models or the maths; it gets the app's ``gr.Blocks`` after
``demo.queue(...)`` and the names of the model groups.

Why this mechanism. In Gradio 6.31 (``gradio/queueing.py``) every queued event passes one door,
``Queue.push``, called by the ``/queue/join`` route. Its only admission rule is one ``max_size`` for
all events of all groups together, checked before it even looks at which group the event belongs
to; ``concurrency_limit`` (per event or per ``concurrency_id``) bounds how many events *run* at once,
not how many *wait*. Each group has its own list (``EventQueue.queue``) that the worker loop serves
first-in first-out. So one script that joins 65 long model runs filled the whole queue and every
student, even on the model-free Add-noise tab, got "Queue is full". ``install`` therefore wraps that
door on the app's own queue instance (nothing else in Gradio changes):

- Gradio's ``max_size`` is only a backstop (``BACKSTOP``, the sum of both groups' capacities, never
  reached first). Model events (``concurrency_id`` one of the model groups) and all other events are
  counted apart, each against its own ``Limits``: per session (Gradio's ``session_hash``, one per
  browser tab), per network address, and for the whole group. A full model queue never refuses a
  cheap view, and one client can never fill either group.
- Counts are read live from Gradio's own lists (waiting events, and running ones in
  ``active_jobs``), never kept on the side: a cancelled, finished or disconnected event stops
  counting at once, and nothing can leak.
- A refused request is not a bare HTTP error (the browser would show "Connection errored out"):
  it is accepted as an event that at once completes with a ``gr.Error``, exactly the message a
  handler's own error would give ("You already have 3 pictures waiting…"), in the browser and in
  gradio_client alike. Nothing is queued for it.
- After each admission the event's queue is put in round-robin order: across network addresses
  first, then across the sessions of one address (a class behind one school NAT shares an address),
  counting the events already running as served. A student's single request waits behind at most
  one request of every other client, not behind a flooder's whole pile.

The address is the TCP peer, or, behind ``EXPLORER_TRUSTED_PROXIES`` (default: 1 on a Hugging Face
Space, whose proxy appends the real address to X-Forwarded-For; 0 elsewhere) trusted proxies, the
entry that many places from the right of X-Forwarded-For. Entries further left are written by the
client and are never trusted. Uvicorn would otherwise replace the peer by X-Forwarded-For for any
request from 127.0.0.1 (its default FORWARDED_ALLOW_IPS), so a local script could claim any address;
``install`` makes that rule trust no one unless $FORWARDED_ALLOW_IPS is set.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr


@dataclass(frozen=True)
class Limits:
    """At most this many events waiting or running, of one kind: per session, per address, in all."""

    per_session: int
    per_address: int
    total: int
    what: str  # what the user calls one event of this kind, plural ("pictures")


# A student's browser has at most one run per model tab going; 3 leaves room for a tab switch.
# 40 per address: a class of ~30 behind one school NAT, each with a picture on its way, still fits.
MODEL = Limits(per_session=3, per_address=40, total=120, what="pictures")
# Cheap views answer in well under 0.1 s; a browser sends one per widget change (always_last).
LIGHT = Limits(per_session=8, per_address=240, total=480, what="updates")
BACKSTOP = MODEL.total + LIGHT.total  # Gradio's own max_size: the counts above always refuse first
SPACE_PROXIES = 1  # proxies in front of an app on a Hugging Face Space


def install(demo: Any, model_groups: tuple[str, ...]) -> None:
    """Put fair admission and round-robin order in front of ``demo``'s queue (after ``demo.queue(...)``)."""
    queue = demo._queue
    if getattr(queue, "_fair_share", False):
        return
    queue.max_size = BACKSTOP
    os.environ.setdefault("FORWARDED_ALLOW_IPS", "")  # read by uvicorn when the server starts: trust no proxy
    queue.push = _fair_push(queue, queue.push, model_groups)
    queue._fair_share = True


def _fair_push(queue: Any, push: Callable, model_groups: tuple[str, ...]) -> Callable:
    """``queue.push`` with the admission rules in front and the round-robin order after it."""
    admission = asyncio.Lock()  # count and append as one step: parallel joins of one client cannot all pass

    async def fair_push(body, request, username):
        fn = _block_fn(queue, body)
        if fn is None:  # no such event: Gradio answers that itself
            return await push(body, request, username)
        is_model = fn.concurrency_id in model_groups
        async with admission:
            message = refusal(_pending(queue, is_model, model_groups), body.session_hash, client_address(request),
                              MODEL if is_model else LIGHT)
            if message is not None:
                return await _refuse(queue, body, request, username, fn, message)
            accepted = await push(body, request, username)
            if accepted[0]:
                await _reorder(queue, fn.concurrency_id)
            return accepted

    return fair_push


def _block_fn(queue: Any, body: Any) -> Any | None:
    from gradio import route_utils

    try:
        return route_utils.get_fn(queue.blocks, None, body)
    except Exception:  # an unknown fn_index or api_name: Gradio's own push refuses it
        return None


# ----------------------------------------------------------------------------- counting

def _pending(queue: Any, is_model: bool, model_groups: tuple[str, ...]) -> list[tuple[str, str]]:
    """(session, address) of every event of the same kind that is waiting or running now."""
    return [(event.session_hash, client_address(event.request)) for event in _events(queue)
            if (event.concurrency_id in model_groups) == is_model]


def _events(queue: Any) -> list:
    waiting = [event for group in list(queue.event_queue_per_concurrency_id.values()) for event in group.queue]
    running = [event for job in queue.active_jobs if job for event in job]
    return waiting + running


def refusal(pending: list[tuple[str, str]], session: str | None, address: str, limits: Limits) -> str | None:
    """The message that refuses one more event from ``session`` at ``address``, or None to admit it."""
    mine = sum(s == session for s, _ in pending)
    if mine >= limits.per_session:
        return (f"You already have {mine} {limits.what} waiting or being made (at most {limits.per_session} at a time "
                f"per browser). Wait for one to finish, then try again.")
    ours = sum(a == address for _, a in pending)
    if ours >= limits.per_address:
        return (f"Your network already has {ours} {limits.what} waiting (at most {limits.per_address} at a time from "
                f"one address, enough for a whole class). Please try again in a moment.")
    if len(pending) >= limits.total:
        return (f"The app is very busy: {len(pending)} {limits.what} are waiting. Please try again in a minute.")
    return None


def client_address(request: Any) -> str:
    """The client's network address: the TCP peer, or the one the trusted proxies saw (X-Forwarded-For)."""
    hops = trusted_proxies()
    if hops and request is not None:
        forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    client = getattr(request, "client", None)
    return client.host if client else "unknown"


def trusted_proxies() -> int:
    """How many proxies in front of the app append to X-Forwarded-For ($EXPLORER_TRUSTED_PROXIES; 1 on a Space)."""
    default = SPACE_PROXIES if os.environ.get("SPACE_ID") else 0
    try:
        return max(0, int(os.environ.get("EXPLORER_TRUSTED_PROXIES", default)))
    except ValueError:
        return default


# ----------------------------------------------------------------------------- refusing

async def _refuse(queue: Any, body: Any, request: Any, username: Any, fn: Any, message: str) -> tuple:
    """Accept the join as an event that completes at once with ``message`` as a gr.Error; nothing is queued.

    Registered as Gradio registers an event, so that the session's event stream delivers the
    error and then closes as after any finished event.
    """
    from gradio.queueing import Event
    from gradio.server_messages import ProcessCompletedMessage
    from gradio.utils import error_payload

    event = Event(body.session_hash, fn, request, username)
    session = body.session_hash or event.session_hash
    async with queue.pending_message_lock:
        if session not in queue.pending_messages_per_session:
            queue.pending_messages_per_session[session] = asyncio.Queue()
        queue.pending_event_ids_session.setdefault(session, set()).add(event._id)
    content = error_payload(gr.Error(message, print_exception=False), True)
    queue.send_message(event, ProcessCompletedMessage(output=content, title=content.get("title", "Error"),
                                                      success=False))
    return True, event._id, "success"


# ----------------------------------------------------------------------------- order

async def _reorder(queue: Any, concurrency_id: str) -> None:
    """Put the waiting events of ``concurrency_id`` in round-robin order and tell each its new place."""
    async with queue.delete_lock:
        group = queue.event_queue_per_concurrency_id.get(concurrency_id)
        if group is None or len(group.queue) < 2:
            return
        running = [event for job in queue.active_jobs if job for event in job if event.concurrency_id == concurrency_id]
        served = [(event.session_hash, client_address(event.request)) for event in running]
        waiting = [(event.session_hash, client_address(event.request)) for event in group.queue]
        group.queue[:] = [group.queue[i] for i in round_robin(waiting, served)]
    queue.broadcast_estimations(concurrency_id)


def round_robin(waiting: list[tuple[str, str]], served: list[tuple[str, str]] = ()) -> list[int]:
    """Positions of ``waiting`` (session, address) pairs in fair order.

    Each address gets one turn per round, addresses in the order they first appear; within an
    address its sessions take turns the same way, each session's own requests in arrival order.
    ``served`` (the running events) count as turns already taken.
    """
    by_address: dict[str, list[int]] = defaultdict(list)
    for i, (_, address) in enumerate(waiting):
        by_address[address].append(i)
    session_turns = Counter(served)
    address_turns = Counter(address for _, address in served)
    keys = {}
    for rank, (address, positions) in enumerate(by_address.items()):
        seen: Counter = Counter()
        within = []
        for i in positions:  # the address's own requests, sessions taking turns
            key = waiting[i]
            within.append((session_turns[key] + seen[key], i))
            seen[key] += 1
        for turn, (_, i) in enumerate(sorted(within), start=address_turns[address]):
            keys[i] = (turn, rank)
    return sorted(range(len(waiting)), key=lambda i: keys[i])
