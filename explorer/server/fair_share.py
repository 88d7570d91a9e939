"""Fair admission to Gradio's queue: no browser, and no network address, can crowd out the class.

Owns: how many events one browser session and one network address may have waiting or running at
once, in the model groups (counted together) and among all other (cheap, model-free) events, each group's
own capacity, the running places a model group keeps for addresses with nothing running, the places an
address keeps for its settled browsers, how many new browser sessions one address may open per minute, the
round-robin order of each queue, the bound on Gradio's per-session message queues, the client's network address
(behind how many trusted proxies), and the message a refused request gets.
Does not know: the tabs, the models or the maths; it gets the app's ``gr.Blocks`` after
``demo.queue(...)`` and the names of the model groups.

Why this mechanism. In Gradio 6.31 every queued event passes one door (explorer.server.gradio_hooks, which
holds every use of Gradio's internals, says how). Its only admission rule is one ``max_size`` for all
events of all groups together, checked before it even looks at which group the event belongs to;
``concurrency_limit`` (per event or per ``concurrency_id``) bounds how many events *run* at once, not
how many *wait*. Each group has its own list that the worker loop serves first-in first-out. So one
script that joins 65 long model runs filled the whole queue and every student, even on the model-free
Add-noise tab, got "Queue is full". ``install`` therefore wraps that door on the app's own queue
instance, and on that instance replaces the session store and the sending of messages (below);
nothing else in Gradio changes:

- Gradio's ``max_size`` is only a backstop (``BACKSTOP``, the sum of both groups' capacities, never
  reached first). Model events (``concurrency_id`` one of the model groups) and all other events are
  counted apart, each against its own ``Limits``: per session (Gradio's ``session_hash``, one per
  browser tab), per network address, and for the whole group. A full model queue never refuses a
  cheap view, and one client can never fill either group: one address holds at most a quarter of a
  group, so three addresses leave room for a whole class at a fourth.
- A session hash is the client's own word, so a script can invent one per request. Inventing them
  buys little: an address may open at most ``NEW_SESSIONS_PER_MINUTE`` sessions a minute (a class
  arriving at once fits), and the last ``reserve`` places of an address are kept for settled
  browsers (first seen at least ``SETTLED_S`` ago) with nothing waiting or running. A script that
  invents a session per request fills at most the rest of its address, while a classmate behind
  the same address who has used the app before still gets a place. (A script that opens sessions
  and lets them settle, at most ``NEW_SESSIONS_PER_MINUTE`` a minute, looks like a class; it can
  hold no more than its address's places, and never another address's.)
- Counts are read live from Gradio's own lists (waiting events, and running ones), never kept on
  the side: a cancelled, finished or disconnected event stops
  counting at once, and nothing can leak. Only when each session was first seen is kept, for
  at most ``SESSIONS_TRACKED`` sessions.
- A refused request is not a bare HTTP error (the browser would show "Connection errored out"):
  it is accepted as an event that at once completes with a ``gr.Error``, exactly the message a
  handler's own error would give ("You already have 3 pictures waiting…"), in the browser and in
  gradio_client alike. Nothing is queued for it.
- Gradio keeps one message queue per session, read by the session's event stream, in an LRU of 2,000
  that evicts the oldest session whatever it is; a refused join needs one too, to deliver its message.
  So ~2,000 refused joins with invented sessions once evicted the queues of waiting runs, and the next
  message to one of them raised ``KeyError`` in Gradio's worker loop, which then stopped the queue for
  good ("Queue is stopped"). ``install`` replaces that LRU by ``SessionQueues`` of the same size, which
  evicts first a session with nothing waiting or running and nothing unread, then one with nothing
  waiting or running, never one with an event waiting or running (those are bounded by the caps
  above), and makes Gradio forget an evicted session's event ids too; and it makes sending a message
  skip a session whose queue is gone instead of raising.
- The last ``RESERVED_SLOTS`` running places of a model group are kept for an address with nothing running in
  it (``slots_for``, which explorer.server.gradio_hooks makes Gradio's worker loop obey): scripts that keep every
  other place busy with costly runs cannot make a newcomer elsewhere wait for one of them to end. The event that
  starts next is the first in line that may take a place (``next_to_start``), so a script's event held back at
  the head of the line does not hold back a classmate or a newcomer behind it.
- After each admission the event's queue is put in round-robin order: across network addresses
  first, then across the sessions of one address (a class behind one school NAT shares an address),
  counting the events already running as served; among sessions with as many turns, settled ones
  first. A student's single request waits behind at most one request of every other client, not
  behind a flooder's whole pile.

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
import time
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from explorer.server import gradio_hooks as hooks


@dataclass(frozen=True)
class Limits:
    """At most this many events waiting or running, of one kind: per session, per address, in all.

    The last ``reserve`` of an address's ``per_address`` places go only to a settled session with
    nothing waiting or running (one place each)."""

    per_session: int
    per_address: int
    total: int
    what: str  # what the user calls one event of this kind, plural ("pictures")
    reserve: int = 0


# A student's browser has at most one run per model tab going; 3 leaves room for a tab switch.
# 36 per address: a class of ~30 behind one school NAT, each with a picture on its way, still fits (30 places
# before the reserve); a quarter of the 144 in all, so three addresses leave a fourth's worth for everyone else.
MODEL = Limits(per_session=3, per_address=36, total=144, what="pictures", reserve=6)
# Cheap views answer in well under 0.1 s; a browser sends one per widget change (always_last).
LIGHT = Limits(per_session=8, per_address=120, total=480, what="updates", reserve=24)
BACKSTOP = MODEL.total + LIGHT.total  # Gradio's own max_size: the counts above always refuse first
NEW_SESSIONS_PER_MINUTE = 60  # new browser sessions one address may open a minute: a class of 30 and its reloads
SETTLED_S = 60.0  # a session first seen this long ago is settled: it may take its address's reserved places
SESSIONS_TRACKED = 20_000  # sessions whose first sight is remembered (the oldest forgotten first)
SPACE_PROXIES = 1  # proxies in front of an app on a Hugging Face Space
RESERVED_SLOTS = 2  # a model group's last running places: only for an address with nothing running in the group
# (the next-to-last also for a browser here a while with nothing running: a classmate behind a script's address)


def install(demo: Any, model_groups: tuple[str, ...]) -> None:
    """Put fair admission and round-robin order in front of ``demo``'s queue (after ``demo.queue(...)``)."""
    queue = hooks.queue_of(demo)
    if getattr(queue, "_fair_share", False):
        return
    hooks.set_backstop(queue, BACKSTOP)
    os.environ.setdefault("FORWARDED_ALLOW_IPS", "")  # read by uvicorn when the server starts: trust no proxy
    hooks.replace_session_store(queue, lambda max_size, items: SessionQueues(queue, max_size, items))
    hooks.install_send(queue, lambda send: _tolerant_send(queue, send))
    queue._fair_sessions = Sessions()
    hooks.install_push(queue, lambda push: _fair_push(queue, push, model_groups, queue._fair_sessions))
    queue._fair_share = True


