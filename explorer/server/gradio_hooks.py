"""The one door into Gradio's internals: every use of a private Gradio attribute, module or class-level patch.

Owns: how the app reaches what Gradio 6.31 offers no public API for, as small named functions the policy
modules call (explorer.server.fair_share, estimates, serving, upload_limits, openings, common): the queue's
events (waiting, running, per group), its door (``Queue.push``), its messages to the browsers (the
per-session message queues, ``send_message``, ``broadcast_estimations``), the handlers of a ``Blocks``
(``Blocks.fns``), the request a handler serves (``LocalContext.request``), a group's running limit as the
worker loop reads it (``EventQueue.concurrency_limit``), the temporary file sets, the uvicorn server Gradio
builds, the block being built (``gradio.context``), and the class-level patches of
``gr.Slider``/``gr.Number``/``gr.Textbox`` preprocess, ``gr.Blocks.validate_inputs``, ``gr.ImageEditor``'s
preprocess and blob route, and when a session's block configs are made (``SessionState``).
Does not know: any policy (who is admitted, what an ETA is, what an upload may weigh): those are pure
functions in their modules; this one only carries them into Gradio.

Checked against Gradio ``CHECKED_AGAINST`` (read in its source, ``gradio/queueing.py``,
``gradio/blocks.py``, ``gradio/http_server.py``, ``gradio/components/image_editor.py``). Another
version may move any of these: importing this module then logs a warning, and tests/test_gradio_hooks.py
fails, naming this module, until each hook below is checked against the new source and CHECKED_AGAINST
moved. No other module may name these internals (tests/test_gradio_hooks.py scans the source).

What Gradio 6.31 does that the hooks rely on:

- Every queued event passes one door, ``Queue.push``, called by the ``/queue/join`` route; its only
  admission rule is one ``max_size`` for all groups together. Each ``concurrency_id`` has its own list
  (``event_queue_per_concurrency_id[id].queue``) served first-in first-out; running events are in
  ``active_jobs``. ``install_push`` wraps that door on the app's own queue instance.
- Each browser session has one message queue (``pending_messages_per_session``, an LRU of 2,000 that
  evicts the oldest whatever it is), read by its ``/queue/data`` stream; ``send_message`` to a session
  whose queue was evicted raises KeyError inside the worker loop, which then stops for good.
  ``replace_session_store`` swaps in the app's own store; ``listening`` says whether a session still
  has a queue. A join refused by the app is registered as Gradio registers an event (``refuse``).
- ``ProcessStartsMessage.eta`` tells a starting event its expected run time; ``broadcast_estimations``
  sends each waiting event its rank and ETA (``EstimationMessage``).
- The page (``/``) and the config (``/config``) are made per request from ``blocks.config``, fixed at launch, the
  user and the request's address (``PAGE_ADDRESS_HEADERS``), or from a stored ``deep_link`` state.
- ``launch`` passes no uvicorn settings: ``gradio.http_server.start_server`` builds the
  ``uvicorn.Config`` and hands it to ``gradio.http_server.Server``; ``adjust_server_configs`` replaces
  that class by a subclass that adjusts the config first.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

import gradio as gr

CHECKED_AGAINST = "6.31.0"  # the Gradio version whose source these hooks were read against
# The request headers Gradio reads to name the app's own address in the page and the config it sends
# (route_utils.get_request_origin); with the path, the query, the scheme and the root path, the page of an app
# without login and without a ``deep_link`` depends on nothing else (routes.py ``main``, ``get_config``), which
# explorer.server.page_cache relies on
PAGE_ADDRESS_HEADERS = (b"host", b"x-forwarded-host", b"x-gradio-server", b"x-forwarded-proto")
RULE_AGAIN_S = 0.05  # a group's slot rule is asked again this often while its line and running count stay the same


def version_problem(installed: str | None = None) -> str | None:
    """Why the installed Gradio may not fit these hooks, or None when it is the version they were checked against."""
    installed = gr.__version__ if installed is None else installed
    if installed == CHECKED_AGAINST:
        return None
    return (f"explorer/server/gradio_hooks.py was checked against gradio {CHECKED_AGAINST}, but gradio {installed} is "
            f"installed: check each hook in explorer/server/gradio_hooks.py against the new Gradio source, then set "
            f"its CHECKED_AGAINST.")


def _warn_on_import() -> None:
    problem = version_problem()
    if problem is not None:
        logging.getLogger(__name__).warning(problem)


_warn_on_import()


# ----------------------------------------------------------------------------- the Blocks and its handlers

def current_blocks() -> Any:
    """The ``gr.Blocks`` being built (inside its ``with``), to attach page-load events to."""
    from gradio.context import Context

    return Context.root_block


def handlers(demo: Any) -> list:
    """Every handler (``BlockFunction``) of ``demo``: its events' ``fn``, inputs, api_name and concurrency."""
    return list(demo.fns.values())


