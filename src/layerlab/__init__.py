"""layerlab: a lab for learning and studying how neural networks train.

From Python (a notebook): `layerlab.run(NAME, quick=True, **settings)` and
`layerlab.open_run(RUN_DIR)` (see layerlab.notebook and docs/notebook.md).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("layerlab")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

from layerlab.notebook import open_run, run  # noqa: E402  (the API for notebooks)

__all__ = ["__version__", "open_run", "run"]
