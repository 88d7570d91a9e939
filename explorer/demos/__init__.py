"""UI-agnostic demo functions, one module per tab: plain values in, images, figures and numbers out."""
