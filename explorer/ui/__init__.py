"""The Gradio widgets: one module per tab with ``build(dataset_radio)``, plus the shared bits in common."""
