"""The "Toy in 2-D" tab: a diffusion model on 2-D points that the class watches train, live, in seconds.

Owns: the layout (a point set to pick or draw in two colours; the forward slider k dissolving the cloud and the
learned arrows at that k; Train / Stop / Start over with the loss curve and the arrows updating about every
TRAIN_REFRESH_S times the runs training at once; Generate with steps, guidance and seed, the particles streamed
step by step and then scrubbable; one jump against many steps on the same static beside an untrained network's
particles, behind a predict-then-reveal question), and its events. Each browser trains its own model, kept in its
``gr.State`` (one training run per browser at a time; at most MAX_RUN_STEPS a run and
explorer.toy2d.model.MAX_TRAIN_STEPS a model; at most explorer.toy2d.data.MAX_POINTS points); the pages open on the
default run (two moons), trained once per process by the same code in the background (explorer.server.openings).
Generating runs in the quick model group ``serving.MODEL_GROUP``, training in its own group
``serving.TRAINING_GROUP`` (a training run, seconds long, never holds a picture's running place), each chunk of
training steps in its turn at the network (explorer.server.turns), so the class keeps being served while students
train; Stop ends a run at its next chunk (and the run shows that it stopped), closing the page at its next update.
Named endpoints (all arguments have defaults): ``/toy_forward`` (points, k), ``/toy_train`` (points, k,
train_steps, and the page's clock at the press, which a caller leaves out; streams), ``/toy_generate`` (points,
steps, guidance, seed; streams).
Links: the built-in point set, k, the training steps per press, the steps, the guidance and the seed travel in the
tab's links (explorer.ui.links; a drawn set cannot, so ``points=drawn`` is left out with a note); a link naming any
of them presses Generate once the opening's particles are on the page (else the opening, trained in the
background, could land over the linked run). Choosing a point set (or a link's) shows that set's model: this
browser's, the default run for two moons, or none yet. On a phone, Train and Generate scroll their chart into view.
Does not know: the maths (explorer.toy2d does it).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import lru_cache

import gradio as gr
import torch

from explorer.checks import MAX_SEED, check_seed, whole_number
from explorer.guidance import check_guidance
from explorer.server import estimates, openings, serving
from explorer.toy2d import data as toy_data
from explorer.toy2d import forward, model, plots
from explorer.ui import common, links, predict_reveal, toy_runs

CAPTION = ("**Watch a diffusion model learn:** press **Train** and see the arrows learn where the points belong, "
           "then **Generate** and watch static flow into the shape.")
LESSON = """
### A diffusion model you can watch learn
Each point is like one picture, but with only 2 numbers instead of 784, so the whole model fits on the screen.

- **Forward (k):** the same recipe as on the Add noise tab fades the points and adds random static, until at
  k = 1000 the shape has dissolved into a round blob.
- **Train:** a small network (five layers, about 55,000 numbers to learn) is shown noisy points, their k and
  their colour, and guesses the static that was added. The loss is how wrong its guesses are; it cannot reach 0,
  because the static is random.
- **The arrows** show where the network would move a point at this k: towards the data. At large k they
  point roughly to the middle; at small k they point at the nearest part of the shape.
- **Generate:** particles start as static and take small steps along the arrows. With guidance each colour
  is pushed towards its own shape; with guidance 0 the colours mix.
