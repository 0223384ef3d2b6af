"""`layerlab playground [--port N] [--host H] [--no-browser] [--runs DIR]`: start the web app,
print its address and open it in the browser."""

from __future__ import annotations

import argparse
import errno
import socket
import sys
import threading
import webbrowser

EXTRA = "pip install 'layerlab[playground]'"


def _listen(host, port):
    """A listening socket on host:port (port 0: any free one), or OSError."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _port(text):
    """--port: a whole number 0..65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give 0..65535")
    return port


def _url(sock):
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def _serve(args):
    try:
        import uvicorn

        from layerlab.playground.server import MAX_MESSAGE, create_app
    except ImportError as err:
        print(f"layerlab playground needs {err.name or 'its web server'}: {EXTRA}",
              file=sys.stderr)
        return 1
    try:
        sock = _listen(args.host, args.port)
    except OSError as err:
        taken = err.errno == errno.EADDRINUSE
        print(f"layerlab playground: {'port ' + str(args.port) + ' is taken' if taken else err}"
              f" on {args.host}: " + ("pick another with --port N (0: any free port)" if taken
                                      else "check --host and --port"), file=sys.stderr)
        return 1
    url = _url(sock)
    print(f"layerlab playground: {url} (saved runs go to {args.runs}; Ctrl-C stops it)",
          flush=True)
    if not args.no_browser:
        threading.Timer(0.5, webbrowser.open, (url,)).start()
    # No permessage-deflate: compressing every frame cost more CPU than building it, and on
    # this machine's loopback (or a LAN) the bytes are free.
    config = uvicorn.Config(create_app(args.runs), log_level="warning", ws_max_size=MAX_MESSAGE,
                            ws_per_message_deflate=False, timeout_graceful_shutdown=2,
                            lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # Ctrl-C is how a server is stopped: not an error
        pass
    print("layerlab playground: stopped", flush=True)
    return 0


def add_parser(subparsers):
    """Register `layerlab playground`."""
    p = subparsers.add_parser(
        "playground", help="train the scratch engine live in the browser",
        description="Start the playground: a local web app on 127.0.0.1 where a small net of "
        "the scratch engine trains on 2-D points while the page shows it live (output and "
        "unit maps, weights, per-layer gradient norms, dead and saturated units, curves). "
        "Prints the address and opens it in the browser.")
    p.add_argument("--port", type=_port, default=8765, help="port (default 8765; 0: any free "
                   "port)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1, this machine only)")
    p.add_argument("--no-browser", action="store_true", help="do not open the browser")
    p.add_argument("--runs", default="playground-runs", help="folder for saved runs "
                   "(default ./playground-runs)")
    p.set_defaults(func=_serve)
