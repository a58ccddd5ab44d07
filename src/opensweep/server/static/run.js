// The run page: state, config, summary, every metric over steps, and the tail of its log.
"use strict";

(() => {
  const { el, clear, api, fmtNum, fmtTime, fmtDuration } = OS;
  const runId = OS.lastPathPart();
  const base = "/dashboard/api/runs/" + encodeURIComponent(runId);
  const plotText = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const series = new Map(); // key -> {steps, values}
  let lastStep = -1;
  let run = null;
  const drawn = new Map(); // key -> chart div

  function kvTable(id, pairs) {
    const tbody = clear(document.querySelector(`#${id} tbody`));
    if (!pairs.length) { tbody.append(el("tr", {}, el("td", { class: "muted", colspan: 2, text: "empty" }))); return; }
    for (const [key, value] of pairs) {
      tbody.append(el("tr", {}, el("td", { text: key }), el("td", { text: typeof value === "number" ? fmtNum(value) : String(value) })));
    }
  }

  function renderRun() {
    document.title = run.name + " · opensweep";
    document.getElementById("title").textContent = run.name;
    document.getElementById("crumb").textContent = run.name;
    const link = document.getElementById("sweep-link");
    if (run.sweep) { link.textContent = run.sweep.name; link.href = "/sweeps/" + encodeURIComponent(run.sweep.id); }
    else link.textContent = "no sweep";
    const state = document.getElementById("state");
    state.className = "state state-" + run.state;
    state.textContent = run.state;
    const end = run.finished || (run.state === "running" ? Date.now() / 1000 : run.updated);
    OS.facts(document.getElementById("facts"), [
      ["id", run.id], ["stop reason", run.stop_reason], ["exit code", run.exit_code === null ? null : String(run.exit_code)],
      ["created", fmtTime(run.created)], ["duration", fmtDuration(end - run.created)], ["agent", run.agent_id], ["notes", run.notes],
    ]);
    const error = document.getElementById("error");
    error.hidden = !run.error;
    error.textContent = run.error || "";
    kvTable("config", run.config);
    kvTable("summary", run.summary);
  }

  async function drawCharts() {
    const box = document.getElementById("charts");
    if (!series.size) { clear(box).append(el("div", { class: "placeholder", text: "No metrics logged yet." })); return; }
    const Plotly = await OS.plotly();
    const placeholder = box.querySelector(".placeholder");
    if (placeholder) placeholder.remove();
    const metric = run.sweep && run.sweep.metric ? run.sweep.metric.name : null;
    const keys = [...series.keys()].sort((a, b) => (a === metric ? -1 : b === metric ? 1 : a.localeCompare(b)));
    for (const key of keys) {
      if (key.startsWith("_")) continue;
      let div = drawn.get(key);
      if (!div) { div = el("div", { class: "chart", "data-key": key }); drawn.set(key, div); box.append(div); }
      const s = series.get(key);
      const cut = run.state === "stopped";
      const traces = [{ type: s.steps.length > 5000 ? "scattergl" : "scatter", mode: s.steps.length > 1 ? "lines" : "markers", x: s.steps, y: s.values, line: { width: 2, dash: cut ? "dot" : "solid" }, name: plotText(key) }];
      if (cut && s.steps.length) traces.push({ type: "scatter", mode: "markers", x: [s.steps[s.steps.length - 1]], y: [s.values[s.values.length - 1]], marker: { symbol: "x", size: 11, color: "#e03131" }, hovertemplate: "stopped<extra></extra>" });
      await Plotly.react(div, traces, { title: { text: plotText(key), font: { size: 13 } }, margin: { l: 50, r: 10, t: 30, b: 30 }, height: 260, showlegend: false, xaxis: { title: { text: "step" } } }, { displaylogo: false, responsive: true });
    }
  }

  async function loadHistory() {
    const data = await api(`${base}/history?after_step=${lastStep}`);
    for (const [key, s] of Object.entries(data.series)) {
      const old = series.get(key);
      if (old) { old.steps.push(...s.steps); old.values.push(...s.values); } else series.set(key, s);
    }
    const grew = data.last_step > lastStep;
    lastStep = data.last_step;
    return grew;
  }

  async function loadLog() {
    const data = await api(`${base}/log`);
    const pre = document.getElementById("log");
    const path = document.getElementById("log-path");
    if (!data.available) {
      pre.textContent = "No log file for this run" + (data.path ? ` (looked for ${data.path}; the agent writes it for command-mode runs, set OPENSWEEP_LOG_DIR if agents use another directory).` : ".");
      path.textContent = "";
      return;
    }
    path.textContent = data.path + (data.truncated ? ` (last ${fmtNum(data.text.length)} characters of ${fmtNum(data.size)} bytes)` : "");
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
    pre.textContent = data.text;
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  }

  async function refresh() {
    const before = run.state;
    run = await api(base);
    renderRun();
    const grew = await loadHistory();
    if (grew || run.state !== before) await drawCharts();
    await loadLog();
    return run.state === "running";
  }

  async function start() {
    OS.plotly().catch(() => {});
    try {
      run = await api(base);
    } catch (err) {
      if (!(err instanceof OS.AuthError)) OS.message(err.message, "error");
      return;
    }
    renderRun();
    await Promise.all([loadHistory().then(drawCharts), loadLog()]).catch((err) => OS.message(err.message, "error"));
    document.body.dataset.ready = "plots";
    if (run.state === "running") OS.poll(refresh, 3000);
  }

  start();
})();
