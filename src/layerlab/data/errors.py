"""The errors the data layer raises. Every message names the problem and the fix."""

from __future__ import annotations


class DataError(Exception):
    """Base class: something about a dataset is wrong or missing."""


class DataNotFoundError(DataError):
    """A dataset is in none of the places searched (the message lists them all)."""


class FormatError(DataError):
    """A file exists but is not what it claims to be (bad magic, truncated, unreadable image)."""


class ChecksumError(DataError):
    """A file's md5 differs from the published value."""


class FetchError(DataError):
    """A download failed on every mirror (the message lists each mirror and its error)."""