"""
MATHS = """
Forward: x_k = √ᾱ_k·x_0 + √(1−ᾱ_k)·ε with the cosine schedule of the other tabs (k = 1 … 1000). The network
ε̂(x, k, class) is trained with the mean squared error to ε; 15 % of its training rows get the class "none", so
the same network also answers without a class. Generating uses deterministic DDIM steps:
x̂_0 = (x − √(1−ᾱ_k)·ε̂)/√ᾱ_k, then x ← √ᾱ_k'·x̂_0 + √(1−ᾱ_k')·ε̂ at the next, smaller k', with guidance
ε̂ = ε̂_none + s·(ε̂_class − ε̂_none) (s = 0: no class, 1: the class, more: pushed past it). The particles start
at k = 990 (√ᾱ = 0.014: static to the eye): from k = 1000 exactly the first guess of x̂_0 would divide the
network's error by 0.00005. Everything runs in 32-bit numbers; the same seed gives the same model and the same
particles.
"""
ONE_JUMP = ("**One jump or many small steps:** one big step, your number of small steps and an untrained "
            "network, all from the same static.")
# the event's inputs as they are, with the page's clock (ms) as the last one: (inputs, then outputs) → inputs
TRAIN_JS = "(name, k, steps, session) => [name, k, steps, session, Date.now()]"
ENDING_JS = "(name, k, session) => [name, k, session, Date.now()]"
TRAIN_REFRESH_S = 0.3  # a training run shows its progress about this often, times the runs training at once (the
# pictures of progress then cost the server the same whether one student trains or thirty)
FRAMES_SHOWN = 30  # a streamed generation shows at most this many frames ...
FRAME_PAUSE_S = 0.05  # ... at least this far apart, so the flow can be watched
MAX_RUN_STEPS = 5000  # training steps per press of Train
PARTICLES = 500
DRAWN_LABEL = "My drawing"
DRAW_HINT = "Draw with the two colours: each colour is one class."
SET_CHOICES = [(title, key) for key, (title, _, _) in toy_data.SETS.items()] + [(DRAWN_LABEL, toy_data.DRAWN)]
SET_KEYS = tuple(key for _, key in SET_CHOICES)
DEFAULT_K = 300
RESULTS_ID = "toy-results"
CONTROLS_ID = "toy-controls"
K_LABEL = "k: noising steps (1000 = pure static)"
GUIDANCE_LABEL = "Guidance: how hard each colour pulls"
SEED_LABEL = "Seed: which static"
STATUS_ID = "toy-status"
CLOUD_ID, ARROWS_ID = "toy-cloud", "toy-arrows"
DRAW_ID = "toy-draw"
LOSS_ID = "toy-loss"  # Train scrolls it into view on a phone
PARTICLES_ID = "toy-particles"  # Generate scrolls it into view on a phone; the opening has come once it is drawn
GENERATE_ID = "toy-generate"
LINK_SETS = tuple(toy_data.SETS)  # the sets a link can name (a drawing lives in one browser only)
TITLES = {key: title for title, key in SET_CHOICES}


@dataclass
class ToySession:
    """One browser's toy: its drawn set, its trainer (None: not trained here) and its last generated frames."""

    drawn: toy_data.PointSet | None = None
    trainer: model.Trainer | None = None
    frames: list[torch.Tensor] = field(default_factory=list)
    labels: torch.Tensor | None = None
    runs: toy_runs.Runs = field(default_factory=toy_runs.Runs)