def wrap_handler(block_fn: Any, wrapper: Callable[[Callable], Callable], mark: str) -> None:
    """Replace the function a handler runs by ``wrapper(it)``, once: ``mark`` names the wrapping."""
    if not getattr(block_fn.fn, mark, False):
        block_fn.fn = wrapper(block_fn.fn)
        setattr(block_fn.fn, mark, True)


def current_request() -> Any | None:
    """The request whose handler runs in this thread now (Gradio sets it before each call or generator step)."""
    from gradio.context import LocalContext

    return LocalContext.request.get(None)


def handler_parameters(block_fn: Any) -> list[str]:
    """The parameter names of the function a handler runs (through any wrappers), in its inputs' order."""
    return list(inspect.signature(inspect.unwrap(block_fn.fn)).parameters)


def point_cache(demo: Any, folder: str) -> None:
    """Make ``demo`` and each of its blocks keep their new temporary files in ``folder``."""
    for block in [demo, *demo.blocks.values()]:
        block.GRADIO_CACHE = folder


def temp_file_name_sets(blocks: Any) -> list[set]:
    """The sets of temporary file names ``blocks`` keeps (uploads, pictures shown); names may be discarded."""
    return list(blocks.temp_file_sets)


def upload_files(blocks: Any) -> set | None:
    """The set of names of the files uploaded to ``blocks``, or None when Gradio keeps none apart."""
    return getattr(blocks, "upload_file_set", None)


def kept_files(blocks: Any) -> set:
    """Names of the files Gradio keeps for good (initial values, examples)."""
    keep: set = set()
    for block in list(blocks.blocks.values()):
        keep.update(getattr(block, "keep_in_cache", ()) or ())
    return keep


# ----------------------------------------------------------------------------- class-level patches

def replace_preprocess(component_class: type, preprocess: Callable[[Any, Any], Any]) -> None:
    """Every instance of ``component_class`` (also those Gradio makes per session) preprocesses with ``preprocess``."""
    component_class.preprocess = preprocess


def replace_input_count_check(check: Callable[[Any, Any, list], None]) -> None:
    """Gradio's check that a request sent all of a handler's inputs becomes ``check(blocks, block_fn, inputs)``."""
    gr.Blocks.validate_inputs = check


def guard_editors(check: Callable[[Any, Any], None], accept: Callable[[Any, Any, Callable[[], Any]], Any]) -> None:
    """Every gr.ImageEditor and gr.Sketchpad: ``check(editor, payload)`` before Gradio decodes a drawing, and each
    blob (one part of an unfinished drawing) stored by ``accept(editor, data, store)``, where ``store()`` is
    Gradio's own storing. Set on the class, so that copies Gradio keeps per session are guarded too. Idempotent."""
    editor = gr.ImageEditor
    if getattr(editor.preprocess, "_bounded", False):
        return
    original_preprocess, original_accept = editor.preprocess, editor.accept_blobs

    def preprocess(self, payload):
        check(self, payload)
        return original_preprocess(self, payload)

    def accept_blobs(self, data):
        return accept(self, data, lambda: original_accept(self, data))

    preprocess._bounded = True
    accept_blobs._is_server_fn = True  # Gradio serves only methods marked as server functions
    editor.preprocess, editor.accept_blobs = preprocess, accept_blobs


def drawings(editor: Any) -> dict:
    """An editor's store of unfinished drawings (drawing id → its parts), oldest first; Gradio pops one it reads."""
    return editor.blob_storage


# ----------------------------------------------------------------------------- the server

def adjust_server_configs(adjust: Callable[[Any], Any]) -> bool:
    """Every uvicorn server Gradio starts from now on gets ``adjust(config)`` before it loads its config.

    False (nothing done) when Gradio's layout differs; idempotent."""
    from gradio import http_server

    server_class = getattr(http_server, "Server", None)
    if server_class is None or not hasattr(server_class, "run_in_thread"):
        return False
    if getattr(server_class, "_bounded", False):
        return True

    class BoundedServer(server_class):
        _bounded = True

        def __init__(self, config, *args, **kwargs):
            adjust(config)
            super().__init__(config, *args, **kwargs)

    http_server.Server = BoundedServer
    return True


# ----------------------------------------------------------------------------- the queue: reading it

def queue_of(demo: Any) -> Any:
    """``demo``'s queue (after ``demo.queue(...)``)."""
    return demo._queue


