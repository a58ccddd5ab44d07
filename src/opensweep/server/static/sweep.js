// The sweep page: header and actions, leaderboard, parallel coordinates, importance,
// metric by run, metric over steps. Data arrives as columns and is merged by revision.
"use strict";

(() => {
  const { el, clear, api, fmtNum, fmtTime, fmtDuration, stateBadge } = OS;
  const sweepId = OS.lastPathPart();
  const base = "/dashboard/api/sweeps/" + encodeURIComponent(sweepId);
  const MAX_SELECTED = 20;

  let meta = null;
  let columns = [];        // parameter columns from the sweep config
  let categories = {};     // parameter name -> category labels
  let summaryKeys = [];    // summary columns (the metric excluded: it has its own)
  let rows = [];           // one object per run, creation order
  let byId = new Map();
  let rev = null;
  let layoutToken = null;
  let view = [];           // rows after filter + sort
  let sort = { key: "metric", dir: 0 };  // dir 0: the metric's own goal
  let brush = null;        // Set of run ids inside the parallel-coordinates brush
  const selected = new Set();
  let userSelected = false;
  const curves = new Map(); // run id -> {steps, values, state, stop_reason, name}
  let rowHeight = 29;

  // Plotly parses user strings as pseudo-HTML: hand it entities so they stay text.
  const plotText = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const goal = () => (meta && meta.metric ? meta.metric.goal : "minimize");
  const metricName = () => (meta && meta.metric ? meta.metric.name : "metric");

  // ------------------------------------------------------------------ data

  function rowFrom(cols, i, keyIndex) {
    const row = {
      id: cols.id[i], name: cols.name[i], state: cols.state[i], index: cols.index[i],
      created: cols.created[i], finished: cols.finished[i], stop_reason: cols.stop_reason[i],
      metric: cols.metric[i], p: columns.map((c) => cols.params[c.name][i]), s: keyIndex.map((k) => cols.summary[k][i]),
    };
    return row;
  }

  function applyPayload(payload) {
    categories = payload.categories;
    const metricKey = meta && meta.metric ? meta.metric.name : null;
    const keys = payload.summary_keys.filter((k) => k !== metricKey);
    const cols = payload.runs;
    const n = cols.id.length;
    if (payload.full) {
      summaryKeys = keys;
      rows = new Array(n);
      byId = new Map();
      for (let i = 0; i < n; i++) { rows[i] = rowFrom(cols, i, keys); byId.set(rows[i].id, rows[i]); }
    } else {
      for (let i = 0; i < n; i++) {
        const row = rowFrom(cols, i, keys);
        const old = byId.get(row.id);
        if (old) rows[rows.indexOf(old)] = row; else rows.push(row);
        byId.set(row.id, row);
      }
    }
    rev = payload.rev;
    layoutToken = payload.token;
    return n;
  }

  async function loadRuns() {
    const query = rev === null ? "" : `?since=${rev}&token=${encodeURIComponent(layoutToken)}`;
    const payload = await api(base + "/runs" + query);
    const changed = applyPayload(payload);
    if (meta && payload.sweep_state !== meta.state) await loadMeta();
    return { changed, full: payload.full };
  }

  async function loadMeta() {
    meta = await api(base);
    columns = meta.columns;
    renderHead();
  }

  // ------------------------------------------------------------------ header

  function renderHead() {
    document.title = meta.name + " · opensweep";
    document.getElementById("title").textContent = meta.name;
    document.getElementById("crumb").textContent = meta.name;
    const state = document.getElementById("state");
    state.className = "state state-" + meta.state;
    state.textContent = meta.state;
    for (const button of document.querySelectorAll("#actions button")) {
      button.disabled = !meta.actions.includes(button.dataset.action);
    }
    const metric = meta.metric ? `${meta.metric.goal} ${meta.metric.name}` : "none";
    OS.facts(document.getElementById("facts"), [
      ["id", meta.id], ["project", meta.project], ["method", meta.method], ["metric", metric],
      ["runs", String(rows.length)], ["est. runs", meta.est_runs === null ? null : String(meta.est_runs)],
      ["created", fmtTime(meta.created)], ["seed", String(meta.seed)],
    ]);
    document.getElementById("config").textContent = meta.config_yaml;
    document.getElementById("agent-command").textContent = meta.agent_command;
    document.getElementById("scatter-title").textContent = `${meta.metric ? meta.metric.name : "metric"} by run`;
    document.getElementById("curves-title").textContent = `${meta.metric ? meta.metric.name : "metric"} over steps`;
  }

  async function act(action) {
    if ((action === "cancel" || action === "stop") && !confirm(`${action} sweep ${meta.name}?`)) return;
    try {
      await api(`/api/v1/sweeps/${encodeURIComponent(sweepId)}/state`, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ action }),
      });
      OS.message("");
    } catch (err) {
      if (err instanceof OS.AuthError) return;
      OS.message(err.status === 403 ? "This token is read-only: it cannot change the sweep." : err.message, "error");
    }
    // A click handler's error would go uncaught: show it (the next poll retries anyway).
    try {
      await loadMeta();
    } catch (err) {
      if (!(err instanceof OS.AuthError)) OS.message(err.message, "error");
    }
  }

  // ------------------------------------------------------------------ leaderboard

  function tableColumns() {
    const cols = [
      { key: "sel", label: "", width: 30 },
      { key: "index", label: "#", num: true, width: 56 },
      { key: "name", label: "Name", width: 180 },
      { key: "state", label: "State", width: 96 },
      { key: "metric", label: metricName(), num: true, width: 120 },
    ];
    columns.forEach((c, i) => cols.push({ key: "p:" + i, label: c.name, num: c.kind === "numeric", width: 110, param: c }));
    summaryKeys.forEach((k, i) => cols.push({ key: "s:" + i, label: k, num: true, width: 110 }));
    cols.push({ key: "created", label: "Created", width: 140 });
    return cols;
  }

  function sortValue(row, key) {
    if (key === "metric") return row.metric;
    if (key === "index" || key === "name" || key === "state" || key === "created") return row[key];
    const i = Number(key.slice(2));
    if (key[0] === "s") return row.s[i];
    const col = columns[i];
    const v = row.p[i];
    if (col.kind !== "numeric") return v < 0 ? null : (categories[col.name] || [])[v];
    return v;
  }

  function compare(a, b) {
    if (a === b) return 0;
    if (a === null || a === undefined) return 1;
    if (b === null || b === undefined) return -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    if (typeof a === "number") return -1;
    if (typeof b === "number") return 1;
    return String(a).localeCompare(String(b));
  }

  function sortDir() {
    if (sort.dir !== 0) return sort.dir;
    return sort.key === "metric" && goal() === "maximize" ? -1 : 1;
  }

  function computeView() {
    const q = document.getElementById("search").value.trim().toLowerCase();
    const state = document.getElementById("state-filter").value;
    const dir = sortDir();
    const key = sort.key;
    view = rows.filter((r) => (!state || r.state === state)
      && (!q || r.name.toLowerCase().includes(q) || r.id.toLowerCase().includes(q))
      && (!brush || brush.has(r.id)));
    const keyed = view.map((r) => [sortValue(r, key), r]);
    keyed.sort((x, y) => {
      const nx = x[0] === null || x[0] === undefined, ny = y[0] === null || y[0] === undefined;
      if (nx || ny) return nx === ny ? x[1].index - y[1].index : nx ? 1 : -1; // missing last, either way
      return dir * compare(x[0], y[0]) || x[1].index - y[1].index;
    });
    view = keyed.map((k) => k[1]);
  }

  function bestId() {
    let best = null;
    for (const r of rows) {
      if (r.metric === null) continue;
      if (!best || (goal() === "maximize" ? r.metric > best.metric : r.metric < best.metric)) best = r;
    }
    return best ? best.id : null;
  }

  function renderHeader() {
    const thead = document.querySelector("#runs thead");
    const table = document.getElementById("runs");
    const cols = tableColumns();
    clear(thead);
    const colgroup = table.querySelector("colgroup") || table.insertBefore(el("colgroup"), table.firstChild);
    clear(colgroup);
    let width = 0;
    const tr = el("tr");
    for (const c of cols) {
      colgroup.append(el("col", { style: `width:${c.width}px` }));
      width += c.width;
      const th = el("th", { "data-key": c.key, class: c.num ? "num" : "", title: c.label }, c.label);
      if (c.key === sort.key) th.classList.add(sortDir() > 0 ? "sorted-asc" : "sorted-desc");
      if (c.key !== "sel") th.addEventListener("click", () => setSort(c.key));
      tr.append(th);
    }
    table.style.width = width + "px";
    table.style.tableLayout = "fixed";
    thead.append(tr);
  }

  function setSort(key) {
    if (sort.key === key) sort.dir = -sortDir();
    else sort = { key, dir: key === "metric" ? 0 : 1 };
    refreshTable();
  }

  function cellFor(row, c) {
    if (c.key === "sel") {
      const box = el("input", { type: "checkbox", "aria-label": "show curve", checked: selected.has(row.id) });
      box.addEventListener("change", () => toggleSelected(row.id, box.checked));
      return el("td", {}, box);
    }
    if (c.key === "index") return el("td", { class: "num", text: String(row.index + 1) });
    if (c.key === "name") return el("td", { title: row.name }, el("a", { href: "/runs/" + encodeURIComponent(row.id), class: "run-link" }, row.name));
    if (c.key === "state") {
      const td = el("td", { title: row.stop_reason || "" }, stateBadge(row.state));
      return td;
    }
    if (c.key === "metric") return el("td", { class: "num metric", text: fmtNum(row.metric) });
    if (c.key === "created") return el("td", { text: fmtTime(row.created) });
    const i = Number(c.key.slice(2));
    if (c.key[0] === "s") { const v = row.s[i]; return el("td", { class: "num", title: v === null ? "" : String(v), text: fmtNum(v) }); }
    const v = row.p[i];
    if (c.param.kind === "numeric") return el("td", { class: "num", text: fmtNum(v) });
    const text = v < 0 ? "" : (categories[c.param.name] || [])[v];
    return el("td", { title: text, text });
  }

  let renderPending = false;
  function renderRows() {
    renderPending = false;
    const wrap = document.getElementById("table-wrap");
    const tbody = document.querySelector("#runs tbody");
    const cols = tableColumns();
    const headH = document.querySelector("#runs thead").offsetHeight || rowHeight;
    const visible = Math.ceil(wrap.clientHeight / rowHeight) + 12;
    const first = Math.max(0, Math.floor((wrap.scrollTop - headH) / rowHeight) - 4);
    const last = Math.min(view.length, first + visible);
    const best = bestId();
    const fragment = document.createDocumentFragment();
    const span = cols.length;
    if (first > 0) fragment.append(el("tr", { class: "spacer", style: `height:${first * rowHeight}px` }, el("td", { colspan: span })));
    for (let i = first; i < last; i++) {
      const row = view[i];
      const tr = el("tr", { class: "data" + (row.id === best ? " best" : ""), "data-id": row.id });
      for (const c of cols) tr.append(cellFor(row, c));
      fragment.append(tr);
    }
    if (last < view.length) fragment.append(el("tr", { class: "spacer", style: `height:${(view.length - last) * rowHeight}px` }, el("td", { colspan: span })));
    if (!view.length) fragment.append(el("tr", {}, el("td", { colspan: span, class: "muted", text: rows.length ? "No run matches." : "No runs yet: start an agent with the command above." })));
    clear(tbody).append(fragment);
    const sample = tbody.querySelector("tr.data");
    if (sample && Math.abs(sample.offsetHeight - rowHeight) > 0.5) { rowHeight = sample.offsetHeight; scheduleRows(); }
    const note = brush ? ` (brushed: ${brush.size})` : "";
    document.getElementById("row-count").textContent = `${view.length} of ${rows.length} runs${note}`;
  }

  function scheduleRows() {
    if (renderPending) return;
    renderPending = true;
    requestAnimationFrame(renderRows);
  }

  function refreshStateFilter() {
    const select = document.getElementById("state-filter");
    const counts = {};
    for (const r of rows) counts[r.state] = (counts[r.state] || 0) + 1;
    const current = select.value;
    const options = [el("option", { value: "", text: `all states (${rows.length})` })];
    for (const state of Object.keys(counts).sort()) options.push(el("option", { value: state, text: `${state} (${counts[state]})` }));
    clear(select).append(...options);
    select.value = counts[current] ? current : "";
  }

  function refreshTable() {
    computeView();
    renderHeader();
    renderRows();
  }

  // ------------------------------------------------------------------ parallel coordinates

  let pcRows = [];
  let pcKey = "";
  let pcDrawnAt = 0;
  let parcoords = null;

  function decadeTicks(lo, hi) {
    const ticks = [];
    for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) ticks.push([d, "1e" + d]);
    if (ticks.length < 2) return [[lo, fmtNum(10 ** lo)], [hi, fmtNum(10 ** hi)]];
    return ticks;
  }

  // One axis per varying parameter (log10 for log ones, category indices for categoricals,
  // missing values on an "n/a" tick below the axis) plus the metric.
  function parcoordsDims() {
    pcRows = rows.filter((r) => r.metric !== null);
    const dims = [];
    columns.forEach((c, i) => {
      if (c.kind === "constant") return;
      if (c.kind === "numeric") {
        const vals = pcRows.map((r) => { const v = r.p[i]; return v === null ? NaN : c.log ? (v > 0 ? Math.log10(v) : NaN) : v; });
        let lo = Infinity, hi = -Infinity, missing = false;
        for (const v of vals) { if (isNaN(v)) missing = true; else { if (v < lo) lo = v; if (v > hi) hi = v; } }
        if (lo === Infinity) return;
        if (lo === hi) { lo -= 1; hi += 1; }
        const ticks = c.log ? decadeTicks(lo, hi) : Charts.niceTicks(lo, hi, 5).map((v) => [v, fmtNum(v)]);
        if (missing) {
          const na = lo - 0.08 * (hi - lo);
          for (let j = 0; j < vals.length; j++) if (isNaN(vals[j])) vals[j] = na;
          ticks.push([na, "n/a"]);
          lo = na;
        }
        dims.push({ label: c.name + (c.log ? " (log)" : ""), values: vals, lo, hi, ticks });
      } else {
        const labels = categories[c.name] || [];
        const k = labels.length;
        const vals = pcRows.map((r) => (r.p[i] < 0 ? k : r.p[i]));
        const ticks = labels.map((text, j) => [j, text]);
        const missing = vals.some((v) => v === k);
        if (missing) ticks.push([k, "n/a"]);
        dims.push({ label: c.name, values: vals, lo: -0.3, hi: Math.max(1, missing ? k : k - 1) + 0.3, ticks });
      }
    });
    const metric = pcRows.map((r) => r.metric);
    let lo = Infinity, hi = -Infinity;
    for (const v of metric) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (lo === hi) { lo -= 1; hi += 1; }
    dims.push({ label: metricName(), values: metric, lo, hi, ticks: Charts.niceTicks(lo, hi, 5).map((v) => [v, fmtNum(v)]) });
    return dims;
  }

  function onBrush(keep) {
    const ids = keep ? new Set(pcRows.filter((_, j) => keep[j]).map((r) => r.id)) : null;
    setBrush(ids);
  }

  function setBrush(ids) {
    brush = ids;
    document.getElementById("clear-brush").hidden = !brush;
    document.getElementById("brush-note").textContent = brush ? `${brush.size} runs in the brush` : "";
    computeView();
    document.getElementById("table-wrap").scrollTop = 0;
    renderRows();
  }

  function drawParcoords(force) {
    const box = document.getElementById("parcoords");
    const withMetric = rows.filter((r) => r.metric !== null).length;
    const key = `${withMetric}:${rows.length}:${rev}`;
    const interval = rows.length > 2000 ? 5000 : 1000;
    if (!force && (key === pcKey || Date.now() - pcDrawnAt < interval)) return;
    pcKey = key;
    pcDrawnAt = Date.now();
    if (!withMetric) {
      parcoords = null;
      clear(box).append(el("div", { class: "placeholder", text: "No run has reported the metric yet." }));
      box.dataset.lines = "0";
      return;
    }
    if (!parcoords) parcoords = new Charts.ParCoords(box, onBrush);
    const keep = parcoords.set(parcoordsDims(), pcRows.map((r) => r.metric), goal() === "minimize", metricName());
    if (brush) onBrush(keep);
  }

  // ------------------------------------------------------------------ metric by run

  let scatter = null;

  function drawScatter() {
    const box = document.getElementById("scatter");
    const pts = rows.filter((r) => r.metric !== null).sort((a, b) => a.index - b.index)
      .map((r) => ({ x: r.index + 1, y: r.metric, name: r.name, id: r.id }));
    if (!pts.length) { scatter = null; clear(box).append(el("div", { class: "placeholder", text: "No run has reported the metric yet." })); return; }
    const better = goal() === "maximize" ? (a, b) => a > b : (a, b) => a < b;
    const best = [];
    for (const p of pts) if (!best.length || better(p.y, best[best.length - 1].y)) best.push({ x: p.x, y: p.y });
    if (!scatter) scatter = new Charts.Scatter(box, (p) => { location.href = "/runs/" + encodeURIComponent(p.id); });
    scatter.set(pts, best, { y: metricName() });
  }

  // ------------------------------------------------------------------ importance

  function bar(kind, value) {
    if (kind === "imp") {
      const track = el("div", { class: "bar-track" });
      track.append(el("div", { class: "imp-bar", style: `width:${Math.max(0, Math.min(1, value)) * 100}%` }));
      return track;
    }
    const track = el("div", { class: "corr-track" });
    if (value !== null) track.append(el("div", { class: "corr-bar " + (value >= 0 ? "pos" : "neg"), style: `width:${Math.min(1, Math.abs(value)) * 50}%` }));
    return track;
  }

  function renderImportance(report) {
    const box = document.getElementById("importance");
    const note = document.getElementById("importance-note");
    const bits = [`${report.n_runs} runs`];
    if (report.model_r2 !== null && report.model_r2 !== undefined) bits.push(`forest held-out R² ${fmtNum(report.model_r2)}`);
    note.textContent = bits.join(" · ");
    note.title = (report.notes || []).join("\n");
    clear(box);
    if (report.note) box.append(el("div", { class: "muted", text: report.note }));
    if (!report.params.length) return;
    const table = el("table", { class: "imp" },
      el("thead", {}, el("tr", {}, el("th", { text: "Parameter" }), el("th", { text: "Importance", title: "held-out permutation importance of a random forest (share of the total)" }), el("th"), el("th", { text: "Correlation", title: "Pearson correlation with the metric (log parameters on log scale)" }), el("th"))));
    const body = el("tbody");
    for (const p of report.params) {
      const corr = p.correlation;
      const tr = el("tr", { class: "param", "data-name": p.name },
        el("td", { class: "name", title: p.name + (p.log ? " (log scale)" : "") }, p.name + (p.log ? " (log)" : "")),
        el("td", {}, p.importance === null ? el("span", { class: "muted", text: "n/a" }) : bar("imp", p.importance)),
        el("td", { class: "val", text: p.importance === null ? "" : fmtNum(Number(p.importance.toFixed(3))) }),
        el("td", { title: p.correlation_note || "" }, corr === null ? el("span", { class: "muted", text: p.type === "categorical" ? "per category ↓" : "n/a" }) : bar("corr", corr)),
        el("td", { class: "val", text: corr === null ? "" : fmtNum(Number(corr.toFixed(3))) }));
      body.append(tr);
      for (const c of p.categories || []) {
        const label = typeof c.value === "string" ? c.value : JSON.stringify(c.value);
        body.append(el("tr", { class: "cat" },
          el("td", { class: "name", title: `${p.name} = ${label} (${c.count} runs, mean ${fmtNum(c.mean_metric)})` }, `= ${label}`),
          el("td", { class: "muted", text: `${c.count} runs` }), el("td"),
          el("td", {}, bar("corr", c.correlation)),
          el("td", { class: "val", text: c.correlation === null ? "" : fmtNum(Number(c.correlation.toFixed(3))) })));
      }
    }
    table.append(body);
    box.append(table);
  }

  async function loadImportance() {
    renderImportance(await api(base + "/importance"));
  }

  // ------------------------------------------------------------------ curves

  function defaultSelection() {
    if (userSelected) return;
    const dir = goal() === "maximize" ? -1 : 1;
    const top = rows.filter((r) => r.metric !== null).sort((a, b) => dir * (a.metric - b.metric)).slice(0, 5);
    selected.clear();
    for (const r of top) selected.add(r.id);
  }

  function toggleSelected(id, on) {
    userSelected = true;
    if (on && selected.size >= MAX_SELECTED) { OS.message(`At most ${MAX_SELECTED} curves at once.`); scheduleRows(); return; }
    if (on) selected.add(id); else selected.delete(id);
    loadCurves().catch((err) => OS.message(err.message, "error"));
  }

  // One curves update at a time: a slow poll must not redraw an older selection over a newer one.
  let curvesQueue = Promise.resolve();
  function loadCurves() {
    const next = curvesQueue.then(updateCurves, updateCurves);
    curvesQueue = next.catch(() => {});
    return next;
  }

  async function updateCurves() {
    const wanted = [...selected].filter((id) => byId.has(id));
    const need = wanted.filter((id) => { const c = curves.get(id); return !c || c.state === "running" || byId.get(id).state !== c.state; });
    if (need.length) {
      const after = need.map((id) => { const c = curves.get(id); return c && c.steps.length ? c.steps[c.steps.length - 1] : -1; });
      const data = await api(`${base}/curves?runs=${need.map(encodeURIComponent).join(",")}&after=${after.join(",")}`);
      for (const r of data.runs) {
        const old = curves.get(r.id);
        if (old) { old.steps.push(...r.steps); old.values.push(...r.values); old.state = r.state; old.stop_reason = r.stop_reason; }
        else curves.set(r.id, r);
      }
    }
    await drawCurves([...selected].filter((id) => byId.has(id)));
  }

  async function drawCurves(ids) {
    const Plotly = await OS.plotly();
    const gd = document.getElementById("curves");
    const shown = ids.map((id) => curves.get(id)).filter((c) => c && c.steps.length);
    if (!shown.length) {
      if (gd.data) Plotly.purge(gd);
      clear(gd).append(el("div", { class: "placeholder", text: ids.length ? "The selected runs have not logged the metric yet." : "Tick runs in the table to see their curves." }));
      return;
    }
    const traces = [];
    for (const c of shown) {
      const cut = c.state === "stopped";
      traces.push({ type: "scatter", mode: "lines", name: plotText(c.name + (cut ? " (stopped)" : c.state === "running" ? " (running)" : "")),
        x: c.steps, y: c.values, line: { width: 2, dash: cut ? "dot" : "solid" }, legendgroup: c.id,
        hovertemplate: plotText(c.name) + "<br>step %{x}: %{y}<extra></extra>" });
      if (cut) {
        traces.push({ type: "scatter", mode: "markers", x: [c.steps[c.steps.length - 1]], y: [c.values[c.values.length - 1]], legendgroup: c.id,
          showlegend: false, marker: { symbol: "x", size: 11, color: "#e03131" }, hovertemplate: plotText(`${c.name} stopped: ${c.stop_reason || ""}`) + "<extra></extra>" });
      }
    }
    if (!gd.data) clear(gd);
    await Plotly.react(gd, traces, { margin: { l: 60, r: 20, t: 10, b: 40 }, height: 340, xaxis: { title: { text: "step" } },
      yaxis: { title: { text: plotText(metricName()) } }, legend: { orientation: "v" } }, { displaylogo: false, responsive: true });
    gd.dataset.curves = String(shown.length);
  }

  // ------------------------------------------------------------------ wiring

  function bind() {
    document.getElementById("search").addEventListener("input", () => { computeView(); document.getElementById("table-wrap").scrollTop = 0; renderRows(); });
    document.getElementById("state-filter").addEventListener("change", () => { computeView(); document.getElementById("table-wrap").scrollTop = 0; renderRows(); });
    document.getElementById("table-wrap").addEventListener("scroll", scheduleRows, { passive: true });
    window.addEventListener("resize", scheduleRows);
    document.getElementById("clear-brush").addEventListener("click", () => { if (parcoords) parcoords.clear(); else setBrush(null); });
    for (const button of document.querySelectorAll("#actions button")) button.addEventListener("click", () => act(button.dataset.action));
    document.getElementById("copy").addEventListener("click", async () => {
      const code = document.getElementById("agent-command");
      try { await navigator.clipboard.writeText(code.textContent); OS.message("Agent command copied."); }
      catch (err) { const range = document.createRange(); range.selectNodeContents(code); const sel = getSelection(); sel.removeAllRanges(); sel.addRange(range); }
    });
  }

  async function tick() {
    const { changed } = await loadRuns();
    if (changed) {
      refreshStateFilter();
      computeView();
      renderRows();
      renderHead();
      defaultSelection();
      drawParcoords(false);
      drawScatter();
    }
    if ([...selected].some((id) => byId.has(id) && byId.get(id).state === "running") || changed) loadCurves().catch(() => {});
  }

  async function start() {
    bind();
    try {
      const [first, payload] = await Promise.all([api(base), api(base + "/runs")]);
      meta = first;
      columns = meta.columns;
      applyPayload(payload);
    } catch (err) {
      if (!(err instanceof OS.AuthError)) OS.message(err.message, "error");
      return;
    }
    renderHead();
    refreshStateFilter();
    refreshTable();
    defaultSelection();
    drawParcoords(true);
    drawScatter();
    document.body.dataset.ready = "table";
    performance.mark("opensweep:table");  // read by benchmarks/dashboard
    loadImportance().catch((err) => { if (!(err instanceof OS.AuthError)) document.getElementById("importance").textContent = err.message; });
    // Plotly (several MB) is only needed for the curves: load it once the page is usable.
    await new Promise((resolve) => setTimeout(resolve, 50));
    try {
      await loadCurves();
    } catch (err) {
      OS.message(err.message, "error");
    }
    document.body.dataset.ready = "plots";
    performance.mark("opensweep:plots");
    OS.poll(tick, 3000);
    OS.poll(loadImportance, 15000);
  }

  start();
})();