def build(dataset_radio: gr.Radio) -> None:
    """Create the tab's content inside the current ``gr.Tab`` and wire its events (``dataset_radio`` is unused:
    the toy has its own point sets)."""
    with gr.Row():
        with gr.Column(scale=2, min_width=300, elem_id=CONTROLS_ID):
            gr.Markdown(CAPTION, elem_classes=[common.CAPTION])
            point_set = links.setting("points", gr.Radio(SET_CHOICES, value=model.DEFAULT_SET, label="Points"),
                                      links.Choice(LINK_SETS))
            with gr.Accordion("Draw your own points", open=False, elem_id=DRAW_ID) as drawing:
                gr.Markdown(DRAW_HINT)  # above the pad: its zoom bar covers a label
                sketch = gr.Sketchpad(label=DRAW_HINT, show_label=False, type="numpy",
                                      canvas_size=(320, 320), layers=False, transforms=(),
                                      brush=gr.Brush(colors=list(plots.COLOURS), color_mode="fixed", default_size=10))
                use_drawing = gr.Button("Use my drawing")
            with gr.Row():
                train = gr.Button("Train", variant="secondary")
                stop = gr.Button("Stop", variant="stop")
                restart = gr.Button("Start over")
            train_steps = links.setting("train_steps", gr.Slider(100, MAX_RUN_STEPS, value=model.DEFAULT_STEPS,
                                                                 step=100, label="Training steps per press"),
                                        links.Whole(100, MAX_RUN_STEPS))
            generate = gr.Button("Generate", variant="primary", elem_id=GENERATE_ID)
            steps = links.setting("steps", gr.Slider(1, model.MAX_SAMPLE_STEPS, value=model.DEFAULT_SAMPLE_STEPS,
                                                     step=1, label="Steps from static to points"),
                                  links.Whole(1, model.MAX_SAMPLE_STEPS))
            guidance = links.setting("guidance", gr.Slider(0, 10, value=model.DEFAULT_GUIDANCE, step=0.5,
                                                           label=GUIDANCE_LABEL),
                                     links.Real(0, 10))
            seed = links.setting("seed", gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED,
                                                   label=SEED_LABEL), links.Whole(0, MAX_SEED))
            common.notes(LESSON, MATHS)
        with gr.Column(scale=3, min_width=300, elem_id=RESULTS_ID):
            status = gr.Markdown("*The default model (two moons) is being trained…*", elem_id=STATUS_ID)
            # k right above the cloud it dissolves, on a phone too (where the controls stand above the results)
            k = links.setting("k", gr.Slider(0, forward.MAX_K, value=DEFAULT_K, step=10, label=K_LABEL),
                              links.Whole(0, forward.MAX_K))
            with gr.Row():
                cloud = gr.Plot(_forward_figure(model.DEFAULT_SET, DEFAULT_K, None), label="the points at k",
                                show_label=False, elem_id=CLOUD_ID)
                arrows = gr.Plot(label="the arrows at k", show_label=False, elem_id=ARROWS_ID)
            loss = gr.Plot(label="loss", show_label=False, elem_id=LOSS_ID)
            particles = gr.Plot(label="particles", show_label=False, elem_id=PARTICLES_ID)
            scrub = gr.Slider(0, model.DEFAULT_SAMPLE_STEPS, value=model.DEFAULT_SAMPLE_STEPS, step=1,
                              label="Look at step… (0 = the static)")
            gr.Markdown(ONE_JUMP, elem_classes=[common.CAPTION])
            asked = predict_reveal.question(
                "Which lands on the shape: one big jump or many small steps?",
                ["One big jump", "Many small steps", "Both the same"], "Many small steps",
                "From pure static the network can only guess roughly where the points are, and one jump throws "
                "them far past the shape. Small steps let each guess be corrected by the next. An untrained "
                "network moves the particles nowhere useful.", action=predict_reveal.press(generate.value))
            panels = gr.Plot(label="one jump, many steps, untrained", show_label=False)
            asked.covers(panels)
    session = gr.State(None)
    names = ["points", "k", "train_steps", "steps", "guidance", "seed"]
    links.press_when_linked(generate, names, after=f"#{PARTICLES_ID} .js-plotly-plot")

    light = dict(show_progress="hidden", trigger_mode="always_last")
    # k's change, not its release: a link's k arrives as a change (a drag sends the latest k when the last is done)
    gr.on([k.change, point_set.change], _forward, inputs=[point_set, k, session],
          outputs=[cloud, arrows], api_name="toy_forward", **light)
    point_set.change(_chosen, inputs=[point_set, session], outputs=[status, loss], api_visibility="private", **light)
    heavy = dict(concurrency_id=serving.MODEL_GROUP, concurrency_limit=serving.QUICK_CONCURRENCY)
    # the page's clock at each press: a Train press that waited for its turn while Stop was pressed never starts
    pressed = gr.Number(None, visible=False)
    train.click(serving.gpu(_train), inputs=[point_set, k, train_steps, session, pressed],
                outputs=[session, status, loss, arrows], js=TRAIN_JS, api_name="toy_train", trigger_mode="once",
                concurrency_id=serving.TRAINING_GROUP, concurrency_limit=serving.TRAINING_CONCURRENCY)
    # no ``cancels``: the run itself shows its end, in order with what it streamed before
    for button, ending, name in [(stop, _stopped, "toy_stop"), (restart, _start_over, "toy_start_over")]:
        button.click(ending, inputs=[point_set, k, session, pressed], outputs=[session, status, loss, arrows],
                     js=ENDING_JS, queue=False, api_name=name, api_visibility="undocumented")
    generated = gr.on([generate.click, steps.release, guidance.release, seed.submit], serving.gpu(_generate),
                      inputs=[point_set, steps, guidance, seed, session],
                      outputs=[session, particles, scrub, panels, status], api_name="toy_generate",
                      trigger_mode="always_last", **heavy)
    estimates.declare_units("toy_generate", lambda steps, **rest: float(steps), seeds=[seed])
    estimates.declare_units("toy_train", lambda train_steps, **rest: float(train_steps) / 10)
    asked.reveal_after(generated)
    # the arrows again once particles are made: the opening's arrows (k = 300) may land after a link's k
    generated.success(_forward, inputs=[point_set, k, session], outputs=[cloud, arrows], api_visibility="private",
                      **light)
    common.reveal([generate.click], PARTICLES_ID)
    common.reveal([train.click], LOSS_ID)
    scrub.input(_scrub, inputs=[point_set, scrub, session], outputs=particles, api_name="toy_scrub",
                api_visibility="undocumented", **light)
    use_drawing.click(_use_drawing, inputs=[sketch, session], outputs=[session, point_set, status],
                      api_name="toy_drawing", api_visibility="undocumented", show_progress="hidden").success(
        _forward, inputs=[point_set, k, session], outputs=[cloud, arrows], show_progress="hidden",
        api_visibility="private")
    common.choose_brush(drawing.expand, DRAW_ID)  # the pad opens with no tool chosen
    openings.fill([status, arrows, loss, particles, panels], _opening, api_name="toy_opening")