def set_backstop(queue: Any, max_size: int) -> None:
    """Gradio's own cap on all queued events together."""
    queue.max_size = max_size


def waiting_events(queue: Any) -> list:
    """Every event waiting, in all groups."""
    return [event for group in list(queue.event_queue_per_concurrency_id.values()) for event in group.queue]


def running_events(queue: Any) -> list:
    """Every event running now."""
    return [event for job in queue.active_jobs if job for event in job]


def group_queue(queue: Any, concurrency_id: str) -> list | None:
    """The list of the events waiting in one group, first served first (may be reordered in place), or None when the
    group has no queue yet."""
    group = queue.event_queue_per_concurrency_id.get(concurrency_id)
    return None if group is None else group.queue


def rule_group_limit(queue: Any, concurrency_id: str, rule: Callable[[int, list], tuple[int, int]]) -> None:
    """From now on, Gradio's worker loop starts the events of group ``concurrency_id`` as ``rule`` says: ``rule(the
    group's own limit, its line of waiting events)`` gives (the position of the event that should start next, the
    running places it may count on); that event is moved to the front of the line and the group's limit is those
    places, read each time the loop looks for an event to start (``EventQueue.concurrency_limit``, through a
    property on the group's own instance). So an event the rule holds back does not hold back those behind it.
    Once per group, after Gradio made it (at the group's first join); a rule that fails leaves the group's own
    limit and its line as they were."""
    group = queue.event_queue_per_concurrency_id.get(concurrency_id)
    if group is None or getattr(group, "_ruled", False):
        return

    class RuledEventQueue(type(group)):
        _ruled = True

        @property
        def concurrency_limit(self) -> int | None:
            if self._own_limit is None or not self.queue:
                return self._own_limit
            state, now = self._line_state(), time.monotonic()
            if self._ruled_for is not None and self._ruled_for[0] == state and now - self._ruled_for[1] < RULE_AGAIN_S:
                return self._ruled_for[2]  # the loop asks every millisecond while its line waits
            try:
                position, slots = rule(self._own_limit, self.queue)
            except Exception:  # never stop the worker loop over a policy
                logging.getLogger(__name__).exception("The slot rule failed; the group's own limit applies.")
                return self._own_limit
            if position:  # on the loop's thread, between its awaits: nothing else touches the line meanwhile
                self.queue.insert(0, self.queue.pop(position))
            self._ruled_for = (self._line_state(), now, slots)
            return slots

        def _line_state(self) -> tuple:
            """What the rule's answer depends on, cheaply: running count, line length, its first and last event."""
            return self.current_concurrency, len(self.queue), id(self.queue[0]), id(self.queue[-1])

        @concurrency_limit.setter
        def concurrency_limit(self, value: int | None) -> None:
            self._own_limit = value

    group._own_limit = group.__dict__.pop("concurrency_limit")
    group._ruled_for = None  # (line state, when, places) of the rule's last answer
    group.__class__ = RuledEventQueue


def group_slots(queue: Any, concurrency_id: str) -> int:
    """How many events of one group run at once (1 when unknown)."""
    group = queue.event_queue_per_concurrency_id.get(concurrency_id)
    if group is None:
        return 1
    return (group._own_limit if getattr(group, "_ruled", False) else group.concurrency_limit) or 1  # not the rule's


def known_events(queue: Any) -> list:
    """Every event the queue still knows by id (waiting, running, or finishing)."""
    return list(queue.event_ids_to_events.values())


def order_lock(queue: Any) -> Any:
    """The lock the queue holds while it takes events from a group's list (hold it to reorder one)."""
    return queue.delete_lock


def handler_of(queue: Any, body: Any) -> Any | None:
    """The handler a join request names, or None (Gradio's own push then refuses it).

    Read from the app's own handlers, never through ``route_utils.get_fn``: for a session hash it has not
    seen, that builds the session's state (a copy of every block's config, 20–40 ms on a 2-vCPU Intel Xeon) on the
    event loop, so a script that invents a session per join stalled every student's stream (issue 26,
    session churn: 37 % of the server's time, 2026-12-03). A session's own handlers differ from the app's only
    in rendered blocks, never in their concurrency group, which is all admission reads."""
    if body.fn_index is None:
        return None
    return queue.blocks.fns.get(body.fn_index)


def event_id(event: Any) -> str:
    return event._id


def event_inputs(event: Any) -> list:
    """The inputs a queued event was sent with (a list, in its handler's order)."""
    return list(getattr(event.data, "data", None) or [])


# ----------------------------------------------------------------------------- the queue: changing it

def install_push(queue: Any, wrapper: Callable[[Callable], Callable]) -> None:
    """Wrap the door of ``queue``: ``push(body, request, username)`` becomes ``wrapper(push)``."""
    queue.push = wrapper(queue.push)


