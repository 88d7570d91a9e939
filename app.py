"""The diffusion explorer web app: assembles the tabs, queues and launches. Nothing else.

Each tab lives in ``explorer/ui/<name>_tab.py`` with ``build(dataset_radio)``; the demos it shows live in
``explorer/demos``. Run: ``python app.py [--host 0.0.0.0] [--port 7860] [--share]``
(GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are honoured; EXPLORER_THREADS sets the threads of large network calls).
The queue, limits and launch options are ``explorer.server.serving``'s; a host that launches ``build_app()``
itself should call ``launch`` below so that they apply.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported

import gradio as gr  # noqa: E402

import explorer  # noqa: E402,F401  (sets the OpenMP spin before torch loads)
from explorer.server import openings, serving  # noqa: E402
from explorer.ui import (  # noqa: E402
    add_noise_tab,
    common,
    compare_tab,
    guidance_tab,
    links,
    mistakes_tab,
    predict_reveal,
    remove_noise_tab,
    toy_tab,
)

TABS = [  # (id in links, tab title, module with build(dataset_radio)); short titles, so a phone shows them all
    ("add-noise", "Add noise", add_noise_tab),
    ("remove-noise", "Remove noise", remove_noise_tab),
    ("guidance", "Guidance", guidance_tab),
    ("compare", "Compare", compare_tab),
    ("mistakes", "Mistakes", mistakes_tab),
    ("toy", "Toy in 2-D", toy_tab),
]


def build_app() -> gr.Blocks:
    """The whole app, not yet launched."""
    common.leave_ranges_to_validators()
    serving.configure_process()  # torch's threads before any tab makes its opening pictures
    book = links.Book(tuple(key for _, key in common.DATASET_CHOICES))
    with gr.Blocks(title="Diffusion explorer", analytics_enabled=False) as demo:
        with gr.Row(elem_id="top-bar", equal_height=True):
            common.header()
            dataset_radio = common.dataset_radio()
            _, copy, qr = links.share_buttons()
        links.share_box(copy, qr)
        link_note = gr.Markdown(visible=False, elem_id="link-note")
        with gr.Tabs(overflow_behavior="wrap") as tabs:  # a narrow screen wraps the tabs, never hides them in a menu
            for tab_id, title, tab in TABS:
                with gr.Tab(title, id=tab_id) as block:
                    book.open_tab(tab_id, title, block)
                    tab.build(dataset_radio)
        links.wire(book, tabs, dataset_radio, link_note)
        common.glossary()
        common.server_note()
    demo.explorer_links = book  # for launch: the page's script needs the tabs
    return demo


def launch(demo: gr.Blocks, **kwargs) -> None:
    """Queue and launch ``demo`` with the app's settings (explorer.server.serving); ``kwargs`` go to ``launch``."""
    openings.start()
    serving.launch(demo, css=common.CSS + predict_reveal.COVER_CSS, head=links.head(demo.explorer_links), **kwargs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the diffusion explorer web app.")
    parser.add_argument("--host", help="address to listen on (default $GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default $GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    args = parser.parse_args(argv)
    launch(build_app(), server_name=args.host, server_port=args.port, share=args.share)


if __name__ == "__main__":
    main()
