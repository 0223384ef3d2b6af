"""Fixtures for the data tests: an isolated environment, real small files, a loopback server.

Every test runs with its own empty user cache and without LAYERLAB_DATA or mirror overrides,
so nothing on the machine leaks in. Tests on the real datasets ask for `real`, which restores
the user's settings and then either finds the dataset or skips with the reason; under CI
(CI=true) a missing dataset fails instead, because CI is set up to have them.
"""

from __future__ import annotations

import os
import socket

import pytest
from datafiles import Server
from needs import missing

from layerlab.data import locate, registry
from layerlab.data.errors import DataNotFoundError

USER_ENV = {k: os.environ.get(k) for k in ("XDG_CACHE_HOME", "LAYERLAB_DATA")}


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """A private user cache; no LAYERLAB_DATA; no mirror overrides."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("LAYERLAB_DATA", raising=False)
    for key in list(os.environ):
        if key.startswith("LAYERLAB_MIRRORS_"):
            monkeypatch.delenv(key)


@pytest.fixture
def real(monkeypatch):
    """`real(name)` -> where the real dataset is; skips (or fails under CI) when it is absent.

    Restores the user's XDG_CACHE_HOME and LAYERLAB_DATA, so the real decoded cache is used.
    """
    for key, value in USER_ENV.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)

    def require(name: str) -> locate.Found:
        try:
            return locate.find(registry.get(name))
        except DataNotFoundError:
            missing(f"real {name} files are not on this machine; `layerlab data fetch {name}` "
                    "gets them")

    return require


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def dead_url():
    """A loopback URL where nothing listens (connection refused).

    The port stays bound, never listening, until the test ends: no other process (another
    pytest-xdist worker) can take it and answer meanwhile.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
