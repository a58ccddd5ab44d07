"""One module per schema revision, named ``NNNN_<what>.py``."""
