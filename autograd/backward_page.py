"""The step-through page of a backward pass (`BackwardTrace.save_html`).

One self-contained HTML file: Graphviz's SVG of the graph (`ag.draw_graph`), the
steps' data as JSON, a script and a style, all inline. Its Content-Security-Policy
lets it load nothing from anywhere and run no script but its own.

Every name on the page is text: the SVG is parsed and written again (elements,
attributes and escaped text only), the JSON has `<`, `>` and `&` escaped, and the
script builds the side panel with `textContent`.

Per step the data holds the op, its formula, the drawing's id of its node, and a
summary of each gradient: shape, norm, min and max (of the finite elements, with
counts of NaN and inf), the numbers themselves up to `SMALL` elements, and a heat
map for an image-shaped gradient (2-D, or the first image's first channel of a
4-D NCHW one), downsampled to at most `HEATMAP_SIDE` pixels a side by keeping the
largest-magnitude element of each block, and sent as a palette PNG made with zlib.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import struct
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from autograd.draw import drawing
from autograd.function import Node
from autograd.tensor import Tensor

if TYPE_CHECKING:
    from autograd.trace import BackwardTrace, Step

SMALL = 16  # gradients of up to this many elements show every number
HEATMAP_SIDE = 64  # a heat map has at most this many pixels a side
SVG_NS = "http://www.w3.org/2000/svg"
# Above this many drawn nodes, Graphviz's network simplex and crossing minimisation
# can take minutes (a 300-node graph with shared weights: 11 s, 500 nodes: over 10
# minutes); with these limits, 500 nodes take about 2 s, the layout a little less tidy.
LARGE_GRAPH = 150
LARGE_GRAPH_LAYOUT = {
    "nslimit": "1",
    "nslimit1": "1",
    "mclimit": "0.1",
    "remincross": "false",
    "searchsize": "10",
}


def render(trace: BackwardTrace, params: Mapping[str, Tensor] | None = None) -> str:
    """The page of `trace`, as HTML text."""
    dot, ids = drawing(trace.root, params)
    if len(ids) > LARGE_GRAPH:  # Graphviz's layout would take minutes: cut its searches short
        dot.graph_attr.update(LARGE_GRAPH_LAYOUT)
    svg = _clean_svg(dot.pipe(format="svg"))
    names = {id(t): name for name, t in (params or {}).items()}
    steps = [_step(i, step, ids, names) for i, step in enumerate(trace.steps)]
    data = _script_json(steps)
    digest = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
    root_op = trace.steps[0].op if trace.steps else "a leaf"
    return _PAGE.format(
        title=html.escape(f"Backward pass of {root_op}: {len(steps)} steps"),
        heading=html.escape(f"Backward pass: {len(steps)} steps"),
        script_hash=digest,
        style=_STYLE,
        svg=svg,
        data=data,
        script=_SCRIPT,
    )


def _step(i: int, step: Step, ids: dict[Node, str], names: dict[int, str]) -> dict[str, Any]:
    node = step.node
    inputs = []
    for k, (parent, shape, g) in enumerate(zip(node.parents, node.input_shapes, step.input_grads)):
        if shape is None:  # not a tensor (an axis, a shape): no gradient to speak of
            continue
        inputs.append(
            {
                "position": k,
                "to": _name(parent, names),
                "kind": "constant" if parent is None else ("leaf" if parent.is_leaf else "op"),
                "node": ids.get(parent) if parent is not None else None,
                "shape": list(shape),
                "grad": None if g is None else _summary(g),
            }
        )
    return {
        "index": i,
        "op": step.op,
        "formula": step.formula,
        "node": ids.get(node),
        "output_shape": list(step.output_grad.shape),
        "output_grad_norm": _number(_norm(step.output_grad)),
        "input_grad_norms": [None if g is None else _number(_norm(g)) for g in step.input_grads],
        "output_grad": _summary(step.output_grad),
        "inputs": inputs,
        "completes": [
            {"node": ids.get(leaf), "name": _name(leaf, names)} for leaf in step.completes
        ],
    }


def _name(node: Node | None, names: dict[int, str]) -> str:
    """What the page calls where a gradient goes: a parameter's name, "input", an op."""
    if node is None:
        return "constant"
    if not node.is_leaf:
        return node.function.__name__
    tensor = node.tensor()
    return (names.get(id(tensor)) if tensor is not None else None) or "input"


