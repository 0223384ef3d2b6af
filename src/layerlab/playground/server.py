"""The playground's web app: Starlette routes for the page, the setup API and one WebSocket per
browser session, served by uvicorn.

Each WebSocket connection owns one Session. Everything that touches the session (training,
frames, edits, saving) runs in a worker thread (`asyncio.to_thread`) under the connection's
lock, so the event loop stays free: one session's training never blocks another's requests,
and two sessions train at once. While playing, a task trains, sends a frame, lets waiting
messages in, and repeats, a frame every PERIOD seconds: each slice of training lasts the period
less what the last frame took beyond its training (building, encoding, sending it), never
less than LEAST_TRAINING.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import traceback
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from layerlab.playground import setup as setups
from layerlab.playground.session import Session
from layerlab.playground.setup import SetupError
from layerlab.playground.upload import MAX_BYTES, UploadError

try:  # orjson writes a frame's thousands of floats about five times faster than json
    import orjson

    def encode(message):
        """A message as JSON text (non-finite floats as null)."""
        return orjson.dumps(message).decode()
except ImportError:
    def encode(message):
        """A message as JSON text (non-finite floats are never in a message)."""
        return json.dumps(message, allow_nan=False)

STATIC = Path(__file__).parent / "static"
MAX_MESSAGE = 2 * MAX_BYTES  # a message's JSON text: an upload's CSV and its quoting
MAX_BODY = 64_000  # /api/check's body
# While playing: a frame every 25 ms (40 a second, fluent; layerlab's goal is 30), and at
# least a third of each period training, so on a crowded machine frames slow down a little
# rather than training stopping.
PERIOD = 1 / 40
LEAST_TRAINING = PERIOD / 3
MISSING_PAGE = ("<!doctype html><title>layerlab playground</title><p>The playground's page is "
                "missing from this installation (static/index.html): reinstall layerlab.</p>")


async def index(request):
    """The page."""
    page = request.app.state.static / "index.html"
    if not page.is_file():
        return HTMLResponse(MISSING_PAGE, status_code=500)
    return FileResponse(page)


async def defaults(request):
    """The default setup, every parameter's limits and the presets."""
    return JSONResponse({"setup": setups.defaults(), "limits": setups.limits(),
                         "presets": setups.presets()})


def _error(message, field=None, status=400):
    return JSONResponse({"error": message, "field": field}, status_code=status)