# ----------------------------------------------------------------------------- the models and sets

@lru_cache(maxsize=1)
def _untrained() -> model.ToyDenoiser:
    """The network before any training (seed 0), for "an untrained network's particles"."""
    return model.ToyDenoiser(generator=torch.Generator().manual_seed(0))


def _check_set(name) -> str:
    if name not in SET_KEYS:
        raise ValueError(f"Unknown point set {str(name)[:40]!r}. Known sets: {', '.join(SET_KEYS)}.")
    return name


def _points(name: str, session: ToySession | None) -> toy_data.PointSet:
    """The chosen point set (the drawn one from this browser's state)."""
    name = _check_set(name)
    if name == toy_data.DRAWN:
        if session is None or session.drawn is None:
            raise ValueError("There is no drawing yet: draw in two colours under \"Draw your own points\" and "
                             "press \"Use my drawing\".")
        return session.drawn
    return _builtin(name)


@lru_cache(maxsize=None)
def _builtin(name: str) -> toy_data.PointSet:
    """A built-in set at its defaults (the default run trains on the same points: seed 0)."""
    return toy_data.make_points(name)


def _trainer(name: str, session: ToySession | None) -> model.Trainer | None:
    """This browser's trainer for set ``name``, else the default run for the default set, else None."""
    if session is not None and session.trainer is not None and session.trainer.data.name == name:
        return session.trainer
    return model.trained_default() if name == model.DEFAULT_SET else None


def _network(name: str, session: ToySession | None) -> tuple[torch.nn.Module, str]:
    trainer = _trainer(name, session)
    if trainer is None:
        return _untrained(), "untrained (press Train)"
    return trainer.model, f"trained {trainer.step:,} steps"


# ----------------------------------------------------------------------------- figures

def _forward_figure(name: str, k: int, session: ToySession | None) -> gr.Plot:
    pts = _points(name, session)
    moved = forward.noise_points(pts.points, k, generator=torch.Generator().manual_seed(0))
    signal, static = forward.levels(k)
    return plots.cloud_figure(moved, pts.labels, pts.class_names,
                              f"k = {k}: shape left {signal:.2f}, static {static:.2f}")


def _arrows_figure(name: str, k: int, session: ToySession | None):
    pts = _points(name, session)
    net, what = _network(name, session)
    k = max(1, k)
    positions, moves = model.field(net, k)
    return plots.field_figure(pts.points, pts.labels, pts.class_names, positions, moves,
                              f"Where it moves points, k = {k}")


def _loss_figure(trainer: model.Trainer | None):
    if trainer is None:
        return plots.loss_figure([], [], "Training: press Train to start")
    return plots.loss_figure(trainer.steps_log, trainer.losses)


def _panels_figure(pts: toy_data.PointSet, net: torch.nn.Module, steps: int, guidance: float, seed: int,
                   many: torch.Tensor):
    one = model.generate(net, steps=1, guidance=guidance, n=PARTICLES, seed=seed)[-1].points
    untrained = model.generate(_untrained(), steps=steps, guidance=guidance, n=PARTICLES, seed=seed)[-1].points
    labels = model.particle_labels(PARTICLES)
    return plots.panels_figure([("one jump", one), (f"{steps} small steps", many), ("untrained network", untrained)],
                               labels, pts.points, pts.labels, pts.class_names, "The same static, three ways")


# ----------------------------------------------------------------------------- event handlers

def _opening() -> tuple:
    """The default run's pictures (status, arrows, loss, particles, comparison), made once in the background."""
    trainer = model.trained_default()
    frames = model.generate(trainer.model, n=PARTICLES)
    pts = trainer.data
    labels = model.particle_labels(PARTICLES)
    return (_status_default(trainer), _arrows_figure(model.DEFAULT_SET, DEFAULT_K, None), _loss_figure(trainer),
            plots.particles_figure(pts.points, pts.labels, frames[-1].points, labels, pts.class_names,
                                   f"Generated: {model.DEFAULT_SAMPLE_STEPS} steps from static"),
            _panels_figure(pts, trainer.model, model.DEFAULT_SAMPLE_STEPS, model.DEFAULT_GUIDANCE, 0,
                           frames[-1].points))