def install_send(queue: Any, wrapper: Callable[[Callable], Callable]) -> None:
    """Wrap what sends one message to one event's browser: ``send(event, message)`` becomes ``wrapper(send)``."""
    queue.send_message = wrapper(queue.send_message)


def install_broadcast(queue: Any, wrapper: Callable[[Callable], Callable]) -> None:
    """Wrap what tells a group's waiting events their rank and ETA: ``broadcast(concurrency_id, after=None)``."""
    queue.broadcast_estimations = wrapper(queue.broadcast_estimations)


def send(queue: Any, event: Any, message: Any) -> None:
    """Send ``message`` to ``event``'s browser (through every installed wrapper)."""
    queue.send_message(event, message)


def broadcast(queue: Any, concurrency_id: str) -> None:
    """Tell the waiting events of ``concurrency_id`` their ranks and ETAs."""
    queue.broadcast_estimations(concurrency_id)


def listening(queue: Any, event: Any) -> bool:
    """Whether ``event``'s session still has a message queue (sending to one without raises KeyError)."""
    return event.session_hash in queue.pending_messages_per_session


def send_if_listening(queue: Any, event: Any, message: Any) -> None:
    if listening(queue, event):
        send(queue, event, message)


def session_store(queue: Any) -> Any:
    """The per-session message queues (session → asyncio.Queue)."""
    return queue.pending_messages_per_session


def replace_session_store(queue: Any, make: Callable[[int, Iterable], Any]) -> None:
    """Swap the per-session message queues for ``make(max_size, items)`` (a mapping with the same content)."""
    old = queue.pending_messages_per_session
    queue.pending_messages_per_session = make(getattr(old, "max_size", 2000), old.items())


def lazy_session_configs() -> None:
    """Every new browser session's copy of each block's config (``SessionState.config_values``) is made when first
    needed instead of when the session starts. Gradio 6.31 builds all of them for every new session (~33 ms of
    one core for this app's 442 blocks, measured), yet reads them only to save a session for a deep link
    (``/gradio_api/deep_link``, which gets them all) and to update one block's. Once per process."""
    from gradio import state_holder

    session_state = state_holder.SessionState
    if getattr(session_state, "_lazy_configs", False):
        return
    build = session_state.__init__

    def __init__(self, blocks) -> None:
        build(self, SimpleNamespace(default_config=blocks.default_config, blocks={}))  # no config built here
        self.config_values = _LazyConfigs(self.blocks_config, blocks.blocks)

    session_state.__init__ = __init__
    session_state._lazy_configs = True


class _LazyConfigs(dict):
    """``SessionState.config_values``: a block's config is added when Gradio sets or asks for it, and all of the
    app's blocks' configs, in their order, when it reads them all (``items``)."""

    def __init__(self, blocks_config: Any, app_blocks: dict) -> None:
        super().__init__()
        self._blocks_config, self._app_blocks = blocks_config, app_blocks

    def items(self):
        made = {key: self[key] if key in self else self._blocks_config.config_for_block(key, [], block)
                for key, block in self._blocks_config.blocks.items() if key in self._app_blocks}
        made.update((key, value) for key, value in super().items() if key not in made)
        self.clear()
        self.update(made)
        return super().items()


def forget_session_events(queue: Any, session: str) -> None:
    """Drop the event ids the queue keeps for ``session`` (its message queue was evicted)."""
    queue.pending_event_ids_session.pop(session, None)


async def refuse(queue: Any, body: Any, request: Any, username: Any, fn: Any, message: str) -> tuple:
    """Accept a join as an event that completes at once with ``message`` as a gr.Error; nothing is queued.

    Registered as Gradio registers an event, so that the session's event stream delivers the error and
    then closes as after any finished event; a session without a message queue gets one."""
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


# ----------------------------------------------------------------------------- the queue's messages

def is_start(message: Any) -> bool:
    from gradio.server_messages import ProcessStartsMessage

    return isinstance(message, ProcessStartsMessage)


def end_success(message: Any) -> bool | None:
    """Whether an event's last message says it succeeded; None when ``message`` is not an event's last."""
    from gradio.server_messages import ProcessCompletedMessage

    return message.success if isinstance(message, ProcessCompletedMessage) else None


def set_start_eta(message: Any, eta: float) -> None:
    """Tell a starting event how long it is expected to run."""
    message.eta = eta


def estimation(rank: int, eta: float | None, queue_size: int) -> Any:
    """The message that tells a waiting event its place and ETA."""
    from gradio.server_messages import EstimationMessage

    return EstimationMessage(rank=rank, rank_eta=eta, queue_size=queue_size)
