"""Flows: work that runs several stages in turn for one event, as `make demo` runs the whole
pipeline. A flow calls the stages' entry points only (never their internals), and only the
faces call flows (`tests/house/test_architecture.py`)."""
