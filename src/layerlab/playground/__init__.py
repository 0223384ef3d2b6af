"""`layerlab playground`: the scratch engine trained live in the browser.

setup.py (parameters, presets, URL query), data.py (the points), upload.py (CSV), net.py (the
net on the engine), measure.py (what a frame shows), session.py (one training session),
save.py (a session as a run folder), server.py (Starlette app, uvicorn), cli.py (the command).
The page lives in static/.
"""
