"""The "Mistakes" tab: does the model understand what it draws? Widgets and wiring around
explorer.demos.odd_ones and explorer.demos.impossible_requests.

Owns: the layout of the tab (plain lesson text beside the controls; "Odd ones out": a class, a first seed and which
model makes them (the fast copy or the full model), the 64 pictures with the odd ones framed, each odd one beside
its nearest training pictures, the conclusions and a table; "Impossible requests": a prompt naming two classes, the
guidance scale and a first seed, the three rows of pictures, the judge's probabilities as a chart and a table (the
opening names what was asked and holds back what the judge found until a guess); a predict-then-reveal question
beside each, answered once its section has run, with its "why" in a closed section after it; the formula and the
measures' definitions in closed "The maths" sections), and its events. Public endpoints, all arguments with
defaults: ``/odd_ones_out`` (dataset, class_name, first_seed, made_by) and ``/impossible_request`` (dataset,
prompt, first_seed, guidance); both run in the concurrency group for many-picture requests,
``serving.LONG_MODEL_GROUP`` (explorer.server.serving sets its limit and wraps them for ZeroGPU). Running either
brings its pictures into view (on a phone they are below the controls).
Does not know: the maths (the demo does it) or how prompts are read (explorer.prompt_pairs does it).
"""

from __future__ import annotations

import gradio as gr

from explorer import neighbours
from explorer.checks import MAX_SEED
from explorer.demos import impossible_requests as pair_demo
from explorer.demos import odd_ones as odd_demo
from explorer.demos.guidance import step_ranges
from explorer.guidance import MAX_GUIDANCE
from explorer.prompt_pairs import EXAMPLES
from explorer.prompts import MAX_PROMPT_CHARS, with_article
from explorer.sampling import DEFAULTS
from explorer.server import estimates, openings, serving
from explorer.ui import common, links, predict_reveal

CAPTION = "**Does it understand what it draws,** or only how pictures of it look? Two experiments test it."
LESSON = """
### Does it understand what it draws?
The model learned from many pictures of each class. Does it know what the things it draws are, or only
how pictures of them look? Two experiments put it to the test.
"""
ODD_CAPTION = (f"**Odd ones out:** of {odd_demo.ODD_BATCH} pictures of one class, the judge frames the "
               f"{odd_demo.SHOWN} least like it.")
PAIR_CAPTION = "**Impossible requests:** ask for two things at once, like *a sneaker and a bag*."
ODD_LESSON = f"""
### Odd ones out
Make {odd_demo.ODD_BATCH} pictures of one class in one go. The judge (a separate network that only names the
class of a picture) picks the {odd_demo.SHOWN} it finds least like the class (framed in orange). \
Each is shown beside the {odd_demo.NEIGHBOURS} training pictures that look most like
it, with how far it is from each (0 = the very same picture).
"""
PAIR_LESSON = """
### Impossible requests
Ask for two things at once, like *a sneaker and a bag*. Each column starts from one static, made three
times: told the first class, told the second, told both.
"""
ODD_WHY = """
The model learned what pictures of each class **look like**: which pixels tend to be bright next to
which. It never learned what a shoe is or what it is for.
"""
PAIR_WHY = """
The model never learned that a bag cannot also be a sneaker, and it has no idea what "and" means: the
pushes towards both classes are simply added together.
"""
ODD_MATHS = """
- **Least like the class**: the {shown} pictures to which the judge gives the lowest probability of the
  class asked for.
- **Distance** between two pictures: the root-mean-square difference of their brightness (0 … 1) over
  all 28 × 28 pixels. 0 = the same picture; 1 = black against white in every pixel. The nearest training
  pictures are the ones with the smallest such distance among the training pictures shipped with the app
  ({per_class} per class, drawn at random from the training set; see `model_store/neighbours.md`). \
"Typically apart" is the median distance of a real picture of the class to
  its nearest other one in that subset.
- **Crispness**: the average brightness jump between neighbouring pixels (across and down), 0 … 1. A
  blurry, hesitant picture has small jumps; crisp strokes have large ones.
"""
PAIR_MATHS = """
With ε_u the noise predicted told nothing and ε_a, ε_b the noise predicted told each class:

**{formula}**

that is, the two steering signals (ε_a − ε_u) and (ε_b − ε_u) are added, each times s. For one class it
is the usual ε = ε_u + s · (ε_a − ε_u). As everywhere in this app, s above 1 applies only on
steps {guided} of {steps} (this model's guidance interval); on the others it is lowered to 1. All three
guesses of every picture go through the network together, in one batched call per step.
"""
ODD_QUESTION = dict(
    prompt="Will the pictures the judge rejects have fainter, shakier strokes?",
    choices=["Yes: fainter", "No: just as crisp as the good ones"],
    answer="No: just as crisp as the good ones",
    explanation="The model has no sense of being wrong. It draws the look of its training pictures, crisp edges "
                "included, whatever it draws. The crispness numbers under the pictures compare the two groups "
                "for this run.",
)
PAIR_QUESTION = dict(
    prompt="Asked for both at once, what comes out?",
    choices=["A sneaker next to a bag", "An error", "One crisp object that is partly each"],
    answer="One crisp object that is partly each",
    explanation="The model cannot refuse and cannot place two objects: it only adds both pushes, and draws one "
                "object that matches both looks a little, with the usual confident strokes. The judge is often "
                "torn between the two classes, or sees a third.",
)
ODD_ID = "odd-results"  # elem_id of the odd ones' results column
PAIR_ID = "pair-results"  # elem_id of the impossible requests' results column
UNSURE = 0.9  # the judge is "unsure" of a picture when no class reaches this probability
ODD_RUN = "Find the odd ones"  # the button's label
MADE_BY_INFO = "The fast copy learned from the full model: a smaller network, one call per step instead of two."
HEAVY = dict(concurrency_id=serving.LONG_MODEL_GROUP, concurrency_limit=serving.LONG_CONCURRENCY,
             trigger_mode="always_last")


