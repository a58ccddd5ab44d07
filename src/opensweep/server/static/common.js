// opensweep dashboard: helpers shared by every page.
// Every user string reaches the page through textContent (el() below), never innerHTML.
"use strict";

const OS = (() => {
  class AuthError extends Error {}

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "style") node.style.cssText = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === undefined || child === null) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function message(text, kind) {
    const box = document.getElementById("message");
    if (!box) return;
    if (!text) { box.hidden = true; return; }
    box.className = "message" + (kind ? " " + kind : "");
    box.textContent = text;
    box.hidden = false;
  }

  let loginShown = false;
  function showLogin(reason) {
    if (loginShown) return;
    loginShown = true;
    const input = el("input", { type: "password", autocomplete: "current-password", placeholder: "token", "aria-label": "token" });
    const note = el("div", { class: "muted" });
    const form = el("form", { class: "card login" },
      el("h2", { text: "This server needs a token" }),
      el("div", { class: "muted", text: reason || "Paste the server's API token (or a read-only token). It is kept in a cookie for this site." }),
      input, note, el("button", { type: "submit", text: "Open dashboard" }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!/^[A-Za-z0-9._~+\/=-]+$/.test(token)) {
        note.textContent = "This token has characters a cookie cannot carry; create one with `opensweep server --new-token`.";
        return;
      }
      document.cookie = "opensweep_token=" + token + "; path=/; SameSite=Strict";
      location.reload();
    });
    const main = document.querySelector("main");
    clear(main).append(form);
    input.focus();
  }

  async function api(path, options) {
    let response;
    try {
      response = await fetch(path, Object.assign({ credentials: "same-origin", cache: "no-store" }, options || {}));
    } catch (err) {
      throw new Error("server unreachable");
    }
    if (response.status === 401) { showLogin(); throw new AuthError("unauthorized"); }
    let body = null;
    try { body = await response.json(); } catch (err) { body = null; }
    if (!response.ok) {
      const text = body && body.message ? body.message : response.status + " " + response.statusText;
      const error = new Error(text);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function fmtNum(value) {
    if (value === null || value === undefined || value === "") return "";
    if (typeof value !== "number") return String(value);
    if (!isFinite(value)) return String(value);
    if (Number.isInteger(value) && Math.abs(value) < 1e6) return String(value);
    const abs = Math.abs(value);
    if (abs !== 0 && (abs >= 1e6 || abs < 1e-3)) return value.toExponential(3);
    return String(Number(value.toPrecision(5)));
  }

  function fmtTime(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const d = new Date(seconds * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return "";
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    if (h) return `${h}h ${m}m`;
    if (m) return `${m}m ${r}s`;
    return `${r}s`;
  }

  function stateBadge(state) {
    return el("span", { class: "state state-" + String(state).replace(/[^a-z]/g, ""), text: state });
  }

  function facts(dl, pairs) {
    clear(dl);
    for (const [name, value] of pairs) {
      if (value === null || value === undefined || value === "") continue;
      dl.append(el("div", {}, el("dt", { text: name }), el("dd", {}, value instanceof Node ? value : String(value))));
    }
  }

  // Poll fn every `interval` ms while the page is visible; fn returns false to stop.
  function poll(fn, interval) {
    let timer = null;
    let stopped = false;
    const live = document.getElementById("live");
    const tick = async () => {
      timer = null;
      if (stopped) return;
      if (document.hidden) { timer = setTimeout(tick, interval); return; }
      let again = true;
      try {
        again = (await fn()) !== false;
        if (live) { live.textContent = again ? "live" : ""; live.classList.toggle("on", again); }
      } catch (err) {
        if (err instanceof AuthError) return;
        if (live) { live.textContent = "offline: " + err.message; live.classList.remove("on"); }
      }
      if (again && !stopped) timer = setTimeout(tick, interval);
    };
    timer = setTimeout(tick, interval);
    return { stop() { stopped = true; if (timer) clearTimeout(timer); } };
  }

  // Plotly.js (several MB) loads once, after the page's own content is on screen.
  let plotlyPromise = null;
  function plotly() {
    if (!plotlyPromise) {
      plotlyPromise = new Promise((resolve, reject) => {
        if (window.Plotly) { resolve(window.Plotly); return; }
        const script = el("script", { src: "/vendor/plotly.min.js", async: true });
        script.onload = () => resolve(window.Plotly);
        script.onerror = () => reject(new Error("could not load plotly.min.js"));
        document.head.append(script);
      });
    }
    return plotlyPromise;
  }

  function lastPathPart() {
    const parts = location.pathname.split("/").filter(Boolean);
    return decodeURIComponent(parts[parts.length - 1] || "");
  }

  return { AuthError, el, clear, message, api, fmtNum, fmtTime, fmtDuration, stateBadge, facts, poll, plotly, lastPathPart, showLogin };
})();
