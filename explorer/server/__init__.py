"""Serving the app to a whole class at once: everything between Gradio's queue and the network.

Owns: the network's turns and shared batches (``turns``, ``shared_calls``), the queue and launch settings
(``serving``), fair admission (``fair_share``), honest waiting times (``estimates``), upload bounds
(``upload_limits``), the page made once and sent compressed (``page_cache``, ``compression``), the openings
made in the background (``openings``), and the one door into Gradio's internals (``gradio_hooks``).
Does not know: the tabs' layout, the lesson's words, the maths of diffusion.
"""
