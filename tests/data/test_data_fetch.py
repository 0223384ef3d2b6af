"""Downloads over real HTTP on 127.0.0.1: success, resume, corrupt files, 404s, dead mirrors."""

import gzip
import hashlib

import numpy as np
import pytest
from datafiles import Route, idx_bytes
from needs import missing

from layerlab.cli import main as cli_main
from layerlab.data import load, registry
from layerlab.data.errors import FetchError
from layerlab.data.fetch import download, fetch, mirror_list
from layerlab.data.registry import RemoteFile


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def payload(rng):
    """A real gzipped IDX file (~40 kB) and its RemoteFile entry."""
    raw = idx_bytes(rng.integers(0, 256, (50, 28, 28), dtype=np.uint8))
    data = gzip.compress(raw, mtime=1)
    return data, RemoteFile("images.gz", (md5(data),), md5(raw))


def quiet(_message):
    pass


def test_download_success(server, payload, tmp_path):
    data, remote = payload
    server.routes["/m/images.gz"] = Route(data)
    path = download(remote, [server.url + "/m/"], tmp_path, log=quiet)
    assert path == tmp_path / "images.gz" and path.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images.gz"]  # no .part left


def test_resume_after_the_connection_is_cut(server, payload, tmp_path):
    data, remote = payload
    server.routes["/images.gz"] = Route(data, cut_times=1)
    path = download(remote, [server.url], tmp_path, backoff=0, log=quiet)
    assert path.read_bytes() == data
    assert server.log == [("/images.gz", None), ("/images.gz", f"bytes={len(data) // 2}-")]


def test_resume_a_partial_file_left_by_an_earlier_run(server, payload, tmp_path):
    data, remote = payload
    (tmp_path / "images.gz.part").write_bytes(data[:1000])
    server.routes["/images.gz"] = Route(data)
    assert download(remote, [server.url], tmp_path, log=quiet).read_bytes() == data
    assert server.log == [("/images.gz", "bytes=1000-")]


def test_server_that_ignores_range_restarts_cleanly(server, payload, tmp_path):
    data, remote = payload
    (tmp_path / "images.gz.part").write_bytes(data[:1000])
    server.routes["/images.gz"] = Route(data, ranges=False)
    assert download(remote, [server.url], tmp_path, log=quiet).read_bytes() == data


def test_stale_partial_of_another_file_is_discarded_and_refetched(server, payload, tmp_path):
    data, remote = payload
    (tmp_path / "images.gz.part").write_bytes(b"x" * 1000)  # wrong bytes from somewhere else
    server.routes["/images.gz"] = Route(data)
    assert download(remote, [server.url], tmp_path, backoff=0, log=quiet).read_bytes() == data
    assert server.log == [("/images.gz", "bytes=1000-"), ("/images.gz", None)]


def test_corrupt_file_is_rejected_and_nothing_is_left(server, payload, tmp_path):
    data, remote = payload
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0xFF
    server.routes["/images.gz"] = Route(bytes(bad))
    with pytest.raises(FetchError) as info:
        download(remote, [server.url], tmp_path, log=quiet)
    msg = str(info.value)
    assert "images.gz" in msg and "checksum mismatch" in msg
    assert remote.md5[0] in msg and remote.content_md5 in msg
    assert list(tmp_path.iterdir()) == []


def test_404_on_the_first_mirror_then_success_on_the_second(server, payload, tmp_path):
    data, remote = payload
    server.routes["/good/images.gz"] = Route(data)
    mirrors = [server.url + "/gone/", server.url + "/good/"]
    lines = []
    assert download(remote, mirrors, tmp_path, log=lines.append).read_bytes() == data
    assert [p for p, _ in server.log] == ["/gone/images.gz", "/good/images.gz"]  # 404: no retry
    assert any("/good/images.gz" in line for line in lines)


