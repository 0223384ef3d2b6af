"""layerlab: a lab for learning and studying how neural networks train.

From Python (a notebook): `layerlab.run(NAME, quick=True, **settings)` and
`layerlab.open_run(RUN_DIR)` (see layerlab.notebook and docs/notebook.md).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("layerlab")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "open_run", "run"]


def __getattr__(name):
    # The notebook API is imported on first use: it pulls in the report and analysis layers
    # (about half a second), which the command line and child processes rarely need.
    if name in ("run", "open_run"):
        from layerlab import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module 'layerlab' has no attribute {name!r}")
