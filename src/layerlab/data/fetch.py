"""Download dataset files from a list of mirrors: resumable, retried, checked, atomic.

For each file, each mirror is tried in turn, each up to `retries` times with exponential
back-off (`backoff`, 2*backoff, ...). Bytes go to `NAME.part`; a later attempt (or a later run)
resumes it with an HTTP Range request. Only a file whose md5 (or uncompressed-content md5) is a
published one is moved to its final name with `os.replace`, so the final name never holds half
a file or a wrong one. When every mirror fails, the error lists each URL with its error and the
manual alternative.

Mirrors come from, in order of precedence: the `mirrors` argument (CLI `--mirror`), the
environment variable LAYERLAB_MIRRORS_<NAME> (e.g. LAYERLAB_MIRRORS_FASHION_MNIST; URLs
separated by spaces or commas), the registry's list.
"""

from __future__ import annotations

import http.client
import os
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.error import HTTPError, URLError

import layerlab
from layerlab.data import registry
from layerlab.data.checksum import check_file
from layerlab.data.errors import DataError, FetchError
from layerlab.data.locate import user_cache
from layerlab.data.registry import RemoteFile

CHUNK = 1 << 16
RETRY_HTTP = {408, 425, 429, 500, 502, 503, 504}


class IncompleteDownload(OSError):
    """The server closed the connection before sending every promised byte."""


def _stderr(message: str) -> None:
    """Print a progress or retry message to stderr (returns None)."""
    print(message, file=sys.stderr, flush=True)


def mirror_list(spec: registry.Spec, override: Sequence[str] | None = None) -> list[str]:
    """Base URLs to try: `override`, else $LAYERLAB_MIRRORS_<NAME>, else the registry's list."""
    if override:
        urls = list(override)
    elif os.environ.get(spec.mirror_env):
        urls = os.environ[spec.mirror_env].replace(",", " ").split()
    else:
        urls = list(spec.mirrors)
    return [_base(u) for u in urls]


def _base(url: str) -> str:
    """Returns the mirror URL with exactly one trailing slash."""
    return url if url.endswith("/") else url + "/"


def _get(url: str, part: Path, timeout: float, log: Callable[[str], None]) -> None:
    """Append the rest of `url` to `part` (resuming with a Range request when it has bytes)."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": f"layerlab/{layerlab.__version__}"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                      timeout=timeout)
    except HTTPError as err:
        if err.code == 416 and have:  # nothing after `have`: the partial file may be complete
            return
        raise
    with resp:
        content_range = resp.headers.get("Content-Range", "")
        if have and resp.status == 206 and content_range.startswith(f"bytes {have}-"):
            mode = "ab"
            log(f"  resuming at byte {have}")
        else:
            mode, have = "wb", 0
        length = resp.headers.get("Content-Length")
        got = 0
        with open(part, mode) as f:
            while chunk := resp.read(CHUNK):
                f.write(chunk)
                got += len(chunk)
            f.flush()
            os.fsync(f.fileno())
    if length is not None and got < int(length):
        raise IncompleteDownload(
            f"connection closed after {have + got} of {have + int(length)} bytes"
        )


def download(remote: RemoteFile, mirrors: Sequence[str], dest: Path, *, retries: int = 3,
             backoff: float = 1.0, timeout: float = 30.0, manual: str = "",
             log: Callable[[str], None] = _stderr) -> Path:
    """Download one file into `dest` from the first mirror that serves it intact.

    Returns the final path `dest/remote.name`. Raises FetchError listing every URL tried.
    """
    dest.mkdir(parents=True, exist_ok=True)
    final, part = dest / remote.name, dest / f"{remote.name}.part"
    tried: list[str] = []
    for base in mirrors:
        url = _base(base) + remote.name
        for attempt in range(1, retries + 1):
            resumed = part.exists() and part.stat().st_size > 0
            log(f"fetch {url} (attempt {attempt}/{retries})")
            try:
                _get(url, part, timeout, log)
            except HTTPError as err:
                tried.append(f"{url} (attempt {attempt}): HTTP {err.code} {err.reason}")
                if err.code in RETRY_HTTP and attempt < retries:
                    time.sleep(backoff * 2 ** (attempt - 1))
                    continue
                break
            except (URLError, OSError, http.client.HTTPException) as err:
                reason = getattr(err, "reason", None) or err
                tried.append(f"{url} (attempt {attempt}): {type(err).__name__}: {reason}")
                if attempt < retries:
                    time.sleep(backoff * 2 ** (attempt - 1))
                    continue
                break
            check = check_file(part, remote)
            if check.ok:
                os.replace(part, final)
                log(f"  ok: {final} ({check.how})")
                return final
            part.unlink()
            tried.append(f"{url} (attempt {attempt}): checksum mismatch, {check.how} "
                         f"{check.got}, expected {check.expected}")
            if not resumed:
                break  # this mirror serves a wrong file; retrying it will not help
    raise FetchError(_failure_message(remote, final, part, tried, manual))


def _failure_message(remote: RemoteFile, final: Path, part: Path, tried: list[str],
                     manual: str) -> str:
    """Returns the error text when every mirror failed: each URL tried, the expected
    md5 and the manual alternative."""
    lines = [f"could not fetch {remote.name}: every mirror failed. Tried:"]
    lines += [f"  - {t}" for t in tried] or ["  (no mirrors given)"]
    if part.exists():
        lines.append(f"A partial download is kept in {part}; the next fetch resumes it.")
    lines.append(f"Nothing was written under {final}.")
    lines.append(f"Expected md5: {' or '.join(remote.md5)}"
                 + (f" (uncompressed content {remote.content_md5})" if remote.content_md5 else ""))
    if manual:
        lines.append(f"Manual alternative: {manual}.")
    return "\n".join(lines)


def fetch(name: str, dest: str | os.PathLike | None = None, mirrors: Sequence[str] | None = None,
          *, retries: int = 3, backoff: float = 1.0, timeout: float = 30.0,
          log: Callable[[str], None] = _stderr) -> Path:
    """Download every file of dataset `name` into `dest` (default: the user cache folder).

    Files already in `dest` with a published md5 are kept. Returns the folder written to,
    which `load` finds when it is the default (or when given as `root`).
    """
    spec = registry.get(name)
    if not spec.downloads:
        raise DataError(f"{name} has no download; it is "
                        f"{'shipped inside the package' if name == 'builtin' else 'made locally'}")
    folder = Path(dest) if dest is not None else user_cache() / spec.fetch_folder
    urls = mirror_list(spec, mirrors)
    manual = f"{spec.manual}; then run `layerlab data verify {spec.name}`"
    for remote in spec.downloads:
        final = folder / remote.name
        if final.is_file() and check_file(final, remote).ok:
            log(f"{final}: already there, checksum ok")
            continue
        download(remote, urls, folder, retries=retries, backoff=backoff, timeout=timeout,
                 manual=manual, log=log)
    return folder