def _fair_push(queue: Any, push: Callable, model_groups: tuple[str, ...], sessions: Sessions) -> Callable:
    """``queue.push`` with the admission rules in front and the round-robin order after it."""
    admission = asyncio.Lock()  # count and append as one step: parallel joins of one client cannot all pass

    async def fair_push(body, request, username):
        fn = hooks.handler_of(queue, body)
        if fn is None:  # no such event: Gradio answers that itself
            return await push(body, request, username)
        is_model = fn.concurrency_id in model_groups
        async with admission:
            now, address, session = time.monotonic(), client_address(request), body.session_hash
            first = sessions.first_seen(session)
            if first is None:
                message = new_session_refusal(sessions.opened(address, now), now, NEW_SESSIONS_PER_MINUTE)
                if message is not None:
                    return await hooks.refuse(queue, body, request, username, fn, message)
                sessions.open(session, address, now)
                first = now
            message = refusal(_pending(queue, is_model, model_groups), session, address,
                              MODEL if is_model else LIGHT, settled=now - first >= SETTLED_S)
            if message is not None:
                return await hooks.refuse(queue, body, request, username, fn, message)
            accepted = await push(body, request, username)
            if accepted[0]:
                if is_model:
                    hooks.rule_group_limit(queue, fn.concurrency_id, _slot_rule(queue, fn.concurrency_id, sessions))
                await _reorder(queue, fn.concurrency_id, sessions)
            return accepted

    return fair_push


# ----------------------------------------------------------------------------- counting

def _pending(queue: Any, is_model: bool, model_groups: tuple[str, ...]) -> list[tuple[str, str]]:
    """(session, address) of every event of the same kind that is waiting or running now."""
    return [(event.session_hash, client_address(event.request)) for event in _events(queue)
            if (event.concurrency_id in model_groups) == is_model]


def _events(queue: Any) -> list:
    return hooks.waiting_events(queue) + hooks.running_events(queue)