def build(dataset_radio: gr.Radio) -> None:
    """Create the tab's content inside the current ``gr.Tab`` and wire its events.

    Both sections open on their defaults' results, made in the background while the server starts
    (64 pictures take seconds on a CPU: too long to make the start wait).
    """
    gr.Markdown(CAPTION, elem_classes=[common.CAPTION])
    odd_outputs = _odd_section(dataset_radio)
    pair_outputs = _pair_section(dataset_radio)
    openings.fill([*odd_outputs, *pair_outputs], _defaults, api_name="mistakes_opening")


def _defaults() -> tuple:
    """Both sections' outputs at their defaults (the first dataset and class, seed 0)."""
    return (*_odd_ones(common.DEFAULT_DATASET, None, 0, None, measured=False),
            *_impossible(common.DEFAULT_DATASET, "", 0, DEFAULTS.guidance, measured=False))


def _odd_section(dataset_radio: gr.Radio) -> list:
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            gr.Markdown(ODD_CAPTION, elem_classes=[common.CAPTION])
            run = links.main_button(gr.Button(ODD_RUN, variant="primary"))
            class_name = links.setting("class", common.class_dropdown(dataset_radio, "odd_ones_dataset"),
                                       links.Text(40))
            first_seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED,
                                   label="First seed")
            made_by = gr.Radio(list(odd_demo.MADE_BY), value=odd_demo.default_made_by(common.DEFAULT_DATASET),
                               label="Made by")
            links.setting("seed", first_seed, links.Whole(0, MAX_SEED))
            asked = predict_reveal.question(**ODD_QUESTION, action=predict_reveal.press(run.value))
            predict_reveal.why(ODD_WHY)
            common.notes(LESSON, ODD_LESSON, f"**Made by:** {MADE_BY_INFO}")
        with gr.Column(scale=3, min_width=300, elem_id=ODD_ID):
            overview = common.image_output(f"All {odd_demo.ODD_BATCH}, odd ones framed")
            summary = gr.Markdown("The example (the first class, seed 0) is being made…")
            odd = common.image_output("Odd ones (left), nearest training pictures")
            with gr.Accordion("The judge's numbers", open=False,
                              elem_classes=[common.NOTES]):
                table = gr.Markdown()
    with gr.Accordion("The maths", open=False, elem_classes=[common.NOTES]):
        gr.Markdown(_odd_maths(common.DEFAULT_DATASET))
    made = gr.on([run.click], serving.gpu(_odd_ones), inputs=[dataset_radio, class_name, first_seed, made_by],
                 outputs=[overview, summary, odd, table], api_name="odd_ones_out", **HEAVY)
    asked.covers(odd)  # the odd ones' strokes answer the question
    estimates.declare_units("odd_ones_out", seeds=[first_seed])
    asked.reveal_after(made)
    common.reveal([run.click], ODD_ID)
    return [overview, summary, odd, table]