async def _body(request, limit):
    """The request's body, or None once it passes `limit` bytes (read no further: a huge
    body never sits in memory)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


async def check(request: Request):
    """A URL query checked: its canonical setup and query, or 400 naming the parameter."""
    body = await _body(request, MAX_BODY)
    if body is None:
        return _error(f"the request is over {MAX_BODY:,} bytes: send only the query", status=413)
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        return _error('send JSON: {"query": "dataset=circle&..."}')
    if not isinstance(data, dict) or not isinstance(data.get("query", ""), str):
        return _error('send JSON: {"query": "dataset=circle&..."}', "query")
    try:
        setup = setups.from_query(data.get("query", ""))
    except SetupError as err:
        return _error(str(err), err.field)
    return JSONResponse({"setup": setup, "query": setups.to_query(setup)})


class Connection:
    """One WebSocket and its session: the messages of the protocol, and the play loop."""

    def __init__(self, websocket: WebSocket, runs_dir):
        self.ws = websocket
        self.runs_dir = runs_dir
        self.session = None
        self.lock = asyncio.Lock()
        self.player = None

    async def serve(self):
        """Answer messages until the browser goes away."""
        self.session = await asyncio.to_thread(Session, self.runs_dir)
        try:
            while True:
                text = await self.ws.receive_text()
                await self.handle(text)
        except WebSocketDisconnect:
            pass
        finally:
            self.session.running = False
            if self.player:
                self.player.cancel()

    async def send(self, messages):
        """Send messages in order (the caller holds the lock)."""
        for message in messages:
            await self.ws.send_text(message if isinstance(message, str) else encode(message))

    async def work(self, fn, *args):
        """fn(*args) in a worker thread, its messages encoded there too (a frame's JSON is the
        largest piece of work after training: it stays off the event loop)."""
        return await asyncio.to_thread(lambda: [encode(m) for m in fn(*args)])

    async def handle(self, text):
        """One client message: its replies, or an `error`; the session stays usable."""
        try:
            message = _message(text)
            kind = message["type"]
            if kind == "pause":
                self.session.running = False
            if kind == "play":
                return await self.play()
            async with self.lock:
                await self.send(await self.work(self.reply, kind, message))
        except (SetupError, UploadError) as err:
            field = getattr(err, "field", "csv")
            await self._send_error(str(err), field)
        except WebSocketDisconnect:
            raise
        except Exception as err:  # a bug must not take the server down: say it, keep going
            traceback.print_exc(file=sys.stderr)
            await self._send_error(f"the server failed on this message ({type(err).__name__}: "
                                   f"{err}); the session is kept", None)

    async def _send_error(self, text, field):
        async with self.lock:
            try:
                await self.send([{"type": "error", "message": text, "field": field}])
            except Exception:  # the socket is gone: end this connection quietly
                raise WebSocketDisconnect() from None

    def reply(self, kind, message):
        """The replies to one message (runs in a worker thread, under the lock)."""
        s = self.session
        if kind == "setup":
            return s.apply(_field(message, "setup", dict))
        if kind in ("pause", "step", "reset", "regenerate"):
            s.running = False
            return {"pause": lambda: [s.frame()], "step": s.step_epoch, "reset": s.reset,
                    "regenerate": s.regenerate}[kind]()
        if kind == "set_weight":
            return s.set_weight(*(_field(message, k, int) for k in ("layer", "row", "col")),
                                _field(message, "value", float))
        if kind == "add_point":
            return s.add_point(*(_field(message, k, float) for k in ("x1", "x2", "label")))
        if kind == "upload":
            return s.upload(_field(message, "csv", str))
        if kind == "save":
            return [s.save()]
        raise SetupError("type", f"unknown message type {setups.shown(kind)}; types: setup, "
                         "play, pause, step, reset, regenerate, set_weight, add_point, upload, "
                         "save")

    async def play(self):
        """Start the play loop (a no-op when it runs)."""
        async with self.lock:
            if self.session.diverged:
                return await self.send([self.session.diverged_message()])
            self.session.running = True
        if self.player is None or self.player.done():
            self.player = asyncio.create_task(self._play())

    async def _play(self):
        seconds = PERIOD - LEAST_TRAINING  # the first slice; then the period's rest
        try:
            while self.session.running:
                start = time.perf_counter()
                async with self.lock:
                    if not self.session.running:
                        break
                    await self.send(await self.work(self.session.advance, seconds))
                await asyncio.sleep(0)  # let waiting messages take the lock
                seconds = next_slice(seconds, time.perf_counter() - start)
        except (WebSocketDisconnect, RuntimeError):  # the browser went away
            self.session.running = False
        except Exception as err:  # a bug: stop playing and say so, as handle() does
            self.session.running = False
            traceback.print_exc(file=sys.stderr)
            with contextlib.suppress(WebSocketDisconnect):
                await self._send_error(f"training stopped: the server failed "
                                       f"({type(err).__name__}: {err}); the session is kept", None)


def next_slice(seconds, elapsed):
    """The next slice of training: PERIOD less what the last turn of the play loop (`elapsed`
    seconds, `seconds` of them training) spent on all but training, within
    [LEAST_TRAINING, PERIOD]."""
    return min(max(PERIOD - (elapsed - seconds), LEAST_TRAINING), PERIOD)


def _message(text):
    """The client's message as a dict with a string `type`, or SetupError."""
    if len(text) > MAX_MESSAGE:
        raise SetupError(None, f"the message is over {MAX_MESSAGE // 1_000_000} MB")
    try:
        message = json.loads(text)
    except ValueError:
        raise SetupError(None, "a message must be JSON, e.g. {\"type\": \"play\"}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise SetupError("type", "a message must be a JSON object with a string \"type\"")
    return message


def _field(message, key, kind):
    """message[key] as `kind` (int: a whole number; float: any number), or SetupError."""
    value = message.get(key)
    ok = {dict: isinstance(value, dict), str: isinstance(value, str),
          int: isinstance(value, int) and not isinstance(value, bool),
          float: isinstance(value, int | float) and not isinstance(value, bool)}[kind]
    if not ok:
        what = {dict: "an object", str: "text", int: "a whole number", float: "a number"}[kind]
        raise SetupError(key, f"{key} is missing or not {what} (got {setups.shown(value, 40)})")
    return value


def create_app(runs_dir="playground-runs", static=STATIC):
    """The Starlette app; saved runs go under `runs_dir`."""
    async def websocket(ws: WebSocket):
        await ws.accept()
        await Connection(ws, runs_dir).serve()

    app = Starlette(routes=[
        Route("/", index),
        Route("/api/defaults", defaults),
        Route("/api/check", check, methods=["POST"]),
        WebSocketRoute("/ws", websocket),
        Mount("/static", StaticFiles(directory=static, check_dir=False), name="static"),
    ])
    app.state.static = Path(static)
    return app
