"""The diffusion explorer web app: assembles the tabs, queues and launches. Nothing else.

Each tab lives in ``explorer/ui/<name>_tab.py`` with ``build(dataset_radio)``; the maths lives in
``explorer/demos``. Run: ``python app.py [--host 0.0.0.0] [--port 7860] [--share]``
(GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are honoured; EXPLORER_THREADS sets torch's threads).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported

import gradio as gr  # noqa: E402
import torch  # noqa: E402

from explorer.ui import common, generate_tab, noise_tab  # noqa: E402

CONCURRENCY = 2  # events running at once: one per CPU core of a free hosted Space
QUEUE_SIZE = 64  # waiting events beyond this are refused with "queue full"

TABS = [  # (tab title, module with build(dataset_radio)); later: "Guidance", "One shot vs gradual"
    ("Add noise", noise_tab),
    ("Remove noise", generate_tab),
]


def build_app() -> gr.Blocks:
    """The whole app, not yet launched."""
    with gr.Blocks(title="Diffusion explorer", analytics_enabled=False) as demo:
        common.header()
        dataset_radio = common.dataset_radio()
        with gr.Tabs():
            for title, tab in TABS:
                with gr.Tab(title):
                    tab.build(dataset_radio)
    return demo


def launch(demo: gr.Blocks, **kwargs) -> None:
    """Queue and launch ``demo`` with the app's settings; ``kwargs`` go to ``demo.launch``."""
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    demo.launch(max_file_size="10mb", show_error=True, enable_monitoring=False, css=common.CSS, **kwargs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the diffusion explorer web app.")
    parser.add_argument("--host", help="address to listen on (default $GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default $GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("EXPLORER_THREADS", min(2, os.cpu_count() or 1))))
    launch(build_app(), server_name=args.host, server_port=args.port, share=args.share)


if __name__ == "__main__":
    main()