def _status_default(trainer: model.Trainer) -> str:
    return f"Two moons, trained {trainer.step:,} steps when the server started."


def _chosen(name: str = model.DEFAULT_SET, session: ToySession | None = None) -> tuple:
    """A point set chosen (by a click or a link): the status and the loss chart of its model — this browser's,
    the default run for two moons, or none yet. A drawing's own status (its points counted) stays."""
    with common.user_errors():
        name = _check_set(name)
    trainer = _trainer(name, session)
    if name == toy_data.DRAWN and trainer is None:
        return gr.skip(), _loss_figure(None)
    if trainer is None:
        return f"{TITLES[name]}: no model trained on these points yet. Press **Train**.", _loss_figure(None)
    if session is None or session.trainer is not trainer:
        return _status_default(trainer), _loss_figure(trainer)
    return f"{TITLES[name]}: your model, trained {trainer.step:,} steps.", _loss_figure(trainer)


def _forward(name: str = model.DEFAULT_SET, k: int = DEFAULT_K, session: ToySession | None = None) -> tuple:
    """The points after k noising steps, and the arrows of this browser's model at k."""
    with common.user_errors():
        k = forward.check_k(k)
        return _forward_figure(name, k, session), _arrows_figure(name, k, session)


def _train(name: str = model.DEFAULT_SET, k: int = DEFAULT_K, train_steps: int = model.DEFAULT_STEPS,
           session: ToySession | None = None, pressed_ms: float | None = None):
    """Train this browser's model (continuing one that was stopped), streaming the loss and the arrows; a Stop or
    Start over pressed meanwhile ends it at its next chunk, and this stream shows that end (``pressed_ms``: the
    page's clock when Train was pressed; a press stopped before its turn came does nothing)."""
    with common.user_errors():
        k = max(1, forward.check_k(k))
        train_steps = whole_number(train_steps, "Training steps", 1, MAX_RUN_STEPS)
        pts = _points(name, session)
    session = session or ToySession()
    run = _claim(session, pressed_ms)
    if run is None:
        return
    try:
        trainer = _run_trainer(name, pts, session)
        start, shown = time.perf_counter(), 0.0
        for progress in trainer.run(train_steps):
            ended_by = session.runs.progressed(run)
            if ended_by is not None:
                yield (session, *_ended(ended_by, name, k, session))
                return
            now = time.perf_counter()
            if now - shown >= TRAIN_REFRESH_S * toy_runs.under_way() or progress.done:
                shown = now
                text = (f"Training: {progress.step:,} steps, loss {progress.loss:.3f}, {now - start:.1f} s" +
                        (" — done. Press **Generate**." if progress.done else " …"))
                yield session, text, _loss_figure(trainer), _arrows_figure(name, k, session)
    finally:
        session.runs.finish(run)


def _claim(session: ToySession, pressed_ms: float | None) -> toy_runs.TrainingRun | None:
    """One training run per browser: a second one while the first still makes progress is refused."""
    try:
        return session.runs.claim(_number_or_none(pressed_ms))
    except RuntimeError:
        raise gr.Error("This page is already training a model; press Stop first.", print_exception=False) from None


def _run_trainer(name: str, pts: toy_data.PointSet, session: ToySession) -> model.Trainer:
    """The browser's trainer for these points (a new one for other points), refused once it has had all its steps."""
    trainer = session.trainer
    if trainer is None or trainer.data.name != name or (name == toy_data.DRAWN and trainer.data is not pts):
        trainer = session.trainer = model.Trainer(pts, seed=0)
    if trainer.finished:
        raise gr.Error(f"This model has had its {model.MAX_TRAIN_STEPS:,} steps; press Start over to train "
                       "a new one.", print_exception=False)
    return trainer


def _number_or_none(value) -> float | None:
    """The page's clock as sent (a finite number), or None from a caller that sends none (or something else)."""
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _ended(how: str, name: str, k: int, session: ToySession) -> tuple:
    """What the page shows once Stop or Start over has ended a run: the status, the loss and the arrows."""
    arrows = _arrows_figure(name, k, session)
    if how == toy_runs.START_OVER:
        return "A fresh, untrained network: press **Train**.", _loss_figure(None), arrows
    trainer = session.trainer
    return (f"Stopped after {trainer.step:,} steps. Press **Train** to go on, or **Generate** to try the model.",
            _loss_figure(trainer), arrows)