def _pair_section(dataset_radio: gr.Radio) -> list:
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            gr.Markdown(PAIR_CAPTION, elem_classes=[common.CAPTION])
            prompt = gr.Textbox("", max_length=MAX_PROMPT_CHARS, label="Prompt",
                                placeholder=f"e.g. {EXAMPLES['fashion']}, or {EXAMPLES['mnist']} for digits")
            guidance = gr.Slider(0, MAX_GUIDANCE, value=DEFAULTS.guidance, step=0.5,
                                 label="Guidance scale s")
            first_seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED,
                                   label="First seed")
            run = gr.Button("Ask for both", variant="primary")
            asked = predict_reveal.question(**PAIR_QUESTION, action=predict_reveal.press(run.value))
            predict_reveal.why(PAIR_WHY)
            common.notes(PAIR_LESSON)
        with gr.Column(scale=3, min_width=300, elem_id=PAIR_ID):
            picture = common.image_output("One static per column")
            summary = gr.Markdown("The example (nothing typed: the example prompt, seed 0) is being made…")
            chart = gr.Plot(label="What the judge thinks the pictures show", show_label=False)
            with gr.Accordion("The judge's numbers", open=False, elem_classes=[common.NOTES]):
                table = gr.Markdown()
    with gr.Accordion("The maths", open=False, elem_classes=[common.NOTES]):
        maths = gr.Markdown()
    triggers = [run.click, prompt.submit, guidance.release]
    made = gr.on(triggers, serving.gpu(_impossible), inputs=[dataset_radio, prompt, first_seed, guidance],
                 outputs=[picture, summary, chart, table, maths], api_name="impossible_request", **HEAVY)
    asked.covers(picture, summary, chart)  # what comes out answers the question
    estimates.declare_units("impossible_request", seeds=[first_seed])
    asked.reveal_after(made)
    common.reveal(triggers, PAIR_ID)
    return [picture, summary, chart, table, maths]


# ----------------------------------------------------------------------------- event handlers

def _odd_ones(dataset: str, class_name: str, first_seed: int, made_by: str | None = None,
              measured: bool = True) -> tuple:
    with common.user_errors():
        result = odd_demo.odd_ones_out(dataset, class_name, first_seed, made_by)
    return result.overview, _odd_summary(result, measured), result.odd_picture, _odd_table(result)


def _impossible(dataset: str, prompt: str, first_seed: int, guidance: float, measured: bool = True) -> tuple:
    with common.user_errors():
        result = pair_demo.impossible_request(dataset, prompt, first_seed, guidance)
    return result.picture, _pair_summary(result, measured), result.figure, _pair_table(result), _pair_maths(result)


# ----------------------------------------------------------------------------- presentation

def _markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = [headers, ["---"] * len(headers), *rows]
    return "\n".join(f"| {' | '.join(line)} |" for line in lines)


def _odd_maths(dataset: str) -> str:
    with common.user_errors():
        subset = neighbours.load(dataset)
    per_class = len(subset.images) // len(set(subset.labels.tolist()))
    return ODD_MATHS.format(shown=odd_demo.SHOWN, per_class=per_class)


def _odd_summary(result: odd_demo.OddOnesResult, measured: bool = True) -> str:
    """What was made and, for a student's own run (``measured``), what the crispness and distances show."""
    seeds = f"seeds {result.seeds[0]}–{result.seeds[-1]}"
    made = f"Made by the {result.made_by}" + (", answered from the cache." if result.cached
                                              else f" in {result.seconds:.1f} s.")
    found = ("\n".join(f"- {sentence}" for sentence in result.sentences)
             + f"\n- It imitates the look of its training pictures; it does not know what "
               f"{with_article(result.class_name)} is, and nothing in it checks the result." if measured
             else predict_reveal.held_back())
    return (f"The judge names **{result.recognised}** of {len(result.seeds)} as **{result.class_name}** ({seeds}). "
            f"{made}\n\n{found}")


def _odd_table(result: odd_demo.OddOnesResult) -> str:
    headers = ["seed", "judge says", f"chance of {result.class_name}", "nearest training pictures",
               "distance"]
    return (_markdown_table(headers, result.rows) + f"\n\nThe nearest pictures are searched among the "
            f"{result.subset_size:,} training pictures shipped with the app (of {result.total_train:,}).")


def _pair_summary(result: pair_demo.ImpossibleResult, measured: bool = True) -> str:
    """What was asked and, for a student's own run (``measured``), how long it took and what the judge names."""
    if not measured:  # the opening: the example's two classes, the judge's findings held back
        return f"**Asked:** {' and '.join(result.class_names)}, s = {result.scale:g}.\n\n{predict_reveal.held_back()}"
    a, b = result.class_names
    both = result.probs[2]  # (N, C)
    tops = both.argmax(1)
    named = {name: int((tops == c).sum()) for c, name in zip(result.classes, result.class_names)}
    other = len(tops) - sum(named.values())
    unsure = int((both.max(1) < UNSURE).sum())
    made = "Answered from the cache." if result.cached else f"Made in {result.seconds:.1f} s."
    return (f"**Asked:** {result.explanation} s = {result.scale:g}. {made}\n\n"
            f"Told both, the judge names {a}: {named[a]}, {b}: {named[b]}, another class: {other}; "
            f"unsure (below {UNSURE:.0%}) of {unsure}.")



def _pair_table(result: pair_demo.ImpossibleResult) -> str:
    a, b = result.class_names
    headers = ["seed (told both)", "judge says", f"chance of {a}", f"chance of {b}"]
    return _markdown_table(headers, result.rows)


def _pair_maths(result: pair_demo.ImpossibleResult) -> str:
    return PAIR_MATHS.format(formula=result.formula, guided=step_ranges(result.guided_steps), steps=result.steps)