def _norm(a: np.ndarray) -> float:
    return float(np.linalg.norm(a.astype(np.float64).ravel()))


def _number(x: float) -> float | str:
    """JSON has no NaN or inf: those travel as strings, which the page shows as they are."""
    x = float(x)
    if np.isfinite(x):
        return x
    return "nan" if np.isnan(x) else ("inf" if x > 0 else "-inf")


def _summary(a: np.ndarray) -> dict[str, Any]:
    """Shape, norm, min, max, non-finite counts, the numbers when few, a heat map."""
    a64 = np.asarray(a, dtype=np.float64)
    finite = a64[np.isfinite(a64)]
    return {
        "shape": list(a.shape),
        "size": int(a.size),
        "norm": _number(_norm(a64)),
        "min": _number(finite.min()) if finite.size else None,
        "max": _number(finite.max()) if finite.size else None,
        "nan": int(np.isnan(a64).sum()),
        "inf": int(np.isinf(a64).sum()),
        "values": [_number(v) for v in a64.ravel()] if a.size <= SMALL else None,
        "heatmap": _heatmap(a64) if a.size > SMALL else None,  # few numbers: shown instead
    }


def _heatmap(a: np.ndarray) -> dict[str, Any] | None:
    """A heat map of an image-shaped gradient, as a PNG data URL, or None."""
    if a.ndim == 4 and a.shape[0] and a.shape[1]:
        image, what = a[0, 0], "[0, 0] (first image, first channel)"
    elif a.ndim == 2:
        image, what = a, "the whole array"
    else:
        return None
    if image.size <= 1:
        return None
    image, factor = _downsample(image)
    finite = np.isfinite(image)
    scale = float(np.abs(image[finite]).max()) if finite.any() else 0.0
    # palette index 0..254 from -scale (blue) through 0 (white, 127) to +scale (red); 255: NaN/inf
    t = np.where(finite, image, 0) / (scale or 1.0)
    index = np.where(finite, np.rint((t + 1) * 127), 255).astype(np.uint8)
    rows, cols = image.shape
    note = f"{what}, {a.shape[-2]}×{a.shape[-1]}"
    if factor > 1:
        note += f", shown {rows}×{cols} (largest of each {factor}×{factor} block)"
    png = base64.b64encode(_png(index)).decode()
    return {
        "png": f"data:image/png;base64,{png}",
        "rows": rows,
        "cols": cols,
        "note": note,
        "scale": _number(scale),
    }


