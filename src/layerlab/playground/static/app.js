// layerlab playground: the page. It holds no model: the server trains on layerlab's scratch
// engine and sends frames over a WebSocket; this file draws them and sends the user's changes.
// The setup's source of truth is the server's `setup` message (validated, canonical); the page
// mirrors it in its controls and in the URL.
"use strict";

(() => {
  // ---- constants -------------------------------------------------------------------------

  const WHITE = [232, 234, 235];
  const ORANGE = [245, 147, 34];   // negative / class 0
  const BLUE = [8, 119, 189];      // positive / class 1
  const CLASS_COLOURS = [ORANGE, BLUE, [44, 160, 44], [148, 103, 189], [214, 39, 40]];
  const EXTENT = [-6, 6];

  // Every input feature, in the server's order, with its value over the plane for the
  // thumbnail (scaled into [-1, 1] so the diverging palette shows it).
  const FEATURES = [
    ["x1", "x\u2081", (a) => a / 6],
    ["x2", "x\u2082", (a, b) => b / 6],
    ["x1sq", "x\u2081\u00b2", (a) => (a * a) / 36],
    ["x2sq", "x\u2082\u00b2", (a, b) => (b * b) / 36],
    ["x1x2", "x\u2081x\u2082", (a, b) => (a * b) / 36],
    ["sinx1", "sin x\u2081", (a) => Math.sin(a)],
    ["sinx2", "sin x\u2082", (a, b) => Math.sin(b)],
  ];
  // Labels for the server's choices (a choice without one shows its own name).
  const LABELS = {
    dataset: { circle: "circle", xor: "XOR", gauss: "two Gaussians", spiral: "spiral",
      or: "OR", plane: "plane (regression)", multigauss: "multi-Gaussian (regression)",
      custom: "your points" },
    optimizer: { sgd: "SGD", momentum: "momentum", rmsprop: "RMSProp", adam: "Adam" },
    activation: { relu: "ReLU", tanh: "tanh", sigmoid: "sigmoid", linear: "linear" },
    init: { xavier: "Xavier", kaiming: "Kaiming", gaussian: "Gaussian", zeros: "zeros",
      playground: "playground" },
    reg: { none: "none", l1: "L1", l2: "L2" },
    order: { shuffled: "shuffled", sorted: "sorted by class" },
  };
  const REGRESSION = new Set(["plane", "multigauss"]);
  // Numeric menus (a URL may carry any valid value between them: it is added to the menu).
  const NUMBERS = {
    lr: [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10],
    reg_rate: [0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10],
    dropout: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    classes: [2, 3, 4, 5],
  };
  const MAX_UPLOAD = 1000000;  // bytes: upload.MAX_BYTES on the server
  const MAX_LAYERS = 6;
  const MAX_UNITS = 8;
  const NODE = 38;        // px, a unit's heat map in the network
  const OUT_NODE = 24;    // px, an output unit
  const GAP = 10;
  const HEAD = 34;        // px above the columns for the +/- buttons

  // ---- state -----------------------------------------------------------------------------

  const S = {
    defaults: null, limits: {}, presets: {}, setup: null, query: "", problem: "classification",
    points: { train: [], test: [] }, frame: null, pending: null, running: false,
    ws: null, confirmed: false, retries: 0, refused: [], net: null, hoverUnit: null, discretize: false, closing: false,
  };
  const $ = (id) => document.getElementById(id);

  // ---- small helpers ---------------------------------------------------------------------

  function mix(a, b, t) {
    return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
  }

  /** The diverging palette: -1 orange, 0 near-white, +1 blue. */
  function diverging(v) {
    if (!Number.isFinite(v)) return [0, 0, 0];
    const t = Math.max(-1, Math.min(1, v));
    return t < 0 ? mix(WHITE, ORANGE, -t) : mix(WHITE, BLUE, t);
  }

  function css(rgb) {
    return `rgb(${rgb.map(Math.round).join(",")})`;
  }

  /** A number for a reader: 3 decimals, or scientific when tiny or huge. */
  function fmt(v, digits = 3) {
    if (v === null || v === undefined) return "\u2013";
    if (!Number.isFinite(v)) return String(v);
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
    return v.toFixed(digits);
  }

  function pct(v) {
    return v === null || v === undefined ? "\u2013" : `${(100 * v).toFixed(1)}%`;
  }

  function svgEl(tag, attrs = {}) {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    return el;
  }

  function widths(setup) {
    const h = String(setup.hidden ?? "").trim();
    return h ? h.split(",").map(Number) : [];
  }

  function features(setup) {
    const f = setup.features;
    const list = Array.isArray(f) ? f : String(f ?? "").split(",");
    return list.map((s) => String(s).trim()).filter(Boolean);
  }

  function isRegression() {
    return S.problem === "regression" || REGRESSION.has(S.setup?.dataset);
  }

  function outputCount() {
    return isRegression() ? 1 : Number(S.setup?.classes ?? 2);
  }

  /** Paint n*n values (row-major, top row first) into a canvas of n*n pixels. */
  function paintGrid(canvas, n, values, colour) {
    if (canvas.width !== n) { canvas.width = n; canvas.height = n; }
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(n, n);
    for (let i = 0; i < n * n; i++) {
      const c = colour(i, values[i]);
      img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2];
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  /** A unit's activations coloured on one scale: values beyond +-1 are shrunk by the largest. */
  function unitColour(values) {
    let big = 0;
    for (const v of values) if (Number.isFinite(v)) big = Math.max(big, Math.abs(v));
    const scale = Math.max(1, big);
    return (i, v) => diverging(v / scale);
  }

  // ---- messages --------------------------------------------------------------------------

  /** Show the band: kind "error", "diverged" (with a reset button) or "info". */
  function showMessage(text, kind = "error", html = false) {
    const band = $("message");
    band.className = `message ${kind}`;
    if (html) $("message-text").innerHTML = text; else $("message-text").textContent = text;
    $("message-reset").hidden = kind !== "diverged";
    band.hidden = false;
  }

  function hideMessage() {
    $("message").hidden = true;
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  }

  // ---- the connection --------------------------------------------------------------------

  function send(msg) {
    if (S.ws && S.ws.readyState === WebSocket.OPEN) {
      S.ws.send(JSON.stringify(msg));
      return true;
    }
    $("status").textContent = "not connected: the message was not sent";
    return false;
  }

  /** A user's action: an old error or divergence message no longer applies. */
  function act(msg) {
    if (!$("message").classList.contains("info")) hideMessage();
    return send(msg);
  }

  /** Send a change of the setup; any but a preset's leaves the preset chosen before. */
  function sendSetup(partial, preset = false) {
    if (!preset) {
      $("preset").value = "";
      $("preset-description").hidden = true;
    }
    act({ type: "setup", setup: partial });
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws`);
    S.ws = ws;
    $("status").textContent = "connecting\u2026";
    ws.onopen = () => {
      $("status").textContent = "connected";
      Object.assign(S, { confirmed: false, retries: 0, refused: [] });
      send({ type: "setup", setup: S.setup });  // not the user's: a message about the URL stays
    };
    ws.onmessage = (event) => receive(JSON.parse(event.data));
    ws.onclose = () => {
      S.running = false;
      showPlaying();
      if (S.closing) return;
      $("status").textContent = "disconnected: trying again in 2 s";
      setTimeout(connect, 2000);
    };
  }

  function receive(msg) {
    if (msg.type === "setup") onSetup(msg);
    else if (msg.type === "frame") {
      // frames may come faster than the screen redraws: one request draws the newest
      if (!S.pending) requestAnimationFrame(drawPending);
      S.pending = msg;
    } else if (msg.type === "diverged") {
      S.running = false;
      showPlaying();
      showMessage(msg.message || `training diverged at epoch ${msg.epoch}`, "diverged");
    } else if (msg.type === "error") {
      if (!S.confirmed) {
        S.refused.push(msg.message);
        showMessage(`${S.refused.join("; ")}. Started without ${S.refused.length > 1 ? "these" : "it"}.`, "error");
        retryStart(msg.field);
      } else {
        showMessage(msg.message, "error");
        if (S.setup) showSetup(S.setup);  // the server kept the previous setup
      }
    } else if (msg.type === "saved") {
      showMessage(`Saved the run to <code id="saved-path" data-testid="saved-path">${escapeHtml(msg.path)}</code>; `
        + `its report: <code>${escapeHtml(msg.report)}</code> (rebuild with <code>layerlab report `
        + `${escapeHtml(msg.path)}</code>)`, "info", true);
    }
  }

  /** The first setup was refused (e.g. a link to `custom` points this session lacks): try the
   *  refused parameter's default, then the defaults; the message stays up. */
  function retryStart(field) {
    S.retries += 1;
    const fallback = field in (S.defaults ?? {}) && S.retries < 4
      ? { ...S.setup, [field]: S.defaults[field] } : { ...S.defaults };
    S.setup = fallback;
    send({ type: "setup", setup: fallback });
  }

  function onSetup(msg) {
    S.confirmed = true;
    S.setup = msg.setup;
    S.query = msg.query ?? "";
    S.problem = msg.problem ?? S.problem;
    S.points = msg.points ?? S.points;
    showSetup(S.setup);
    if (!S.net || S.net.key !== structureKey(S.setup)) buildNetwork();
    writeUrl();
    drawOutput();
    drawScale();
  }

  // ---- the URL ---------------------------------------------------------------------------

  /** The server's canonical query with the page's own discretize switch. */
  function writeUrl() {
    let text = S.query;
    const flag = `discretize=${S.discretize ? 1 : 0}`;
    if (/(^|&)discretize=[^&]*/.test(text)) text = text.replace(/(^|&)discretize=[^&]*/, `$1${flag}`);
    else if (S.discretize) text = text ? `${text}&${flag}` : flag;
    history.replaceState(null, "", `${location.pathname}${text ? `?${text}` : ""}`);
  }

  /** The setup from the URL (checked by the server), else the defaults with the reason shown. */
  async function initialSetup() {
    const query = location.search.replace(/^\?/, "");
    if (!query) return { ...S.defaults };
    const reply = await fetch("/api/check", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ query }),
    });
    const body = await reply.json().catch(() => ({}));
    if (reply.ok && body.setup) return body.setup;
    showMessage(`The link's setup is not valid: ${body.error ?? `HTTP ${reply.status}`}. `
      + "Showing the defaults instead.", "error");
    return { ...S.defaults };
  }

  // ---- controls --------------------------------------------------------------------------

  function fillSelect(select, choices) {
    select.innerHTML = "";
    for (const c of choices) {
      const [value, label] = Array.isArray(c) ? c : [c, String(c)];
      select.add(new Option(label, String(value)));
    }
  }

  /** Select `value`; a value the list lacks (a URL may carry any valid one) is added. */
  function selectValue(select, value) {
    const want = String(value);
    let found = [...select.options].find((o) => o.value === want
      || (o.value !== "" && want !== "" && Number(o.value) === Number(want)));
    if (!found) {
      found = new Option(want, want);
      select.add(found);
    }
    select.value = found.value;
  }

  /** The choices of a menu: the server's limits, labelled for a reader. */
  function choicesOf(key) {
    const names = S.limits[key]?.choices ?? Object.keys(LABELS[key] ?? {});
    return names.map((name) => [name, LABELS[key]?.[name] ?? name]);
  }

  function buildControls() {
    for (const [key, values] of Object.entries(NUMBERS)) fillSelect($(key), values);
    for (const key of ["optimizer", "activation", "init", "reg", "order"]) {
      fillSelect($(key), choicesOf(key));
    }
    const box = $("dataset");
    for (const [name, label] of choicesOf("dataset")) {
      const b = document.createElement("button");
      b.textContent = label;
      b.dataset.value = name;
      b.dataset.testid = `dataset-${name}`;
      b.addEventListener("click", () => chooseDataset(name));
      box.append(b);
    }
    for (const el of document.querySelectorAll("select[data-key], input[data-key]")) {
      const key = el.dataset.key;
      if (el.type === "range") {
        el.addEventListener("input", () => { $(`${key}-value`).textContent = el.value; });
      }
      el.addEventListener("change", () => {
        const value = el.type === "checkbox" ? (el.checked ? 1 : 0) : el.value;
        sendSetup({ [key]: value });
      });
    }
  }

  function chooseDataset(name) {
    const partial = { dataset: name };
    // only the spiral (and the user's own points) has more than two classes
    if (name !== "spiral" && name !== "custom") partial.classes = 2;
    sendSetup(partial);
  }

  /** Make every control show `setup`. */
  function showSetup(setup) {
    for (const key of ["lr", "optimizer", "activation", "init", "reg", "reg_rate", "dropout",
      "classes", "order"]) {
      if (setup[key] !== undefined) selectValue($(key), setup[key]);
    }
    for (const key of ["noise", "train_ratio", "points", "batch"]) {
      if (setup[key] === undefined) continue;
      $(key).value = setup[key];
      $(`${key}-value`).textContent = setup[key];
    }
    $("seed").value = setup.seed ?? 0;
    $("batchnorm").checked = Number(setup.batchnorm) === 1;
    for (const b of $("dataset").children) {
      b.classList.toggle("active", b.dataset.value === setup.dataset);
    }
    $("classes").disabled = !(setup.dataset === "spiral" || setup.dataset === "custom");
    $("reg_rate").disabled = setup.reg === "none";
    $("layer-count").textContent = widths(setup).length;
    $("add-layer").disabled = widths(setup).length >= MAX_LAYERS;
    $("remove-layer").disabled = widths(setup).length === 0;
    const regression = REGRESSION.has(setup.dataset) || S.problem === "regression";
    $("add-class-field").hidden = regression;
    $("accuracy").hidden = regression;
    $("add-value-field").hidden = !regression;
    const classes = Number(setup.classes ?? 2);
    const keep = $("add-class").value;
    fillSelect($("add-class"), [...Array(classes).keys()].map((k) => [k, `class ${k}`]));
    if (keep !== "" && Number(keep) < classes) $("add-class").value = keep;
  }

  function changeHidden(list) {
    sendSetup({ hidden: list.join(",") });
  }

  function wireButtons() {
    $("play").addEventListener("click", () => {
      S.running = !S.running;
      showPlaying();
      act({ type: S.running ? "play" : "pause" });
    });
    $("step").addEventListener("click", () => act({ type: "step" }));
    $("reset").addEventListener("click", () => act({ type: "reset" }));
    $("message-reset").addEventListener("click", () => { hideMessage(); act({ type: "reset" }); });
    $("message-close").addEventListener("click", hideMessage);
    $("regenerate").addEventListener("click", () => act({ type: "regenerate" }));
    $("save").addEventListener("click", () => act({ type: "save" }));
    $("export").addEventListener("click", exportWeights);
    $("add-layer").addEventListener("click", () => {
      const w = widths(S.setup);
      if (w.length < MAX_LAYERS) changeHidden([...w, 2]);
    });
    $("remove-layer").addEventListener("click", () => {
      const w = widths(S.setup);
      if (w.length) changeHidden(w.slice(0, -1));
    });
    $("discretize").addEventListener("change", () => {
      S.discretize = $("discretize").checked;
      writeUrl();
      drawOutput();
      // a change the server keeps the net through; it puts it into the canonical query
      send({ type: "setup", setup: { discretize: S.discretize ? 1 : 0 } });
    });
    $("show-test").addEventListener("change", drawOutput);
    $("log-loss").addEventListener("change", () => drawCurve(S.frame?.history));
    $("preset").addEventListener("change", choosePreset);
    $("csv-file").addEventListener("change", uploadCsv);
    $("heatmap").addEventListener("click", addPoint);
    $("loss-curve").addEventListener("mousemove", readCurve);
    $("loss-curve").addEventListener("mouseleave", () => { $("curve-readout").innerHTML = "&nbsp;"; });
    $("weight-ok").addEventListener("click", commitWeight);
    $("weight-cancel").addEventListener("click", () => { $("weight-editor").hidden = true; });
    $("weight-input").addEventListener("keydown", (e) => {
      if (e.key === "Enter") commitWeight();
      if (e.key === "Escape") $("weight-editor").hidden = true;
    });
    window.addEventListener("resize", () => { buildNetwork(); drawFrame(); });
  }

  const ICONS = {
    play: '<svg viewBox="0 0 24 24"><path d="M8 5v14l11-7z"/></svg>',
    pause: '<svg viewBox="0 0 24 24"><path d="M6 5h4v14H6zM14 5h4v14h-4z"/></svg>',
  };

  function showPlaying() {
    $("play").innerHTML = S.running ? ICONS.pause : ICONS.play;
    $("play").classList.toggle("running", S.running);
    $("play").title = S.running ? "pause" : "play";
  }

  function choosePreset() {
    const name = $("preset").value;
    const preset = S.presets[name];
    if (!preset) return;
    $("preset-description").textContent = `${preset.title}: ${preset.description}`;
    $("preset-description").hidden = false;
    S.running = false;
    showPlaying();
    send({ type: "pause" });
    sendSetup({ ...S.defaults, ...preset.setup, discretize: S.discretize ? 1 : 0 }, true);
  }

  function uploadCsv() {
    const file = $("csv-file").files[0];
    if (!file) return;
    if (file.size > MAX_UPLOAD) {  // the server's limit too: refuse before reading the file
      showMessage(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB; the limit is 1 MB `
        + "(10,000 rows of x1, x2, label).", "error");
      return;
    }
    file.text().then((csv) => act({ type: "upload", csv }));
    $("csv-file").value = "";
  }

  function addPoint(event) {
    const canvas = $("heatmap");
    const box = canvas.getBoundingClientRect();
    const [lo, hi] = S.frame?.output?.extent ?? EXTENT;
    const x1 = lo + ((event.clientX - box.left) / box.width) * (hi - lo);
    const x2 = hi - ((event.clientY - box.top) / box.height) * (hi - lo);
    const label = isRegression() ? Number($("add-value").value) : Number($("add-class").value);
    act({ type: "add_point", x1: +x1.toFixed(3), x2: +x2.toFixed(3), label });
  }

  function exportWeights() {
    if (!S.frame) return;
    const body = JSON.stringify({ setup: S.setup, epoch: S.frame.epoch,
      weights: S.frame.weights, biases: S.frame.biases }, null, 1);
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([body], { type: "application/json" }));
    a.download = `playground-weights-epoch${S.frame.epoch}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  // ---- presets ---------------------------------------------------------------------------

  function fillPresets() {
    const select = $("preset");
    for (const [name, preset] of Object.entries(S.presets)) {
      const option = new Option(preset.title, name);
      option.title = preset.description;
      select.add(option);
    }
  }

  // ---- the network -----------------------------------------------------------------------

  /** What decides the network's drawing: the features, the widths, the outputs. */
  function structureKey(setup) {
    return [features(setup).join(","), setup.hidden, setup.dataset, setup.classes].join("|");
  }

  /** Positions of every node: columns of inputs, hidden layers, outputs. */
  function layout() {
    const box = $("network");
    const cols = [FEATURES.length, ...widths(S.setup), outputCount()];
    const width = Math.max(box.clientWidth, 360);
    const tallest = Math.max(...cols.map((n) => n * (NODE + GAP)));
    const height = HEAD + tallest + 10;
    const step = (width - NODE - 90) / (cols.length - 1);
    const columns = cols.map((n, c) => {
      const size = c === cols.length - 1 ? OUT_NODE : NODE;
      const x = 50 + c * step + (NODE - size) / 2;
      const top = HEAD + (tallest - n * (NODE + GAP)) / 2;
      return [...Array(n).keys()].map((i) => ({ x, y: top + i * (NODE + GAP) + (NODE - size) / 2,
        size }));
    });
    return { width, height, columns };
  }

  function buildNetwork() {
    if (!S.setup) return;
    const box = $("network");
    const svg = $("wires");
    for (const el of [...box.children]) if (el !== svg) el.remove();
    svg.innerHTML = "";
    S.hoverUnit = null;  // its node is gone
    $("unit-zoom").hidden = true;
    $("tooltip").hidden = true;
    const geo = layout();
    box.style.height = `${geo.height}px`;
    svg.setAttribute("width", geo.width);
    svg.setAttribute("height", geo.height);
    const on = features(S.setup);
    const active = FEATURES.filter(([name]) => on.includes(name)).map(([name]) => name);
    const inputRows = active.map((name) => FEATURES.findIndex(([n]) => n === name));
    S.net = { key: structureKey(S.setup), geo, active, inputRows, wires: [], units: [],
      outputs: [] };
    buildFeatureNodes(box, geo.columns[0], on);
    buildHiddenNodes(box, geo);
    buildOutputNodes(box, geo.columns[geo.columns.length - 1]);
    buildWires(svg, geo);
    if (S.frame) drawNetwork(S.frame);
  }

  function buildFeatureNodes(box, column, on) {
    FEATURES.forEach(([name, label, fn], i) => {
      const node = document.createElement("div");
      node.className = `node feature ${on.includes(name) ? "on" : "off"}`;
      node.dataset.testid = `feature-${name}`;
      node.title = `${label}: click to switch ${on.includes(name) ? "off" : "on"}`;
      placeNode(node, column[i]);
      const canvas = document.createElement("canvas");
      const n = 20;
      const values = [];
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < n; c++) values.push(fn(-6 + (12 * (c + 0.5)) / n, 6 - (12 * (r + 0.5)) / n));
      }
      paintGrid(canvas, n, values, (k, v) => diverging(v));
      const caption = document.createElement("span");
      caption.className = "caption";
      caption.textContent = label;
      node.append(canvas, caption);
      node.addEventListener("click", () => toggleFeature(name));
      box.append(node);
    });
  }

  function toggleFeature(name) {
    const on = features(S.setup);
    const next = on.includes(name) ? on.filter((f) => f !== name) : [...on, name];
    const ordered = FEATURES.map(([f]) => f).filter((f) => next.includes(f));
    if (!ordered.length) {
      showMessage("Keep at least one input feature on.", "error");
      return;
    }
    sendSetup({ features: ordered.join(",") });
  }

  function buildHiddenNodes(box, geo) {
    const list = widths(S.setup);
    list.forEach((count, layer) => {
      const column = geo.columns[layer + 1];
      box.append(layerHeader(layer, count, column[0].x));
      S.net.units.push(column.map((pos, unit) => {
        const node = document.createElement("div");
        node.className = "node unit";
        node.dataset.testid = `unit-${layer}-${unit}`;
        placeNode(node, pos);
        const canvas = document.createElement("canvas");
        canvas.width = 20; canvas.height = 20;
        node.append(canvas);
        node.addEventListener("mouseenter", () => { S.hoverUnit = { layer, unit, node }; drawZoom(); });
        node.addEventListener("mouseleave", () => { S.hoverUnit = null; $("unit-zoom").hidden = true; });
        box.append(node);
        return canvas;
      }));
    });
  }

  function layerHeader(layer, count, x) {
    const head = document.createElement("div");
    head.className = "layer-head";
    head.style.left = `${x - 14}px`;
    const minus = document.createElement("button");
    minus.textContent = "\u2212";
    minus.dataset.testid = `units-minus-${layer}`;
    minus.disabled = count <= 1;
    minus.title = "one unit fewer";
    const plus = document.createElement("button");
    plus.textContent = "+";
    plus.dataset.testid = `units-plus-${layer}`;
    plus.disabled = count >= MAX_UNITS;
    plus.title = "one unit more";
    const label = document.createElement("span");
    label.dataset.testid = `units-${layer}`;
    label.textContent = `${count}`;
    const change = (d) => {
      const w = widths(S.setup);
      w[layer] = Math.max(1, Math.min(MAX_UNITS, w[layer] + d));
      changeHidden(w);
    };
    minus.addEventListener("click", () => change(-1));
    plus.addEventListener("click", () => change(+1));
    head.append(minus, label, plus);
    return head;
  }

  function buildOutputNodes(box, column) {
    const regression = isRegression();
    column.forEach((pos, k) => {
      const node = document.createElement("div");
      node.className = "node output";
      node.dataset.testid = `output-${k}`;
      placeNode(node, pos);
      node.style.background = regression ? "#fff" : css(CLASS_COLOURS[k % CLASS_COLOURS.length]);
      node.title = regression ? "the output (squared error)" : `class ${k} (softmax)`;
      const caption = document.createElement("span");
      caption.className = "caption right";
      caption.textContent = regression ? "output" : `class ${k}`;
      node.append(caption);
      box.append(node);
      S.net.outputs.push(node);
    });
  }

  function placeNode(node, pos) {
    node.style.left = `${pos.x}px`;
    node.style.top = `${pos.y}px`;
    node.style.width = `${pos.size}px`;
    node.style.height = `${pos.size}px`;
  }

  /** One curve per weight (layer l, row i, column j), with a wide invisible twin to hover. */
  function buildWires(svg, geo) {
    const sources = [S.net.inputRows.map((r) => geo.columns[0][r])];
    for (let c = 1; c < geo.columns.length - 1; c++) sources.push(geo.columns[c]);
    const group = svg.appendChild(svgEl("g"));
    const hits = svg.appendChild(svgEl("g", { class: "hits" }));
    sources.forEach((from, layer) => {
      const to = geo.columns[layer + 1];
      S.net.wires.push(from.map((a, row) => to.map((b, col) => {
        const x0 = a.x + a.size, y0 = a.y + a.size / 2, x1 = b.x, y1 = b.y + b.size / 2;
        const mid = (x0 + x1) / 2;
        const d = `M${x0},${y0} C${mid},${y0} ${mid},${y1} ${x1},${y1}`;
        const line = group.appendChild(svgEl("path", { d, class: "wire" }));
        const hit = hits.appendChild(svgEl("path", { d, class: "hit" }));
        hit.dataset.testid = `weight-${layer}-${row}-${col}`;
        hit.addEventListener("mousemove", (e) => hoverWire(e, layer, row, col));
        hit.addEventListener("mouseleave", () => { $("tooltip").hidden = true; line.classList.remove("hover"); });
        hit.addEventListener("mouseenter", () => line.classList.add("hover"));
        hit.addEventListener("click", (e) => editWire(e, layer, row, col));
        return line;
      })));
    });
  }

  function unitName(layer, index) {
    if (layer === 0) return FEATURES.find(([n]) => n === S.net.active[index])?.[1] ?? `input ${index}`;
    const hidden = widths(S.setup).length;
    if (layer > hidden) return isRegression() ? "output" : `class ${index}`;
    return `hidden ${layer} unit ${index + 1}`;
  }

  function weightAt(layer, row, col) {
    return S.frame?.weights?.[layer]?.[row]?.[col];
  }

  function hoverWire(event, layer, row, col) {
    const tip = $("tooltip");
    tip.textContent = `weight ${unitName(layer, row)} \u2192 ${unitName(layer + 1, col)}: `
      + `${fmt(weightAt(layer, row, col), 4)} (click to edit)`;
    tip.style.left = `${event.clientX + 14}px`;
    tip.style.top = `${event.clientY + 12}px`;
    tip.hidden = false;
  }

  function editWire(event, layer, row, col) {
    const editor = $("weight-editor");
    editor.dataset.target = JSON.stringify([layer, row, col]);
    const w = weightAt(layer, row, col);
    $("weight-input").value = Number.isFinite(w) ? Number(w.toPrecision(4)) : 0;
    editor.style.left = `${event.clientX + 10}px`;
    editor.style.top = `${event.clientY + 10}px`;
    editor.hidden = false;
    $("tooltip").hidden = true;
    $("weight-input").focus();
    $("weight-input").select();
  }

  function commitWeight() {
    const editor = $("weight-editor");
    const [layer, row, col] = JSON.parse(editor.dataset.target);
    const value = Number($("weight-input").value);
    if (!Number.isFinite(value)) {
      showMessage("A weight must be a finite number.", "error");
      return;
    }
    act({ type: "set_weight", layer, row, col, value });
    editor.hidden = true;
  }

  /** Matches the frame's weight shapes with the drawn network (a stale frame is skipped). */
  function shapesMatch(frame) {
    const w = frame.weights;
    if (!S.net || !w || w.length !== S.net.wires.length) return false;
    return w.every((m, l) => m.length === S.net.wires[l].length
      && m.every((row) => row.length === S.net.wires[l][0].length));
  }

  function drawNetwork(frame) {
    if (!shapesMatch(frame)) return;
    frame.weights.forEach((m, l) => m.forEach((row, i) => row.forEach((w, j) => {
      const line = S.net.wires[l][i][j];
      const a = Number.isFinite(w) ? Math.abs(w) : 0;
      line.style.stroke = css(diverging(w));
      line.style.strokeWidth = (0.6 + Math.min(a, 3) * 1.6).toFixed(2);
    })));
    (frame.units ?? []).forEach((layer, l) => layer.forEach((unit, u) => {
      const canvas = S.net.units[l]?.[u];
      if (canvas) paintGrid(canvas, unit.n, unit.values, unitColour(unit.values));
    }));
    if (S.hoverUnit) drawZoom();
  }

  /** The hovered unit's heat map, enlarged, with what it shows. */
  function drawZoom() {
    const h = S.hoverUnit;
    const unit = S.frame?.units?.[h.layer]?.[h.unit];
    const zoom = $("unit-zoom");
    const box = h.node.getBoundingClientRect();
    zoom.style.left = `${box.right + 8 + window.scrollX}px`;
    zoom.style.top = `${box.top - 40 + window.scrollY}px`;
    zoom.hidden = false;
    if (!unit) {
      $("unit-zoom-text").textContent = "no frame yet";
      return;
    }
    const canvas = $("unit-zoom-canvas");
    const small = document.createElement("canvas");
    paintGrid(small, unit.n, unit.values, unitColour(unit.values));
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
    const big = Math.max(...unit.values.map((v) => Math.abs(v)));
    const bias = S.frame.biases?.[h.layer]?.[h.unit];
    $("unit-zoom-text").textContent = `hidden ${h.layer + 1}, unit ${h.unit + 1}: its activation `
      + `at each point of the plane (largest |value| ${fmt(big)}, bias ${fmt(bias)}).`
      + (big === 0 ? " Zero everywhere: this unit is dead." : "");
  }

  // ---- the output ------------------------------------------------------------------------

  function classColourAt(K) {
    return (c, p) => {
      const base = CLASS_COLOURS[c % CLASS_COLOURS.length];
      if (S.discretize) return mix(WHITE, base, 0.55);
      const t = Math.max(0, Math.min(1, (p - 1 / K) / (1 - 1 / K)));
      return mix(WHITE, base, 0.15 + 0.7 * t);
    };
  }

  /** The decision heat map, then the points on top. */
  function drawOutput() {
    const canvas = $("heatmap");
    const ctx = canvas.getContext("2d");
    const out = S.frame?.output;
    ctx.fillStyle = css(WHITE);
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (out && out.values) {
      const small = document.createElement("canvas");
      if (out.classes) {
        const colour = classColourAt(outputCount());
        paintGrid(small, out.n, out.values, (i, v) => colour(out.classes[i], v));
      } else {
        const flat = S.discretize && !isRegression();
        paintGrid(small, out.n, out.values, (i, v) => diverging(flat ? Math.sign(v) * 0.55 : v));
      }
      ctx.imageSmoothingEnabled = !S.discretize;
      ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
    }
    drawPoints(ctx, canvas, out?.extent ?? EXTENT);
  }

  function pointColour(label) {
    if (isRegression()) return css(diverging(label));
    return css(CLASS_COLOURS[Number(label) % CLASS_COLOURS.length]);
  }

  function drawPoints(ctx, canvas, [lo, hi]) {
    const sets = [["train", "#fff"]];
    if ($("show-test").checked) sets.push(["test", "#222"]);
    for (const [split, edge] of sets) {
      for (const [x1, x2, label] of S.points[split] ?? []) {
        const x = ((x1 - lo) / (hi - lo)) * canvas.width;
        const y = ((hi - x2) / (hi - lo)) * canvas.height;
        ctx.beginPath();
        ctx.arc(x, y, 3.2, 0, 2 * Math.PI);
        ctx.fillStyle = pointColour(label);
        ctx.fill();
        ctx.lineWidth = 1;
        ctx.strokeStyle = edge;
        ctx.stroke();
      }
    }
  }

  /** The colour key below the heat map. */
  function drawScale() {
    const box = $("scale");
    box.innerHTML = "";
    if (isRegression() || outputCount() === 2) {
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.style.background = `linear-gradient(to right, ${css(ORANGE)}, ${css(WHITE)}, ${css(BLUE)})`;
      const labels = isRegression() ? ["\u22121", "0", "1"] : ["class 0", "", "class 1"];
      const ticks = document.createElement("div");
      ticks.className = "ticks";
      for (const t of labels) ticks.append(Object.assign(document.createElement("span"), { textContent: t }));
      box.append(bar, ticks);
      return;
    }
    for (let k = 0; k < outputCount(); k++) {
      const chip = document.createElement("span");
      chip.className = "chip";
      chip.innerHTML = `<i style="background:${css(CLASS_COLOURS[k])}"></i>class ${k}`;
      box.append(chip);
    }
  }

  // ---- numbers, curve, confusion, layers --------------------------------------------------

  function drawNumbers(frame) {
    $("epoch").textContent = String(frame.epoch).padStart(3, "0");
    $("test-loss").textContent = fmt(frame.test_loss);
    $("train-loss").textContent = fmt(frame.train_loss);
    $("test-acc").textContent = pct(frame.test_acc);
    $("train-acc").textContent = pct(frame.train_acc);
  }

  function curveScale(history) {
    let top = 0;
    for (const [, a, b] of history) {
      if (Number.isFinite(a)) top = Math.max(top, a);
      if (Number.isFinite(b)) top = Math.max(top, b);
    }
    let low = Infinity;
    for (const [, a, b] of history) {
      if (a > 0) low = Math.min(low, a);
      if (b > 0) low = Math.min(low, b);
    }
    const first = history.length ? history[0][0] : 0;
    const last = history.length ? history[history.length - 1][0] : 1;
    const log = $("log-loss").checked && low < top;
    return { first, last: Math.max(last, first + 1), top: top || 1, low, log };
  }

  /** A loss's height on the curve, 0..1: linear from 0, or log between the lowest and top. */
  function curveHeight(v, s) {
    if (!s.log) return Math.min(v, s.top) / s.top;
    const t = Math.log(Math.max(v, s.low)) - Math.log(s.low);
    return Math.min(1, t / (Math.log(s.top) - Math.log(s.low)));
  }

  function drawCurve(history) {
    const svg = $("loss-curve");
    svg.innerHTML = "";
    $("curve-top").textContent = "";
    $("curve-epochs").textContent = "";
    if (!history || !history.length) return;
    const s = curveScale(history);
    $("curve-top").textContent = s.log ? `loss ${fmt(s.low)} to ${fmt(s.top)}, log scale`
      : `loss 0 to ${fmt(s.top)}`;
    $("curve-epochs").textContent = `epochs ${s.first}\u2013${history[history.length - 1][0]}; `
      + "grey: training, black: test";
    const x = (e) => ((e - s.first) / (s.last - s.first)) * 300;
    const y = (v) => 78 - curveHeight(v, s) * 74;
    for (const [col, cls] of [[1, "train"], [2, "test"]]) {
      const pts = history.filter((h) => Number.isFinite(h[col])).map((h) => `${x(h[0]).toFixed(1)},${y(h[col]).toFixed(1)}`);
      svg.append(svgEl("polyline", { points: pts.join(" "), class: `curve ${cls}` }));
    }
    svg.append(svgEl("line", { id: "curve-marker", x1: -10, x2: -10, y1: 0, y2: 80, class: "marker" }));
  }

  /** Read the curve under the mouse: the nearest recorded epoch and both losses. */
  function readCurve(event) {
    const history = S.frame?.history;
    if (!history || !history.length) return;
    const box = $("loss-curve").getBoundingClientRect();
    const s = curveScale(history);
    const epoch = s.first + ((event.clientX - box.left) / box.width) * (s.last - s.first);
    let best = history[0];
    for (const h of history) if (Math.abs(h[0] - epoch) < Math.abs(best[0] - epoch)) best = h;
    $("curve-readout").textContent = `epoch ${best[0]}: training loss ${fmt(best[1], 4)}, `
      + `test loss ${fmt(best[2], 4)}`;
    const marker = $("curve-marker");
    const mx = ((best[0] - s.first) / (s.last - s.first)) * 300;
    marker.setAttribute("x1", mx);
    marker.setAttribute("x2", mx);
  }

  function drawConfusion(matrix) {
    const table = $("confusion");
    $("confusion-wrap").hidden = !matrix;
    if (!matrix) return;
    const rows = [`<tr><th></th>${matrix.map((_, k) => `<th>pred ${k}</th>`).join("")}</tr>`];
    matrix.forEach((row, t) => {
      const total = row.reduce((a, b) => a + b, 0) || 1;
      const cells = row.map((count, p) => {
        const base = t === p ? BLUE : ORANGE;
        const shade = css(mix([255, 255, 255], base, 0.6 * (count / total)));
        return `<td data-testid="confusion-${t}-${p}" style="background:${shade}">${count}</td>`;
      });
      rows.push(`<tr><th>true ${t}</th>${cells.join("")}</tr>`);
    });
    table.innerHTML = rows.join("");
  }

  function histogram(hist) {
    const svg = svgEl("svg", { width: 90, height: 24, viewBox: "0 0 140 30", preserveAspectRatio: "none", class: "hist" });
    const counts = hist?.counts ?? [];
    const top = Math.max(1, ...counts);
    const w = 140 / Math.max(1, counts.length);
    counts.forEach((c, i) => {
      const h = (c / top) * 28;
      svg.append(svgEl("rect", { x: i * w + 0.5, y: 29 - h, width: Math.max(1, w - 1), height: h }));
    });
    const edges = hist?.edges ?? [];
    if (edges.length) {
      const title = svgEl("title");
      title.textContent = `from ${fmt(edges[0])} to ${fmt(edges[edges.length - 1])}; `
        + `counts ${counts.join(", ")}`;
      svg.append(title);
    }
    return svg;
  }

  function drawLayers(layers) {
    const body = $("layers").tBodies[0];
    body.innerHTML = "";
    const relu = S.setup?.activation === "relu";
    if (!layers || !layers.length) {
      body.innerHTML = '<tr><td colspan="8">no hidden layer: the inputs feed the output directly</td></tr>';
      return;
    }
    layers.forEach((layer, i) => {
      const tr = document.createElement("tr");
      const cells = [
        [layer.name, "name"], [layer.units, "units"], [fmt(layer.grad_norm, 4), "grad"],
        [fmt(layer.weight_norm, 3), "wnorm"],
        [`${layer.dead}`, "dead"], [`${layer.saturated}`, "saturated"],
        [`${fmt(layer.act_mean)} \u00b1 ${fmt(layer.act_std)}`, "act"],
      ];
      for (const [text, key] of cells) {
        const td = document.createElement("td");
        td.textContent = text;
        td.dataset.testid = `layer-${key}-${i}`;
        if (key === "dead" && layer.dead > 0 && relu) td.className = "warn";
        if (key === "saturated" && layer.saturated > 0) td.className = "warn";
        tr.append(td);
      }
      const td = document.createElement("td");
      td.append(histogram(layer.hist));
      tr.append(td);
      body.append(tr);
    });
  }

  // ---- a frame ---------------------------------------------------------------------------

  function drawPending() {
    if (!S.pending) return;
    S.frame = S.pending;
    S.pending = null;
    S.running = Boolean(S.frame.running);
    showPlaying();
    drawFrame();
  }

  function drawFrame() {
    const frame = S.frame;
    if (!frame) return;
    drawNumbers(frame);
    drawCurve(frame.history);
    drawOutput();
    drawNetwork(frame);
    drawConfusion(frame.confusion);
    drawLayers(frame.layers);
    document.body.dataset.epoch = frame.epoch;
  }

  // ---- start -----------------------------------------------------------------------------

  async function start() {
    try {
      const reply = await fetch("/api/defaults");
      const body = await reply.json();
      S.defaults = body.setup;
      S.limits = body.limits ?? {};
      S.presets = body.presets ?? {};
    } catch (err) {
      showMessage(`Could not reach the playground's server (${err}): is \`layerlab playground\` running?`);
      return;
    }
    buildControls();
    wireButtons();
    fillPresets();
    S.setup = await initialSetup();
    S.discretize = Number(S.setup.discretize) === 1;
    $("discretize").checked = S.discretize;
    showSetup(S.setup);
    buildNetwork();
    drawOutput();
    drawScale();
    window.addEventListener("beforeunload", () => { S.closing = true; });
    connect();
  }

  start();
})();
