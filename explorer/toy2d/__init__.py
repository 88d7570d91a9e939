"""A diffusion model small enough to train live: 2-D points instead of pictures.

Owns (in its modules): the point sets and the check of a drawn set (``data``), the forward process on points
with the project's schedules (``forward``, the same formula and k as the Add noise tab), the small denoiser, its
training in chunks that a page can stream and stop, and the deterministic sampler that yields every step
(``model``), and the Plotly figures of clouds, arrows and losses (``plots``).
Does not know: Gradio, serving, files. Every random draw takes an explicit ``torch.Generator``.
"""