def test_all_mirrors_down_lists_each_with_its_error(server, payload, tmp_path, dead_url):
    _, remote = payload
    server.routes["/busy/images.gz"] = Route(status=500)
    mirrors = [dead_url, server.url + "/busy/", server.url + "/gone/"]
    with pytest.raises(FetchError) as info:
        download(remote, mirrors, tmp_path, retries=2, backoff=0, manual="copy it by hand",
                 log=quiet)
    msg = str(info.value)
    assert msg.count(f"{dead_url}images.gz (attempt") == 2
    assert "Connection refused" in msg or "ConnectionRefused" in msg
    assert msg.count("/busy/images.gz (attempt") == 2 and "HTTP 500" in msg  # 5xx is retried
    assert msg.count("/gone/images.gz (attempt") == 1 and "HTTP 404" in msg  # 404 is not
    assert "Manual alternative: copy it by hand" in msg
    assert not (tmp_path / "images.gz").exists()


def test_repackaged_gzip_with_the_same_content_is_accepted(server, payload, tmp_path):
    data, remote = payload
    rewrapped = gzip.compress(gzip.decompress(data), mtime=123456)  # other header, same content
    assert md5(rewrapped) not in remote.md5
    server.routes["/images.gz"] = Route(rewrapped)
    assert download(remote, [server.url], tmp_path, log=quiet).read_bytes() == rewrapped


def test_mirror_list_precedence(monkeypatch):
    assert mirror_list(registry.MNIST) == list(registry.MNIST.mirrors)
    monkeypatch.setenv("LAYERLAB_MIRRORS_MNIST", "http://a/x, http://b/y/")
    assert mirror_list(registry.MNIST) == ["http://a/x/", "http://b/y/"]
    assert mirror_list(registry.MNIST, ["http://c"]) == ["http://c/"]
    assert registry.FASHION_MNIST.mirror_env == "LAYERLAB_MIRRORS_FASHION_MNIST"


def test_fetch_uses_the_env_mirror_and_reports_the_expected_md5(server, tmp_path, monkeypatch):
    server.routes["/t10k-labels-idx1-ubyte.gz"] = Route(b"not mnist at all")
    monkeypatch.setenv("LAYERLAB_MIRRORS_MNIST", server.url)
    with pytest.raises(FetchError) as info:
        fetch("mnist", tmp_path, retries=1, backoff=0, log=quiet)
    first = registry.MNIST.downloads[0]
    assert server.log[0][0] == f"/{first.name}"
    assert first.md5[0] in str(info.value)
    assert "layerlab data verify mnist" in str(info.value)


def test_cli_fetch_failure_exits_1_and_names_every_mirror(server, tmp_path, dead_url, capsys):
    rc = cli_main(["data", "fetch", "gurmukhi", "--mirror", dead_url, "--mirror", server.url,
                   "--dest", str(tmp_path), "--retries", "1", "--backoff", "0"])
    err = capsys.readouterr().err
    assert rc == 1
    assert f"{dead_url}train.zip" in err and f"{server.url}/train.zip" in err
    assert registry.GURMUKHI.archives[0].md5[0] in err
    assert list(tmp_path.iterdir()) == []


def test_cli_fetch_of_a_dataset_without_downloads(capsys):
    assert cli_main(["data", "fetch", "builtin"]) == 1
    assert "shipped inside the package" in capsys.readouterr().err


def test_fetch_real_mnist_over_loopback_then_load_it(real, server, tmp_path, capsys):
    found = real("mnist")
    if found.form != "idx":
        missing(f"the MNIST copy found ({found.path}) is not a folder of IDX files")
    for remote in registry.MNIST.downloads:
        data = (found.path / remote.name).read_bytes()
        # the big file is cut once, to show resume on real data too
        server.routes[f"/mnist/{remote.name}"] = Route(data, cut_times=int(len(data) > 10**6))
    dest = tmp_path / "mnist"
    rc = cli_main(["data", "fetch", "mnist", "--mirror", server.url + "/gone/",
                   "--mirror", server.url + "/mnist/", "--dest", str(dest), "--backoff", "0"])
    assert rc == 0, capsys.readouterr().err
    assert any(r and r.startswith("bytes=") for _, r in server.log)
    ds = load("mnist", "test", root=dest)
    assert ds.checksum == "verified" and len(ds) == 10_000
    # a second fetch finds every file in place and downloads nothing
    before = len(server.log)
    assert cli_main(["data", "fetch", "mnist", "--mirror", server.url + "/mnist/",
                     "--dest", str(dest)]) == 0
    assert len(server.log) == before
