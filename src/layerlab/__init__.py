"""layerlab: a lab for learning and studying how neural networks train."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("layerlab")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
