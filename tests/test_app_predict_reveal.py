"""Predict, then reveal, in the app as served (gradio_client): every question of the app is answered only once
its demo has run (read from the served config's events), and up to the end of the Remove-noise tab the page as
served neither answers the one-jump question nor shows the measurements that answer the questions beside them."""

from __future__ import annotations

import json
import re

from explorer.ui import predict_reveal

ONE_JUMP_ANSWER = re.compile(r"worse in one jump|blur", re.IGNORECASE)  # answers "sharp or blurry?"

REVEALED_BY = {  # each question's answer → the events whose successful end shows it (never a page-load opening)
    "No: just as crisp as the good ones": {"odd_ones_out"},
    "One crisp object that is partly each": {"impossible_request"},
    "No, it is a fixed recipe": {"noise"},
    "Guess the static we added": {"ask_the_network"},
    "Blurry": {"generate", "generate_new_static", "generate_example"},
    "The first class": {"switch_prompt"},
    "No, they are nearly the same": {"different_endings"},
    "No, a typical picture of the class appears": {"finish_drawing"},
    "Far off: it cannot tell the picture from the static": {"watch_it_learn"},
    "No: each static its own": {"guidance_grid"},
    "More alike": {"guidance_grid"},
    "Blurry: a soft smudge": {"compare"},
    "Many small steps": {"toy_generate"},
}
WHEN_TICKED = {"More alike"}  # answered only by a run made with its box ticked (Guide every step)


def test_every_question_is_answered_only_after_its_demo_has_run(client):
    """Picking a choice runs browser code that gives no answer; the answer comes from browser code chained
    on the successful end of the events that run the question's demo. No question calls the server."""
    dependencies = {d["id"]: d for d in client.config["dependencies"]}
    picks, reveals = {}, {}
    for d in dependencies.values():
        if "(guess) =>" not in (d["js"] or ""):
            continue
        assert not d["backend_fn"] and not d["queue"]
        if "**Right.**" in d["js"]:
            answer = json.loads(re.search(r'guess === (".*?") \?', d["js"]).group(1))
            assert d["trigger_only_on_success"] and d["targets"] == [[None, "success"]]
            reveals.setdefault(answer, []).append(d)
        else:
            assert "Your guess: **" in d["js"] and d["targets"][0][1] == "change"
            picks[d["inputs"][0]] = d
    assert set(reveals) == set(REVEALED_BY) and len(picks) == len(REVEALED_BY)
    for answer, chained in reveals.items():
        after = {dependencies[d["trigger_after"]]["api_name"] for d in chained}
        assert after == REVEALED_BY[answer], answer
        for d in chained:  # the reveal reads the question's own radio and writes its own verdict
            pick = picks[d["inputs"][0]]
            assert d["inputs"][0] == pick["inputs"][0] and d["outputs"] == pick["outputs"]
            ticked = len(d["inputs"]) == 3  # (radio, the box, the verdict as it is): a run without the box keeps it
            assert ticked == (answer in WHEN_TICKED), answer
            if ticked:
                assert d["inputs"][2] == d["outputs"][0] and "ticked ?" in d["js"]


def test_no_text_on_show_before_a_run_answers_the_one_jump_question(client):
    """Up to the end of the Remove-noise tab, the page as served (no opening fills text there) never says that
    one jump gives a blur: only the questions and the closed "why" sections may, once the student has guessed."""
    on_show = _texts_on_show(client.config, last_tab="Remove noise")
    assert "One jump, or many small steps?" in "\n".join(on_show)  # the section is there; only its answer is not
    assert [text for text in on_show if ONE_JUMP_ANSWER.search(text)] == []


def test_the_sections_open_with_their_measurements_held_back_until_a_run(client):
    """The summaries the page opens with say what was made but keep back the numbers that answer the questions
    beside them; the student's own run (same defaults) shows them."""
    on_show = "\n".join(_texts_on_show(client.config, last_tab="Remove noise"))
    assert on_show.count("Your own run shows the numbers") == 2  # Same start, different endings; Switch the prompt
    assert "How alike the rows' guesses are" not in on_show and "The judge names each final picture" not in on_show
    _, endings, _ = client.predict(api_name="/different_endings")
    _, switched, _ = client.predict(api_name="/switch_prompt")
    assert "How alike the rows' guesses are" in endings and "The judge names each final picture" in switched


def _texts_on_show(config: dict, last_tab: str) -> list[str]:
    """In page order, up to the end of the tab ``last_tab``: every markdown, button, label, info, placeholder and
    choice, leaving out closed accordions and predict-then-reveal questions (their choices name the answers)."""
    components = {c["id"]: c for c in config["components"]}
    texts: list[str] = []

    def walk(node: dict) -> bool:  # True once ``last_tab`` has been read
        component = components.get(node["id"], {"type": "root", "props": {}})
        props = component["props"]
        if predict_reveal.QUESTION in (props.get("elem_classes") or []):
            return False
        if component["type"] in ("markdown", "button"):
            texts.append(str(props.get("value") or ""))
        texts.extend(str(props[key]) for key in ("label", "info", "placeholder") if props.get(key))
        if component["type"] == "accordion" and not props.get("open"):
            return False  # its title only
        texts.extend(str(choice) for choice in props.get("choices") or [])
        if any(walk(child) for child in node.get("children", [])):
            return True
        return component["type"] == "tabitem" and props.get("label") == last_tab

    walk(config["layout"])
    return texts