def refusal(pending: list[tuple[str, str]], session: str | None, address: str, limits: Limits,
            settled: bool = True) -> str | None:
    """The message that refuses one more event from ``session`` at ``address``, or None to admit it.

    ``pending``: (session, address) of every event of the same kind waiting or running now; ``settled``:
    whether ``session`` was first seen at least SETTLED_S ago.
    """
    mine = sum(s == session for s, _ in pending)
    if mine >= limits.per_session:
        return (f"You already have {mine} {limits.what} waiting or being made (at most {limits.per_session} at a time "
                f"per browser). Wait for one to finish, then try again.")
    ours = sum(a == address for _, a in pending)
    if ours >= limits.per_address:
        return (f"Your network already has {ours} {limits.what} waiting (at most {limits.per_address} at a time from "
                f"one address, enough for a whole class). Please try again in a moment.")
    if ours >= limits.per_address - limits.reserve and (mine or not settled):
        return (f"Your network already has {ours} {limits.what} waiting; its last {limits.reserve} places are kept "
                f"for browsers that have been here a while and have nothing waiting. Please try again in a moment.")
    if len(pending) >= limits.total:
        return (f"The app is very busy: {len(pending)} {limits.what} are waiting. Please try again in a minute.")
    return None


def slots_for(limit: int, address: str, running_addresses: Iterable[str], reserved: int = RESERVED_SLOTS,
              settled_newcomer: bool = False) -> int:
    """How many of a model group's ``limit`` running places an event waiting in its line may count on: all of them
    when its address has nothing running in the group; all but the last one when it comes from a ``settled_newcomer``
    (a browser here a while with nothing running in the group) at a busy address; else all but the last
    ``reserved`` (never fewer than one).

    Why: the round-robin order puts a newcomer's request first in the line, but it still waits for a running place,
    and scripts that keep every place busy with costly runs (which, taking turns fairly, all finish late and
    together) made a student elsewhere wait for a whole wave of them (issue 26, session churn: 12 s against 0.6 s
    quiet). A class behind one address uses limit − reserved places at once; a classmate behind a script's address
    takes the next-to-last place (the script's invented sessions are never settled), the last stays for an address
    with nothing running."""
    if address not in set(running_addresses):
        return limit
    if settled_newcomer:
        return max(1, limit - min(reserved, 1))
    return max(1, limit - reserved)


def next_to_start(limit: int, line: Iterable[tuple[str, str, bool]],
                  running: list[tuple[str, str]]) -> tuple[int, int]:
    """Which waiting event of a model group starts next, and the running places it may count on: the first in
    ``line`` ((session, address, settled) in the line's order, read only as far as needed) that ``slots_for`` lets
    start beside the ``running`` (session, address) pairs, else the first (it waits). A classmate or a newcomer
    behind a script's events, which hold all the places the script may have, does not wait for one of them to end."""
    running_addresses = {address for _, address in running}
    running_sessions = {session for session, _ in running}
    first_slots = limit  # an empty line: the group's own limit
    for position, (session, address, settled) in enumerate(line):
        slots = slots_for(limit, address, running_addresses,
                          settled_newcomer=settled and session not in running_sessions)
        if len(running) < slots:
            return position, slots
        if position == 0:
            first_slots = slots
    return 0, first_slots


def _slot_rule(queue: Any, group: str, sessions: Sessions) -> Callable[[int, list], tuple[int, int]]:
    """``next_to_start`` as explorer.server.gradio_hooks.rule_group_limit applies it to ``group``'s line."""
    def rule(limit: int, line: list) -> tuple[int, int]:
        now = time.monotonic()
        running = [(event.session_hash, client_address(event.request)) for event in hooks.running_events(queue)
                   if event.concurrency_id == group]
        waiting = ((event.session_hash, client_address(event.request), sessions.settled(event.session_hash, now))
                   for event in line)  # read as far as next_to_start needs: usually the first event only
        return next_to_start(limit, waiting, running)
    return rule


def new_session_refusal(opened: Iterable[float], now: float, per_minute: int) -> str | None:
    """The message that refuses a new browser session from an address that opened sessions at times
    ``opened`` (time.monotonic()), or None to let it open one more."""
    recent = sum(0 <= now - t < 60.0 for t in opened)
    if recent >= per_minute:
        return (f"Too many new browser sessions from your network: {recent} in the last minute (at most "
                f"{per_minute}). Please wait a minute, then try again.")
    return None