def _downsample(image: np.ndarray) -> tuple[np.ndarray, int]:
    """`image` with at most HEATMAP_SIDE pixels a side: each block of factor×factor
    elements becomes its element of largest magnitude (which keeps its sign)."""
    factor = -(-max(image.shape) // HEATMAP_SIDE)  # ceiling division
    if factor == 1:
        return image, 1
    rows, cols = -(-image.shape[0] // factor), -(-image.shape[1] // factor)
    padded = np.zeros((rows * factor, cols * factor))
    padded[: image.shape[0], : image.shape[1]] = image
    blocks = padded.reshape(rows, factor, cols, factor).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(rows, cols, factor * factor)
    magnitude = np.where(np.isnan(blocks), np.inf, np.abs(blocks))  # a NaN shows
    pick = magnitude.argmax(axis=-1)[..., None]
    return np.take_along_axis(blocks, pick, axis=-1)[..., 0], factor


def _palette() -> bytes:
    """255 colours from blue through white to red, then grey for NaN and inf."""
    t = np.linspace(-1, 1, 255)[:, None]
    white, blue, red = np.array([255, 255, 255]), np.array([33, 102, 172]), np.array([178, 24, 43])
    colours = np.where(t < 0, white + (blue - white) * -t, white + (red - white) * t)
    colours = np.vstack([colours, [[128, 128, 128]]])
    return np.rint(colours).astype(np.uint8).tobytes()


def _png(index: np.ndarray) -> bytes:
    """An 8-bit palette PNG of the palette indices `index` (rows × cols)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rows, cols = index.shape
    scanlines = np.hstack([np.zeros((rows, 1), np.uint8), index]).tobytes()  # filter 0 per row
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", cols, rows, 8, 3, 0, 0, 0))
        + chunk(b"PLTE", _palette())
        + chunk(b"IDAT", zlib.compress(scanlines, 9))
        + chunk(b"IEND", b"")
    )


def _clean_svg(svg: bytes) -> str:
    """Graphviz's SVG as elements, attributes and escaped text only: no prolog, no
    comments, nothing a name could have slipped in."""
    root = ET.fromstring(svg)  # drops the comments and the DOCTYPE
    root.set("id", "graph-svg")
    root.set("xmlns", SVG_NS)
    out: list[str] = []
    _write_element(root, out)
    return "".join(out)


def _write_element(element: ET.Element, out: list[str]) -> None:
    """`element` as markup: names without their namespace, every text and value escaped."""
    tag = _local_name(element.tag)
    attributes = "".join(
        f' {_local_name(k)}="{html.escape(v, quote=True)}"' for k, v in element.attrib.items()
    )
    out.append(f"<{tag}{attributes}>{html.escape(element.text or '', quote=False)}")
    for child in element:  # Graphviz nests a few levels: no deep recursion
        _write_element(child, out)
    out.append(f"</{tag}>{html.escape(element.tail or '', quote=False)}")


def _local_name(name: str) -> str:
    """An element's or attribute's name without its namespace ("xlink:href" kept)."""
    namespace, _, local = name.rpartition("}")
    local = "xlink:" + local if namespace == "{http://www.w3.org/1999/xlink" else local
    if not re.fullmatch(r"[A-Za-z][\w:.-]*", local):
        raise ValueError(f"unexpected name in Graphviz's SVG: {local!r}")
    return local


def _script_json(value: Any) -> str:
    """JSON to sit inside <script>: ASCII, with < > & escaped so no text ends the element."""
    text = json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_STYLE = """
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; overflow: hidden; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  color: #222; display: flex; flex-direction: column; }
header { display: flex; align-items: center; gap: 12px; padding: 8px 14px;
  border-bottom: 1px solid #ddd; background: #fafafa; flex-wrap: wrap; }
header h1 { font-size: 16px; margin: 0 12px 0 0; font-weight: 600; }
header button { font: inherit; padding: 4px 12px; border: 1px solid #bbb; border-radius: 4px;
  background: white; cursor: pointer; min-width: 70px; }
header button:disabled { color: #aaa; cursor: default; }
#position { font-variant-numeric: tabular-nums; min-width: 110px; }
.legend { display: flex; gap: 10px; font-size: 12px; color: #555; margin-left: auto; }
.legend span::before { content: ""; display: inline-block; width: 12px; height: 12px;
  margin-right: 4px; vertical-align: -2px; border-radius: 2px; }
.legend .l-current::before { background: #ffcc80; border: 2px solid #e65100; }
.legend .l-done::before { background: #c8e6c9; border: 1px solid #555; }
.legend .l-complete::before { background: #81c784; border: 2px solid #1b5e20; }
.legend .l-flow::before { background: #e65100; height: 3px; vertical-align: 3px; }
main { flex: 1; display: flex; min-height: 0; }
#graph { flex: 1; overflow: auto; padding: 8px; }
#graph.fit svg { max-width: 100%; max-height: 100%; width: auto; height: auto; }
#panel { width: 440px; overflow: auto; border-left: 1px solid #ddd; padding: 10px 14px;
  background: #fcfcfc; }
#panel h2 { font-size: 17px; margin: 4px 0 6px; }
#panel h3 { font-size: 14px; margin: 14px 0 4px; color: #444; }
#panel h4 { font-size: 13px; margin: 10px 0 2px; font-weight: 600; }
.formula { font-family: ui-monospace, Menlo, Consolas, monospace; background: #fff3e0;
  border: 1px solid #ffe0b2; border-radius: 4px; padding: 6px 8px; white-space: pre-wrap; }
.grad { border-left: 3px solid #e0e0e0; padding-left: 8px; margin: 4px 0; }
.stats { display: grid; grid-template-columns: auto 1fr; gap: 0 10px; margin: 0; }
.stats dt { color: #666; }
.stats dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace; }
.values { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px;
  word-break: break-word; margin-top: 4px; }
figure { margin: 6px 0; }
figure img { image-rendering: pixelated; border: 1px solid #ccc; display: block; }
figcaption { font-size: 12px; color: #666; }
.none { color: #888; font-style: italic; }
#leaves ul { margin: 4px 0; padding-left: 18px; }
#leaves li.new { font-weight: 600; color: #1b5e20; }
g.node.done polygon, g.node.done path, g.node.done ellipse { fill: #c8e6c9; }
g.node.complete ellipse { fill: #81c784; stroke: #1b5e20; stroke-width: 3px; }
g.node.receives polygon, g.node.receives path, g.node.receives ellipse {
  stroke: #e65100; stroke-width: 2px; stroke-dasharray: 4 2; }
g.node.current polygon, g.node.current path, g.node.current ellipse {
  fill: #ffcc80; stroke: #e65100; stroke-width: 3px; stroke-dasharray: none; }
g.edge.flow path { stroke: #e65100; stroke-width: 3px; }
g.edge.flow polygon { fill: #e65100; stroke: #e65100; }
"""

_SCRIPT = """
(function () {
  "use strict";
  const steps = JSON.parse(document.getElementById("backprop-steps").textContent);
  const svg = document.getElementById("graph-svg");
  const byId = new Map();  // DOT id -> g.node
  for (const g of svg.querySelectorAll("g.node")) {
    const title = g.querySelector("title");
    if (title) byId.set(title.textContent, g);
  }
  const edges = new Map();  // "from->to" (DOT ids) -> [g.edge]
  for (const g of svg.querySelectorAll("g.edge")) {
    const title = g.querySelector("title");
    if (!title) continue;
    if (!edges.has(title.textContent)) edges.set(title.textContent, []);
    edges.get(title.textContent).push(g);
  }
  const panel = document.getElementById("panel");
  const prev = document.getElementById("prev");
  const next = document.getElementById("next");
  const play = document.getElementById("play");
  const speed = document.getElementById("speed");
  const position = document.getElementById("position");
  const graph = document.getElementById("graph");
  const fit = document.getElementById("fit");
  let current = -1;
  let timer = null;

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function num(x) {
    if (x === null || x === undefined) return "none";
    if (typeof x === "string") return x;  // nan, inf, -inf
    return String(Number(x.toPrecision(5)));
  }
  function shape(s) {
    return "(" + s.join(", ") + (s.length === 1 ? ",)" : ")");
  }
  function grad(summary) {
    const box = el("div", "grad");
    const stats = el("dl", "stats");
    const rows = [["shape", shape(summary.shape)], ["norm", num(summary.norm)],
      ["min", num(summary.min)], ["max", num(summary.max)]];
    if (summary.nan) rows.push(["nan", summary.nan]);
    if (summary.inf) rows.push(["inf", summary.inf]);
    for (const [name, value] of rows) {
      stats.append(el("dt", null, name), el("dd", name, value));
    }
    box.append(stats);
    if (summary.values) {
      box.append(el("div", "values", "[" + summary.values.map(num).join(", ") + "]"));
    }
    const heat = summary.heatmap;
    if (heat && typeof heat.png === "string" && heat.png.startsWith("data:image/png;base64,")) {
      const figure = el("figure");
      const img = el("img", "heatmap");
      img.src = heat.png;
      const zoom = Math.min(200 / heat.cols, 160 / heat.rows);  // fit 200 × 160 px
      img.style.width = Math.round(heat.cols * zoom) + "px";
      img.style.height = Math.round(heat.rows * zoom) + "px";
      img.alt = "heat map: " + heat.note;
      figure.append(img, el("figcaption", null,
        heat.note + "; blue < 0 < red, ±" + num(heat.scale) +
        (summary.nan || summary.inf ? "; grey: NaN or inf" : "")));
      box.append(figure);
    }
    return box;
  }
  function leavesSoFar(upTo) {
    const list = [];
    for (let k = 0; k <= upTo; k++) {
      for (const leaf of steps[k].completes) list.push([leaf, k === upTo]);
    }
    return list;
  }
  function showPanel(i) {
    panel.replaceChildren();
    if (i < 0) {
      panel.append(el("h2", "op", "Before the first step"),
        el("p", null, steps.length + " steps. Press Next, the \\u2192 key or Play to run " +
          "the backward pass one node at a time, from the loss down to the leaves."));
    } else {
      const step = steps[i];
      panel.append(el("h2", "op", step.op),
        el("div", "formula", step.formula || "(no formula given)"));
      const arriving = el("section");
      arriving.id = "arriving";
      arriving.append(el("h3", null, "Gradient arriving at the output (dL/d output)"),
        grad(step.output_grad));
      const sent = el("section");
      sent.id = "sent";
      sent.append(el("h3", null, "Gradients sent to the inputs"));
      if (!step.inputs.length) sent.append(el("p", "none", "no tensor inputs"));
      for (const input of step.inputs) {
        const item = el("div", "input");
        item.append(el("h4", null, "input " + input.position + " \\u2192 " + input.to));
        item.append(input.grad ? grad(input.grad)
          : el("p", "none", input.kind === "constant" ? "a constant: no gradient" : "no gradient"));
        sent.append(item);
      }
      panel.append(arriving, sent);
    }
    const leaves = el("section");
    leaves.id = "leaves";
    const done = leavesSoFar(i);
    leaves.append(el("h3", null, "Leaf gradients complete (" + done.length + ")"));
    if (!done.length) leaves.append(el("p", "none", "none yet"));
    const list = el("ul");
    for (const [leaf, isNew] of done) list.append(el("li", isNew ? "new" : null, leaf.name));
    leaves.append(list);
    panel.append(leaves);
  }
  function show(i) {
    i = Math.max(-1, Math.min(steps.length - 1, i));
    current = i;
    for (const g of svg.querySelectorAll("g.current, g.done, g.complete, g.receives, g.flow")) {
      g.classList.remove("current", "done", "complete", "receives", "flow");
    }
    for (let k = 0; k < i; k++) {
      const g = byId.get(steps[k].node);
      if (g) g.classList.add("done");
    }
    for (let k = 0; k <= i; k++) {
      for (const leaf of steps[k].completes) {
        const g = byId.get(leaf.node);
        if (g) g.classList.add("complete");
      }
    }
    if (i >= 0) {
      const step = steps[i];
      const g = byId.get(step.node);
      for (const input of step.inputs) {
        if (!input.grad || !input.node) continue;
        for (const e of edges.get(input.node + "->" + step.node) || []) e.classList.add("flow");
        const target = byId.get(input.node);
        if (target) target.classList.add("receives");
      }
      if (g) {
        g.classList.add("current");
        const box = g.getBoundingClientRect();
        const view = graph.getBoundingClientRect();
        if (box.top < view.top || box.bottom > view.bottom ||
            box.left < view.left || box.right > view.right) {
          g.scrollIntoView({block: "center", inline: "center"});
        }
      }
    }
    document.body.dataset.step = String(i);
    position.textContent = i < 0 ? "start" : "step " + (i + 1) + " of " + steps.length;
    prev.disabled = i < 0;
    next.disabled = i >= steps.length - 1;
    showPanel(i);
  }
  function stop() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    play.textContent = "Play";
  }
  function tick() {
    show(current + 1);
    if (current >= steps.length - 1) stop();
  }
  function toggle() {
    if (timer !== null) { stop(); return; }
    if (!steps.length) return;
    if (current >= steps.length - 1) show(-1);
    play.textContent = "Pause";
    timer = setInterval(tick, Number(speed.value));
  }
  prev.addEventListener("click", function () { stop(); show(current - 1); });
  next.addEventListener("click", function () { stop(); show(current + 1); });
  play.addEventListener("click", toggle);
  fit.addEventListener("click", function () {
    fit.textContent = graph.classList.toggle("fit") ? "Actual size" : "Fit";
  });
  speed.addEventListener("change", function () {
    if (timer !== null) { clearInterval(timer); timer = setInterval(tick, Number(speed.value)); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.target instanceof HTMLSelectElement) return;
    if (event.key === "ArrowRight") { stop(); show(current + 1); event.preventDefault(); }
    if (event.key === "ArrowLeft") { stop(); show(current - 1); event.preventDefault(); }
  });
  show(-1);
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; \
style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body data-step="-1">
<header>
<h1>{heading}</h1>
<button id="prev" type="button" title="previous step (\u2190)">\u2190 Prev</button>
<button id="play" type="button">Play</button>
<button id="next" type="button" title="next step (\u2192)">Next \u2192</button>
<label title="time per step when playing"><select id="speed">
<option value="1500">slow</option>
<option value="700" selected>normal</option>
<option value="250">fast</option>
<option value="20">fastest</option>
</select></label>
<span id="position">start</span>
<button id="fit" type="button" title="the whole graph in view, or actual size">Fit</button>
<span class="legend"><span class="l-current">current step</span><span class="l-flow">gradient \
sent</span><span class="l-done">done</span><span class="l-complete">leaf gradient complete</span>\
</span>
</header>
<main>
<div id="graph">{svg}</div>
<aside id="panel" aria-live="polite"></aside>
</main>
<script type="application/json" id="backprop-steps">{data}</script>
<script>{script}</script>
</body>
</html>
"""
