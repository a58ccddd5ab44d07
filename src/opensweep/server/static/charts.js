// Canvas charts for the big views: parallel coordinates and metric by run.
// Plotly's WebGL parcoords took 4-12 s to draw 500-10,000 lines in headless Chromium without a
// GPU (software GL), freezing the page; a 2D canvas draws 10,000 runs in tens of milliseconds.
// Text goes through fillText or textContent, so user strings never become markup.
"use strict";

const Charts = (() => {
  const VIRIDIS = [[68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
    [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37]];
  const BINS = 32;

  function viridis(t) {
    const x = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
    const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
    const f = x - i;
    const c = VIRIDIS[i].map((v, k) => Math.round(v + f * (VIRIDIS[i + 1][k] - v)));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }

  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / Math.max(1, count);
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return out;
  }

  function fmt(v) {
    if (!isFinite(v)) return String(v);
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1);
    return String(Number(v.toPrecision(4)));
  }

  function fit(text, ctx, width) {
    if (ctx.measureText(text).width <= width) return text;
    let s = text;
    while (s.length > 1 && ctx.measureText(s + "…").width > width) s = s.slice(0, -1);
    return s + "…";
  }

  // Text with a white halo, readable over thousands of coloured lines.
  function haloText(ctx, text, x, y) {
    ctx.save();
    ctx.strokeStyle = "rgba(255,255,255,0.9)";
    ctx.lineWidth = 3;
    ctx.lineJoin = "round";
    ctx.strokeText(text, x, y);
    ctx.restore();
    ctx.fillText(text, x, y);
  }

  function setupCanvas(container, height) {
    let canvas = container.querySelector("canvas");
    if (!canvas) {
      while (container.firstChild) container.removeChild(container.firstChild);
      canvas = document.createElement("canvas");
      canvas.style.display = "block";
      container.style.position = "relative";
      container.append(canvas);
    }
    const width = Math.max(300, container.clientWidth);
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.width = width + "px";
    canvas.style.height = height + "px";
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return { canvas, ctx, width, height };
  }

  function tooltip(container) {
    let tip = container.querySelector(".chart-tip");
    if (!tip) {
      tip = document.createElement("div");
      tip.className = "chart-tip";
      tip.hidden = true;
      container.append(tip);
    }
    return tip;
  }

  // ------------------------------------------------------------------ parallel coordinates
  // dims: [{label, values (numbers, NaN = missing), lo, hi, ticks: [[value, text]]}]
  // color: metric per line; reverse: true when low is good (best drawn bright).
  class ParCoords {
    constructor(container, onBrush) {
      this.container = container;
      this.onBrush = onBrush;
      this.ranges = new Map(); // axis index -> [lo, hi] in data units
      this.drag = null;
      this.dims = [];
      this.color = [];
      this.selected = null;
      this.height = 440;
      new ResizeObserver(() => { if (this.dims.length) this.draw(); }).observe(container);
    }

    set(dims, color, reverse, label) {
      // Keep brushes on axes that still exist (same label at the same index).
      const kept = new Map();
      for (const [i, r] of this.ranges) if (dims[i] && this.dims[i] && dims[i].label === this.dims[i].label) kept.set(i, r);
      this.ranges = kept;
      this.dims = dims;
      this.color = color;
      this.reverse = reverse;
      this.colorLabel = label;
      const keep = this.passing();
      this.draw();
      return keep;
    }

    layout(width) {
      const top = 48, bottom = this.height - 28, left = 64, right = width - 112;
      const n = this.dims.length;
      const xs = this.dims.map((_, i) => (n === 1 ? (left + right) / 2 : left + (i * (right - left)) / (n - 1)));
      return { top, bottom, left, right, xs };
    }

    y(dim, v, lay) {
      const span = dim.hi - dim.lo || 1;
      return lay.bottom - ((v - dim.lo) / span) * (lay.bottom - lay.top);
    }

    passing() {
      if (!this.ranges.size) { this.selected = null; return null; }
      const n = this.color.length;
      const keep = new Uint8Array(n).fill(1);
      for (const [d, [lo, hi]] of this.ranges) {
        const vals = this.dims[d].values;
        for (let j = 0; j < n; j++) if (keep[j] && !(vals[j] >= lo && vals[j] <= hi)) keep[j] = 0;
      }
      this.selected = keep;
      return keep;
    }

    draw() {
      const { canvas, ctx, width } = setupCanvas(this.container, this.height);
      this.canvas = canvas;
      const lay = this.layout(width);
      this.lay = lay;
      const dims = this.dims, n = this.color.length;
      ctx.clearRect(0, 0, width, this.height);
      // Colour bins, so each bin is one stroke() call whatever the number of lines.
      let cmin = Infinity, cmax = -Infinity;
      for (const c of this.color) { if (c < cmin) cmin = c; if (c > cmax) cmax = c; }
      const cspan = cmax - cmin || 1;
      const ys = dims.map((d) => { const a = new Float32Array(n); for (let j = 0; j < n; j++) a[j] = this.y(d, d.values[j], lay); return a; });
      const alpha = n > 5000 ? 0.25 : n > 1000 ? 0.4 : n > 200 ? 0.6 : 0.85;
      const path = (j) => {
        ctx.moveTo(lay.xs[0], ys[0][j]);
        for (let d = 1; d < dims.length; d++) ctx.lineTo(lay.xs[d], ys[d][j]);
      };
      ctx.lineWidth = 1;
      if (this.selected) {
        ctx.strokeStyle = "rgba(190,195,205,0.35)";
        ctx.beginPath();
        for (let j = 0; j < n; j++) if (!this.selected[j]) path(j);
        ctx.stroke();
      }
      const bins = Array.from({ length: BINS }, () => []);
      for (let j = 0; j < n; j++) {
        if (this.selected && !this.selected[j]) continue;
        let t = (this.color[j] - cmin) / cspan;
        if (this.reverse) t = 1 - t;
        bins[Math.min(BINS - 1, Math.floor(t * BINS))].push(j);
      }
      ctx.globalAlpha = alpha;
      bins.forEach((members, b) => {
        if (!members.length) return;
        ctx.strokeStyle = viridis((b + 0.5) / BINS);
        ctx.beginPath();
        for (const j of members) path(j);
        ctx.stroke();
      });
      ctx.globalAlpha = 1;
      this.drawAxes(ctx, lay);
      this.drawColorbar(ctx, lay, cmin, cmax, width);
      const shown = this.selected ? this.selected.reduce((a, b) => a + b, 0) : n;
      this.container.dataset.lines = String(n);
      this.container.dataset.highlighted = String(shown);
      this.container.dataset.axes = JSON.stringify(dims.map((d, i) => ({ label: d.label, x: lay.xs[i] })));
      this.container.dataset.top = String(lay.top);
      this.container.dataset.bottom = String(lay.bottom);
      if (!this.bound) this.bind();
    }

    drawAxes(ctx, lay) {
      const spacing = this.dims.length > 1 ? lay.xs[1] - lay.xs[0] : 200;
      ctx.font = "11px system-ui, sans-serif";
      this.dims.forEach((d, i) => {
        const x = lay.xs[i];
        ctx.strokeStyle = "#495057";
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(x, lay.top);
        ctx.lineTo(x, lay.bottom);
        ctx.stroke();
        const range = this.ranges.get(i);
        if (range) {
          const y1 = this.y(d, range[1], lay), y0 = this.y(d, range[0], lay);
          ctx.fillStyle = "rgba(59,91,219,0.18)";
          ctx.strokeStyle = "#3b5bdb";
          ctx.fillRect(x - 7, y1, 14, y0 - y1);
          ctx.strokeRect(x - 7, y1, 14, y0 - y1);
        }
        ctx.fillStyle = "#343a40";
        ctx.textAlign = "right";
        ctx.textBaseline = "middle";
        for (const [v, text] of d.ticks) {
          const y = this.y(d, v, lay);
          ctx.beginPath();
          ctx.moveTo(x - 3, y);
          ctx.lineTo(x, y);
          ctx.stroke();
          haloText(ctx, fit(text, ctx, Math.min(58, spacing - 12)), x - 5, y);
        }
        ctx.font = "600 12px system-ui, sans-serif";
        ctx.textAlign = "center";
        ctx.textBaseline = "bottom";
        ctx.fillStyle = "#1d2430";
        ctx.fillText(fit(d.label, ctx, Math.max(40, spacing - 8)), x, lay.top - 18);
        ctx.font = "11px system-ui, sans-serif";
      });
    }

    drawColorbar(ctx, lay, cmin, cmax, width) {
      const x = width - 70, h = lay.bottom - lay.top;
      for (let k = 0; k < h; k++) {
        let t = 1 - k / h;
        if (this.reverse) t = 1 - t;
        ctx.fillStyle = viridis(t);
        ctx.fillRect(x, lay.top + k, 12, 1.5);
      }
      ctx.fillStyle = "#343a40";
      ctx.font = "11px system-ui, sans-serif";
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      ctx.fillText(fmt(cmax), x + 15, lay.top);
      ctx.fillText(fmt(cmin), x + 15, lay.bottom);
    }

    axisAt(px, py) {
      if (!this.lay || py < this.lay.top - 8 || py > this.lay.bottom + 8) return -1;
      let best = -1, dist = 16;
      this.lay.xs.forEach((x, i) => { if (Math.abs(x - px) < dist) { dist = Math.abs(x - px); best = i; } });
      return best;
    }

    valueAt(d, py) {
      const lay = this.lay, dim = this.dims[d];
      const y = Math.max(lay.top, Math.min(lay.bottom, py));
      return dim.lo + ((lay.bottom - y) / (lay.bottom - lay.top)) * (dim.hi - dim.lo || 1);
    }

    bind() {
      this.bound = true;
      const pos = (e) => { const r = this.canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
      this.container.addEventListener("mousedown", (e) => {
        const [x, y] = pos(e);
        const d = this.axisAt(x, y);
        if (d < 0) return;
        e.preventDefault();
        this.drag = { d, y0: y, y1: y };
      });
      window.addEventListener("mousemove", (e) => {
        if (!this.drag) { const [x, y] = pos(e); this.canvas.style.cursor = this.axisAt(x, y) >= 0 ? "ns-resize" : "default"; return; }
        this.drag.y1 = pos(e)[1];
        const { d, y0, y1 } = this.drag;
        if (Math.abs(y1 - y0) >= 3) {
          const a = this.valueAt(d, y0), b = this.valueAt(d, y1);
          this.ranges.set(d, [Math.min(a, b), Math.max(a, b)]);
          this.passing();
          this.schedule();
        }
      });
      window.addEventListener("mouseup", () => {
        if (!this.drag) return;
        const { d, y0, y1 } = this.drag;
        this.drag = null;
        if (Math.abs(y1 - y0) < 3) this.ranges.delete(d); // a click on an axis clears its brush
        this.onBrush(this.passing());
        this.draw();
      });
    }

    schedule() {
      if (this.pending) return;
      this.pending = true;
      requestAnimationFrame(() => { this.pending = false; this.draw(); });
    }

    clear() {
      this.ranges.clear();
      this.selected = null;
      this.draw();
      this.onBrush(null);
    }
  }

  // ------------------------------------------------------------------ metric by run
  class Scatter {
    constructor(container, onClick) {
      this.container = container;
      this.onClick = onClick;
      this.height = 320;
      new ResizeObserver(() => { if (this.points) this.draw(); }).observe(container);
    }

    set(points, best, labels) { this.points = points; this.best = best; this.labels = labels; this.draw(); }

    draw() {
      const { canvas, ctx, width, height } = setupCanvas(this.container, this.height);
      this.canvas = canvas;
      const pts = this.points;
      const left = 64, right = width - 16, top = 28, bottom = height - 40;
      let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity;
      for (const p of pts) { xmin = Math.min(xmin, p.x); xmax = Math.max(xmax, p.x); ymin = Math.min(ymin, p.y); ymax = Math.max(ymax, p.y); }
      if (xmin === xmax) { xmin -= 1; xmax += 1; }
      if (ymin === ymax) { ymin -= 1; ymax += 1; }
      const pad = (ymax - ymin) * 0.05;
      ymin -= pad; ymax += pad;
      const sx = (x) => left + ((x - xmin) / (xmax - xmin)) * (right - left);
      const sy = (y) => bottom - ((y - ymin) / (ymax - ymin)) * (bottom - top);
      this.scale = { sx, sy };
      ctx.clearRect(0, 0, width, height);
      ctx.font = "11px system-ui, sans-serif";
      ctx.strokeStyle = "#e9ecef";
      ctx.fillStyle = "#495057";
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      for (const v of niceTicks(ymin, ymax, 5)) {
        const y = sy(v);
        ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(right, y); ctx.stroke();
        ctx.fillText(fmt(v), left - 6, y);
      }
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      for (const v of niceTicks(xmin, xmax, 6)) {
        if (v !== Math.round(v)) continue;
        ctx.fillText(String(v), sx(v), bottom + 6);
      }
      ctx.fillText("run", (left + right) / 2, bottom + 22);
      ctx.save();
      ctx.translate(14, (top + bottom) / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.textBaseline = "middle";
      ctx.fillText(fit(this.labels.y, ctx, bottom - top), 0, 0);
      ctx.restore();
      ctx.fillStyle = "rgba(134,142,150,0.65)";
      const r = pts.length > 3000 ? 1.6 : 2.6;
      for (const p of pts) { ctx.fillRect(sx(p.x) - r, sy(p.y) - r, 2 * r, 2 * r); }
      if (this.best.length) {
        ctx.strokeStyle = "#3b5bdb";
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(sx(this.best[0].x), sy(this.best[0].y));
        for (let i = 1; i < this.best.length; i++) {
          ctx.lineTo(sx(this.best[i].x), sy(this.best[i - 1].y));
          ctx.lineTo(sx(this.best[i].x), sy(this.best[i].y));
        }
        ctx.lineTo(sx(xmax), sy(this.best[this.best.length - 1].y));
        ctx.stroke();
        ctx.lineWidth = 1;
      }
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      ctx.fillStyle = "rgba(134,142,150,0.9)";
      ctx.fillRect(left + 4, 10, 6, 6);
      ctx.fillStyle = "#495057";
      ctx.fillText("run", left + 14, 13);
      ctx.fillStyle = "#3b5bdb";
      ctx.fillRect(left + 44, 12, 14, 2);
      ctx.fillStyle = "#495057";
      ctx.fillText("best so far", left + 62, 13);
      this.container.dataset.points = String(pts.length);
      if (!this.bound) this.bind();
    }

    nearest(px, py) {
      let best = null, dist = 64;
      for (const p of this.points) {
        const dx = this.scale.sx(p.x) - px, dy = this.scale.sy(p.y) - py;
        const d = dx * dx + dy * dy;
        if (d < dist) { dist = d; best = p; }
      }
      return best;
    }

    bind() {
      this.bound = true;
      const tip = tooltip(this.container);
      const pos = (e) => { const r = this.canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
      this.container.addEventListener("mousemove", (e) => {
        const [x, y] = pos(e);
        const p = this.nearest(x, y);
        this.canvas.style.cursor = p ? "pointer" : "default";
        if (!p) { tip.hidden = true; return; }
        tip.textContent = `${p.name} (run ${p.x}): ${fmt(p.y)}`;
        tip.style.left = Math.min(x + 12, this.canvas.clientWidth - 220) + "px";
        tip.style.top = y + 12 + "px";
        tip.hidden = false;
      });
      this.container.addEventListener("mouseleave", () => { tip.hidden = true; });
      this.container.addEventListener("click", (e) => {
        const [x, y] = pos(e);
        const p = this.nearest(x, y);
        if (p && this.onClick) this.onClick(p);
      });
    }
  }

  return { ParCoords, Scatter, niceTicks, fmt };
})();
