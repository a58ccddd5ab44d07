// The sweeps list: one row per sweep, refreshed every few seconds.
"use strict";

(() => {
  const { el, clear, api, fmtNum, fmtTime, fmtDuration, stateBadge } = OS;
  const tbody = document.querySelector("#sweeps tbody");
  const search = document.getElementById("search");
  let sweeps = [];

  function runsCell(row) {
    const parts = Object.entries(row.runs_by_state).map(([state, n]) => `${n} ${state}`);
    return el("td", { title: parts.join(", ") }, parts.length ? parts.join(" · ") : "0");
  }

  function bestCell(row) {
    if (!row.best) return el("td", { class: "num" });
    const link = el("a", { href: "/runs/" + encodeURIComponent(row.best.run_id), title: row.best.run_name }, fmtNum(row.best.value));
    return el("td", { class: "num", title: row.metric ? `${row.metric.goal} ${row.metric.name}` : "" }, link);
  }

  function render() {
    const q = search.value.trim().toLowerCase();
    const shown = sweeps.filter((s) => !q || [s.name, s.project || "", s.id].some((t) => t.toLowerCase().includes(q)));
    clear(tbody);
    if (!shown.length) {
      const text = sweeps.length ? "No sweep matches." : "No sweeps yet. Create one with `opensweep sweep config.yaml`.";
      tbody.append(el("tr", {}, el("td", { colspan: 9, class: "muted", text })));
      return;
    }
    for (const s of shown) {
      tbody.append(el("tr", { "data-id": s.id },
        el("td", {}, el("a", { href: "/sweeps/" + encodeURIComponent(s.id), class: "sweep-link" }, s.name)),
        el("td", { text: s.project || "" }),
        el("td", { text: s.method || "" }),
        el("td", {}, stateBadge(s.state)),
        runsCell(s),
        bestCell(s),
        el("td", { text: fmtTime(s.created) }),
        el("td", { class: "num", text: fmtDuration(s.duration) }),
        el("td", { class: "num", text: s.est_runs === null ? "" : String(s.est_runs) })));
    }
  }

  async function load() {
    const data = await api("/dashboard/api/sweeps");
    sweeps = data.sweeps;
    render();
  }

  search.addEventListener("input", render);
  load().then(() => OS.poll(load, 5000)).catch((err) => {
    if (!(err instanceof OS.AuthError)) OS.message(err.message, "error");
  });
})();