class Sessions:
    """When each browser session was first seen (the latest SESSIONS_TRACKED), and when each address opened its
    sessions in the last minute."""

    def __init__(self, kept: int = SESSIONS_TRACKED):
        self.kept = kept
        self.first: OrderedDict[str, float] = OrderedDict()
        self.by_address: dict[str, deque[float]] = {}

    def first_seen(self, session: str | None) -> float | None:
        return self.first.get(session) if session is not None else None

    def opened(self, address: str, now: float) -> deque[float]:
        """When ``address`` opened its sessions in the last minute (older times are dropped)."""
        times = self.by_address.get(address, deque())
        while times and now - times[0] >= 60.0:
            times.popleft()
        return times

    def open(self, session: str | None, address: str, now: float) -> None:
        if session is not None:
            self.first[session] = now
            while len(self.first) > self.kept:
                self.first.popitem(last=False)
        self.by_address.setdefault(address, deque())
        self.opened(address, now).append(now)
        if len(self.by_address) > self.kept:  # many addresses: forget those quiet for a minute
            for quiet in [a for a in self.by_address if not self.opened(a, now)]:
                del self.by_address[quiet]

    def settled(self, session: str | None, now: float) -> bool:
        first = self.first_seen(session)
        return first is not None and now - first >= SETTLED_S


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


# ----------------------------------------------------------------------------- refusing and sending

def _tolerant_send(queue: Any, send: Callable) -> Callable:
    """``send(event, message)`` that skips an event whose session has no message queue any more (nobody is
    listening) instead of raising KeyError, which inside Gradio's worker loop would stop the queue for good."""

    def tolerant_send(event, message):
        if not hooks.listening(queue, event):
            return None
        return send(event, message)

    return tolerant_send


class SessionQueues(OrderedDict):
    """Gradio's per-session message queues (``gradio_hooks.session_store``), at most ``max_size`` of them like
    Gradio's own LRU, but a full one evicts ``eviction_choice``'s session, never one with an event waiting or
    running (it may then hold more; those are bounded by the caps). Gradio forgets an evicted session's event
    ids too (a refused join's would stay there for good)."""

    def __init__(self, queue: Any, max_size: int = 2000, items: Iterable = ()):
        super().__init__()
        self.queue, self.max_size = queue, max_size
        for key, value in items:
            self[key] = value

    def __setitem__(self, key, value) -> None:
        if key in self:
            self.move_to_end(key)
        elif len(self) >= self.max_size:
            live = {event.session_hash for event in _events(self.queue)}
            live.update(event.session_hash for event in hooks.known_events(self.queue))
            unread = {session for session, messages in self.items() if not messages.empty()}
            evicted = eviction_choice(self, live, unread)
            if evicted is not None:
                super().__delitem__(evicted)
                hooks.forget_session_events(self.queue, evicted)
        super().__setitem__(key, value)

    def __delitem__(self, key) -> None:  # Gradio deletes a closed stream's queue, which may be gone already
        if key in self:
            super().__delitem__(key)


def eviction_choice(order: Iterable[str], live: set[str], unread: set[str]) -> str | None:
    """The session whose message queue goes when a new one is needed: of the sessions in ``order`` (oldest
    first), the oldest with no event waiting or running (``live``) and no unread message, else the oldest
    not live, else None (all are live: keep them all)."""
    fallback = None
    for session in order:
        if session in live:
            continue
        if session not in unread:
            return session
        fallback = fallback or session
    return fallback


# ----------------------------------------------------------------------------- order

async def _reorder(queue: Any, concurrency_id: str, sessions: Sessions | None = None) -> None:
    """Put the waiting events of ``concurrency_id`` in round-robin order and tell each its new place."""
    async with hooks.order_lock(queue):
        line = hooks.group_queue(queue, concurrency_id)
        if line is None or len(line) < 2:
            return
        running = [event for event in hooks.running_events(queue) if event.concurrency_id == concurrency_id]
        served = [(event.session_hash, client_address(event.request)) for event in running]
        waiting = [(event.session_hash, client_address(event.request)) for event in line]
        now = time.monotonic()
        settled = {s for s, _ in waiting if sessions is not None and sessions.settled(s, now)}
        line[:] = [line[i] for i in round_robin(waiting, served, settled if sessions else None)]
    hooks.broadcast(queue, concurrency_id)


def round_robin(waiting: list[tuple[str, str]], served: list[tuple[str, str]] = (),
                settled: set[str] | None = None) -> list[int]:
    """Positions of ``waiting`` (session, address) pairs in fair order.

    Each address gets one turn per round, addresses in the order they first appear; within an
    address its sessions take turns the same way, each session's own requests in arrival order.
    ``served`` (the running events) count as turns already taken. Given ``settled`` sessions, those
    go first among an address's sessions with as many turns taken (a classmate before a script's
    freshly invented sessions).
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
            fresh = settled is not None and key[0] not in settled
            within.append((session_turns[key] + seen[key], fresh, i))
            seen[key] += 1
        for turn, (*_, i) in enumerate(sorted(within), start=address_turns[address]):
            keys[i] = (turn, rank)
    return sorted(range(len(waiting)), key=lambda i: keys[i])
