// streamwatch console: alerts, verdicts and streams live from /api/events.
// Plain DOM code; every text from a record goes in through textContent.
"use strict";

const alerts = new Map();   // alert id -> latest view (record, lines, review)
const reviews = new Map();  // alert id -> verdicts, by revision
const streams = new Map();  // stream id -> status view
const rows = new Map();     // alert id -> <tr>
let selected = null;
let session = { user: "", auth: "none" };
let scheduled = false;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function evidenceURL(key) {
  return "/api/evidence/" + key.split("/").map(encodeURIComponent).join("/");
}

function fmtMS(ms) {
  const s = Math.floor(ms / 1000);
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

function fmtTime(iso) {
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

function cookie(name) {
  for (const c of document.cookie.split(";")) {
    const [k, v] = c.trim().split("=");
    if (k === name) return v;
  }
  return "";
}

// lineNode renders one evidence line with its matched spans marked.
function lineNode(line) {
  const span = el("span", { class: "text" });
  for (const p of (line && line.parts) || []) {
    span.append(p.kind ? el("mark", { class: p.kind, title: p.kind + " " + p.id, text: p.text }) : p.text);
  }
  return span;
}

function verdictNode(r) {
  if (!r) return el("span", { class: "verdict v-none", text: "unreviewed" });
  return el("span", { class: "verdict v-" + r.verdict, title: (r.note || "") + " — " + r.by + ", " + fmtTime(r.at), text: r.verdict + " · " + r.by });
}

function latestReview(id) {
  const rs = reviews.get(id);
  return rs && rs.length ? rs[rs.length - 1] : null;
}

function filters() {
  const f = {};
  for (const s of document.querySelectorAll("#filters select")) f[s.dataset.key] = s.value;
  return f;
}

function keep(a, f) {
  const r = latestReview(a.alert_id);
  if (f.stream && a.stream_id !== f.stream) return false;
  if (f.brand && !(a.brands || []).includes(f.brand)) return false;
  if (f.severity && a.severity !== f.severity) return false;
  if (f.state && a.state !== f.state) return false;
  if (f.verdict === "unreviewed") return !r;
  if (f.verdict) return !!r && r.verdict === f.verdict;
  return true;
}

function rowFor(a) {
  const tr = el("tr", { "data-alert-id": a.alert_id });
  const img = a.evidence_frame ? el("img", { class: "thumb", alt: "evidence", loading: "lazy", src: evidenceURL(a.evidence_frame) }) : "";
  const tags = [...(a.brands || []), ...(a.phrases || [])].join(", ");
  const first = (a.lines || [])[0];
  tr.append(
    el("td", {}, img),
    el("td", { text: fmtTime(a.started_at) }),
    el("td", { text: a.stream_id + (a.channel ? " / " + a.channel : "") }),
    el("td", { class: "sev sev-" + a.severity, text: a.severity }),
    el("td", { class: "state-" + a.state, text: a.state }),
    el("td", { text: a.rule }),
    el("td", { text: tags }),
    el("td", { text: fmtMS(a.start_ms) + "–" + fmtMS(a.end_ms) }),
    el("td", { class: "line" }, lineNode(first)),
    el("td", { class: "vcell" }, verdictNode(latestReview(a.alert_id))),
  );
  return tr;
}

function fillSelect(sel, values) {
  const cur = sel.value;
  const have = new Set([...sel.options].map((o) => o.value));
  for (const v of [...values].sort()) if (!have.has(v)) sel.append(el("option", { value: v, text: v }));
  sel.value = cur;
}

function render() {
  scheduled = false;
  const f = filters();
  const list = [...alerts.values()].sort((a, b) =>
    a.started_at < b.started_at ? 1 : a.started_at > b.started_at ? -1 : a.alert_id < b.alert_id ? -1 : 1);
  const body = document.querySelector("#alerts tbody");
  let shown = 0, unreviewed = 0;
  const streamIDs = new Set(), brands = new Set();
  for (const a of list) {
    streamIDs.add(a.stream_id);
    for (const b of a.brands || []) brands.add(b);
    if (!latestReview(a.alert_id)) unreviewed++;
    const tr = rows.get(a.alert_id);
    if (!keep(a, f)) { if (tr) tr.remove(); continue; }
    shown++;
    body.append(tr); // in sorted order
    tr.classList.toggle("unreviewed", !latestReview(a.alert_id));
    tr.classList.toggle("selected", a.alert_id === selected);
  }
  fillSelect($("f-stream"), streamIDs);
  fillSelect($("f-brand"), brands);
  $("unreviewed").textContent = unreviewed;
  $("total").textContent = alerts.size;
  $("shown").textContent = shown === alerts.size ? "" : shown + " shown";
  $("empty").hidden = alerts.size > 0;
  renderStreams();
  renderDetail();
}

function schedule() {
  // A timer, not requestAnimationFrame: a page in a background tab goes on counting.
  if (!scheduled) { scheduled = true; setTimeout(render, 10); }
}

function renderStreams() {
  const body = document.querySelector("#streams tbody");
  body.replaceChildren(...[...streams.values()].sort((a, b) => (a.stream_id < b.stream_id ? -1 : 1)).map((s) =>
    el("tr", { "data-stream-id": s.stream_id },
      el("td", { text: s.stream_id }),
      el("td", { class: "st-" + s.state, text: s.state, title: s.error || s.reason || "" }),
      el("td", { text: fmtTime(s.at) }),
      el("td", { text: (s.unwatched_ms / 1000).toFixed(1) + " s" }),
      el("td", { text: s.gaps }))));
  $("no-streams").hidden = streams.size > 0;
}

function renderDetail() {
  const a = selected && alerts.get(selected);
  $("detail").hidden = !a;
  if (!a) return;
  $("d-title").textContent = a.rule + " · " + a.severity + " · " + a.state;
  $("d-meta").textContent = a.stream_id + (a.channel ? " / " + a.channel : "") + " · media " + fmtMS(a.start_ms) + "–" +
    fmtMS(a.end_ms) + " · started " + fmtTime(a.started_at) + " · updated " + fmtTime(a.updated_at) + " · id " + a.alert_id;
  const frame = $("d-frame");
  const src = a.evidence_frame ? evidenceURL(a.evidence_frame) : "";
  if (frame.getAttribute("src") !== src) { if (src) frame.src = src; else frame.removeAttribute("src"); }
  frame.hidden = !src;
  const key = a.alert_id + ":" + a.revision;
  const lines = $("d-lines");
  if (lines.dataset.key !== key) {
    lines.dataset.key = key;
    lines.replaceChildren(...(a.evidence || []).map((e, i) => el("figure", {},
      e.crop ? el("img", { class: "crop", alt: "crop", src: evidenceURL(e.crop) }) : "",
      el("figcaption", {}, lineNode((a.lines || [])[i]), " — " + fmtMS(e.at_ms) + ", confidence " + Math.round(e.confidence) + "%"))));
  }
  const rs = reviews.get(a.alert_id) || [];
  $("history").replaceChildren(...[...rs].reverse().map((r) =>
    el("li", { "data-revision": r.revision }, verdictNode(r), " " + fmtTime(r.at) + (r.note ? ": " : ""), r.note ? el("q", { text: r.note }) : "")));
  const anonymous = !session.user && !$("by").value.trim();
  for (const b of document.querySelectorAll("#detail button")) b.disabled = anonymous;
  $("d-hint").hidden = !anonymous;
}

function select(id) {
  if (selected !== id) { $("note").value = ""; $("d-error").textContent = ""; }
  selected = id;
  history.replaceState(null, "", "#alert=" + encodeURIComponent(id)); // a link to the alert
  schedule();
}

async function give(verdict) {
  const id = selected;
  $("d-error").textContent = "";
  try {
    const resp = await fetch("/api/alerts/" + encodeURIComponent(id) + "/verdicts", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": cookie("streamwatch_csrf") },
      body: JSON.stringify({ verdict, note: $("note").value, by: $("by").value }),
    });
    const body = await resp.json();
    if (!resp.ok) throw new Error(body.error || resp.statusText);
    addReview(body);
    $("note").value = "";
  } catch (e) {
    $("d-error").textContent = "not saved: " + e.message;
  }
}

function addReview(r) {
  const rs = reviews.get(r.alert_id) || [];
  if (!rs.some((x) => x.revision === r.revision)) {
    rs.push(r);
    rs.sort((a, b) => a.revision - b.revision);
    reviews.set(r.alert_id, rs);
  }
  const tr = rows.get(r.alert_id);
  if (tr) tr.querySelector(".vcell").replaceChildren(verdictNode(latestReview(r.alert_id)));
  schedule();
}

function addAlert(a) {
  const old = alerts.get(a.alert_id);
  if (old && old.revision > a.revision) return;
  alerts.set(a.alert_id, a);
  const tr = rowFor(a);
  const prev = rows.get(a.alert_id);
  if (prev) prev.replaceWith(tr);
  rows.set(a.alert_id, tr);
  if (a.review) addReview(a.review);
  schedule();
}

function connect() {
  const es = new EventSource("/api/events");
  es.addEventListener("open", () => { $("conn").textContent = "live"; $("conn").className = "conn live"; });
  es.addEventListener("error", () => { $("conn").textContent = "reconnecting…"; $("conn").className = "conn"; });
  es.addEventListener("alert", (e) => addAlert(JSON.parse(e.data)));
  es.addEventListener("review", (e) => addReview(JSON.parse(e.data)));
  es.addEventListener("stream", (e) => { const s = JSON.parse(e.data); streams.set(s.stream_id, s); schedule(); });
  es.addEventListener("ready", () => { document.body.dataset.ready = "1"; });
}

async function start() {
  try {
    const resp = await fetch("/api/session");
    if (resp.ok) session = await resp.json();
  } catch (e) { /* the event stream reports the connection */ }
  const by = $("by");
  if (session.user) { by.value = session.user; by.disabled = true; }
  else by.value = localStorage.getItem("streamwatch.by") || "";
  by.addEventListener("input", () => { localStorage.setItem("streamwatch.by", by.value); schedule(); });
  if (location.hash.startsWith("#alert=")) selected = decodeURIComponent(location.hash.slice(7));
  for (const s of document.querySelectorAll("#filters select")) s.addEventListener("change", schedule);
  for (const b of document.querySelectorAll("#detail button")) b.addEventListener("click", () => give(b.dataset.verdict));
  // A row opens on a press and a release over it, not on "click": a newer
  // record of the alert replaces its row, and a replacement between press
  // and release would swallow the click.
  const table = document.querySelector("#alerts tbody");
  const rowID = (e) => e.target.closest?.("tr[data-alert-id]")?.dataset.alertId;
  let pressed = null;
  table.addEventListener("pointerdown", (e) => { pressed = e.button === 0 ? rowID(e) : null; });
  table.addEventListener("pointerup", (e) => { const id = rowID(e); if (id && id === pressed) select(id); pressed = null; });
  connect();
}

start();