def _stopped(name: str, k: int, session: ToySession | None, pressed_ms: float | None = None) -> tuple:
    """Stop this browser's training run. A running run shows its own end (nothing to show here); with none, the
    status, and the loss and the arrows as the model now is."""
    session = session or ToySession()
    if session.runs.end(toy_runs.STOP, _number_or_none(pressed_ms)):
        return session, gr.skip(), gr.skip(), gr.skip()
    if session.trainer is None:
        return session, "Stopped.", gr.skip(), gr.skip()
    with common.user_errors():
        k = max(1, forward.check_k(k))
    return (session, *_ended(toy_runs.STOP, name, k, session))


def _start_over(name: str, k: int, session: ToySession | None, pressed_ms: float | None = None) -> tuple:
    """Forget this browser's model: the next Train starts from an untrained network (a running run shows this)."""
    session = session or ToySession()
    running = session.runs.end(toy_runs.START_OVER, _number_or_none(pressed_ms))
    session.trainer = None
    if running:
        return session, gr.skip(), gr.skip(), gr.skip()
    with common.user_errors():
        k = max(1, forward.check_k(k))
    return (session, *_ended(toy_runs.START_OVER, name, k, session))


def _generate(name: str = model.DEFAULT_SET, steps: int = model.DEFAULT_SAMPLE_STEPS,
              guidance: float = model.DEFAULT_GUIDANCE, seed: int = 0, session: ToySession | None = None):
    """Particles from static to the points, streamed step by step; then the step slider and the comparison."""
    with common.user_errors():
        pts = _points(name, session)
        steps = whole_number(steps, "Steps", 1, model.MAX_SAMPLE_STEPS)
        guidance = check_guidance(guidance)
        seed = check_seed(seed)
    session = session or ToySession()
    net, what = _network(name, session)
    labels = model.particle_labels(PARTICLES)
    frames, shown = [], 0.0
    every = max(1, steps // FRAMES_SHOWN)
    for frame in model.sample(net, steps=steps, guidance=guidance, n=PARTICLES, seed=seed):
        frames.append(frame.points)
        if frame.index % every == 0 and frame.index < steps:
            time.sleep(max(0.0, FRAME_PAUSE_S - (time.perf_counter() - shown)))
            shown = time.perf_counter()
            yield (gr.skip(), _particles_figure(pts, frame.points, labels, frame.index, steps), gr.skip(),
                   gr.skip(), f"Generating: step {frame.index} of {steps} ({what})…")
    session.frames, session.labels = frames, labels
    yield (session, _particles_figure(pts, frames[-1], labels, steps, steps),
           gr.Slider(0, steps, value=steps, step=1), _panels_figure(pts, net, steps, guidance, seed, frames[-1]),
           f"Generated {PARTICLES} particles in {steps} steps, guidance {guidance:g}, seed {seed} ({what}).")


def _particles_figure(pts: toy_data.PointSet, particles: torch.Tensor, labels: torch.Tensor, index: int, steps: int):
    title = "The static (step 0)" if index == 0 else f"Step {index} of {steps}"
    return plots.particles_figure(pts.points, pts.labels, particles, labels, pts.class_names, title)


def _scrub(name: str, index: int, session: ToySession | None):
    """One step of this browser's last generation (no network work)."""
    if session is None or not session.frames:
        return gr.skip()
    with common.user_errors():
        pts = _points(name, session)
        index = whole_number(index, "Step", 0, len(session.frames) - 1)
    return _particles_figure(pts, session.frames[index], session.labels, index, len(session.frames) - 1)


def _use_drawing(drawing, session: ToySession | None) -> tuple:
    """A two-colour drawing → this browser's drawn set, chosen."""
    image = drawing.get("composite") if isinstance(drawing, dict) else drawing
    with common.user_errors():
        if image is None:
            raise ValueError("Draw some points first (two colours: one per class).")
        points, labels = toy_data.points_from_drawing(image, max_points=toy_data.DEFAULT_POINTS)
        drawn = toy_data.drawn_set(points, labels)
    session = session or ToySession()
    session.drawn = drawn
    if session.trainer is not None and session.trainer.data.name == toy_data.DRAWN:
        session.trainer = None  # a new drawing: the old model was trained on other points
    counts = [int((drawn.labels == c).sum()) for c in (0, 1)]
    return (session, toy_data.DRAWN, f"Your drawing: {counts[0]} blue and {counts[1]} orange points. "
                                     "Press **Train**.")
