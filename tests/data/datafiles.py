"""Small real data files written from the format specs, and a real HTTP server on loopback."""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
import threading
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from layerlab.data import locate, registry

# ---------------------------------------------------------------- small real files

def staged(*parts: str) -> Path:
    """A path inside the staged shared data folder beside the checkout (may not exist)."""
    base = locate.checkout_staged_data() or Path("/nonexistent")
    return base.joinpath(*parts)


IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C}


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file's bytes for `array` (uint8 or int32), written by hand from the spec."""
    header = bytes([0, 0, IDX_CODES[array.dtype], array.ndim])
    header += np.array(array.shape, ">i4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx_set(folder: Path, spec: registry.Spec, n_train: int, n_test: int,
                  gz: bool = True, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write the four IDX files of `spec` (random content, real format) into `folder`."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        for remote, arr in zip(spec.idx_files[split], (images, labels), strict=True):
            data = idx_bytes(arr)
            name = remote.name if gz else remote.name.removesuffix(".gz")
            (folder / name).write_bytes(gzip.compress(data, mtime=0) if gz else data)
        out[split] = (images, labels)
    return out


def cifar_batch_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    """A CIFAR-10 python batch (the pickled dict of the official files) for (N, 3, 32, 32)."""
    batch = {b"batch_label": b"test", b"labels": [int(v) for v in labels],
             b"data": images.reshape(len(images), -1), b"filenames": []}
    return pickle.dumps(batch, protocol=2)


def write_cifar_batches(folder: Path, per_batch: int = 4, seed: int = 0) -> np.ndarray:
    """cifar-10-batches-py-like folder with small random batches; returns all train images."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    train = []
    for remote in (*registry.CIFAR10.batches["train"], *registry.CIFAR10.batches["test"]):
        images = rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, per_batch)
        (folder / remote.name).write_bytes(cifar_batch_bytes(images, labels))
        if remote.name.startswith("data_batch"):
            train.append(images)
    return np.concatenate(train)


def write_image_tree(root: Path, split: str, classes: dict[str, list[np.ndarray]],
                     ext: str = ".png", mode: str | None = None) -> None:
    """Write root/split/<class>/<i><ext> from uint8 (H, W) or (H, W, 3) arrays with Pillow."""
    from PIL import Image

    for cls, arrays in classes.items():
        folder = root / split / cls
        folder.mkdir(parents=True, exist_ok=True)
        for i, a in enumerate(arrays, 1):
            im = Image.fromarray(a)
            if mode:
                im = im.convert(mode)
            im.save(folder / f"{i}{ext}")


def pack(folder: Path, archive: Path, prefix: str = "") -> Path:
    """Pack every file under `folder` into a .tar.gz or .zip, names prefixed by `prefix`."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    archive.parent.mkdir(parents=True, exist_ok=True)
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive, "w") as z:
            for p in files:
                z.write(p, prefix + p.relative_to(folder).as_posix())
    else:
        with tarfile.open(archive, "w:gz") as t:
            for p in files:
                t.add(p, prefix + p.relative_to(folder).as_posix())
    return archive


def tar_bytes(members: dict[str, bytes]) -> bytes:
    """A .tar.gz holding `members` (name -> bytes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# ---------------------------------------------------------------- loopback HTTP server

@dataclass
class Route:
    """What the test server does for one path: serve `data`, optionally misbehaving."""

    data: bytes = b""
    status: int = 200  # 404 or 500 to fail
    cut_times: int = 0  # drop the connection half-way through this many responses
    ranges: bool = True  # honour Range requests


class Server:
    """A real HTTP server on 127.0.0.1 (port chosen by the OS) in a background thread."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.log: list[tuple[str, str | None]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.log.append((self.path, self.headers.get("Range")))
                route = owner.routes.get(self.path)
                if route is None or route.status != 200:
                    self.send_error(route.status if route else 404)
                    return
                data, start = route.data, 0
                wanted = self.headers.get("Range")
                if wanted and route.ranges:
                    start = int(wanted.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if route.cut_times > 0:
                    route.cut_times -= 1
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
