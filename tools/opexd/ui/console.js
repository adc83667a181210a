// opex console: the requests with their plans, the approvals, the workflow metrics, the
// circuit breakers and the alerts, read from opexd's API with the key typed once (sent as
// X-API-Key, kept in this tab's sessionStorage). Every value from the API goes into the page as text, never HTML.
"use strict";

const state = { key: "", who: null, tab: "requests", selected: null, timer: null, graphUrl: null, graphFor: "" };
const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? `${body.error_code}: ${body.error}` : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(path, options = {}) {
  const headers = { "X-API-Key": state.key };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method: options.method || "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (options.blob && response.ok) return response.blob();
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function message(text, error = false) {
  const m = $("message");
  m.textContent = text;
  m.classList.toggle("error", error);
  m.hidden = !text;
}

function cell(row, text, className) {
  const td = document.createElement("td");
  if (className) {
    const span = document.createElement("span");
    span.className = className;
    span.textContent = text;
    td.appendChild(span);
  } else {
    td.textContent = text === null || text === undefined ? "" : String(text);
  }
  row.appendChild(td);
  return td;
}

function stateCell(row, value) {
  return cell(row, value, `state state-${value}`);
}

function replaceRows(tbody, rows) {
  tbody.replaceChildren(...rows);
}

const percent = (x) => `${(x * 100).toFixed(1)}%`;
const ms = (x) => (x === null || x === undefined ? "-" : x < 1000 ? `${Math.round(x)} ms` : `${(x / 1000).toFixed(1)} s`);

// -- requests -------------------------------------------------------------------------------

function requestQuery() {
  const params = new URLSearchParams({ limit: "100" });
  for (const [name, id] of [["status", "filter-status"], ["tenant", "filter-tenant"], ["tool", "filter-tool"], ["since", "filter-since"]]) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  return `/v1/requests?${params}`;
}

async function loadRequests() {
  const body = await api(requestQuery());
  replaceRows($("request-rows"), body.requests.map((r) => {
    const row = document.createElement("tr");
    row.className = "selectable";
    row.dataset.requestId = r.id;
    cell(row, r.created_at);
    cell(row, r.id).classList.add("request-id");
    cell(row, r.tenant);
    cell(row, r.type || "-");
    cell(row, r.tools.join(", "));
    stateCell(row, r.status);
    row.addEventListener("click", () => openRequest(r.id));
    return row;
  }));
}

/// The steps with their final state when the request ended, else as stored while it runs.
function stepsOf(detail) {
  const final = detail.request.result && detail.request.result.result && detail.request.result.result.steps;
  return final && final.length ? final : detail.steps;
}

async function openRequest(id) {
  state.selected = id;
  const detail = await api(`/v1/requests/${id}`);
  $("request-detail").hidden = false;
  $("detail-title").textContent = `Request ${id}`;
  $("detail-status").replaceChildren();
  stateCell($("detail-status"), detail.request.status);
  replaceRows($("step-rows"), stepsOf(detail).map((s) => {
    const row = document.createElement("tr");
    row.dataset.step = s.step;
    cell(row, s.step);
    cell(row, s.tool);
    stateCell(row, s.status);
    cell(row, s.attempts);
    cell(row, ms(s.duration_ms));
    cell(row, s.error ? `${s.error.error_code}: ${s.error.error}` : "").classList.add("reason");
    return row;
  }));
  // The graph is drawn again only when the request or a state in it changed (Graphviz runs on
  // opexd for each drawing; the live refresh would otherwise ask every 2 s).
  const drawn = `${id} ${detail.request.status} ${stepsOf(detail).map((s) => `${s.status}/${s.attempts}`).join(",")}`;
  if (state.graphFor === drawn) return;
  state.graphFor = drawn;
  try {
    const svg = await api(`/v1/requests/${id}/graph.svg`, { blob: true });
    if (state.graphUrl) URL.revokeObjectURL(state.graphUrl);
    state.graphUrl = URL.createObjectURL(svg);
    $("graph").src = state.graphUrl;
    $("graph").hidden = false;
  } catch (e) {
    $("graph").hidden = true;  // an answer or a clarification has no plan to draw
  }
}

// -- approvals ------------------------------------------------------------------------------

async function decide(id, approve, codeInput) {
  const body = { decision: approve ? "approve" : "reject" };
  if (codeInput && codeInput.value.trim()) body.confirmation_code = codeInput.value.trim();
  try {
    const a = await api(`/v1/approvals/${id}`, { method: "POST", body });
    message(`approval ${a.id}: ${a.status}`);
  } catch (e) {
    message(e.message, true);
  }
  await refresh();
}

function decisionCell(row, a) {
  const td = cell(row, "");
  td.classList.add("decision");
  if (a.status !== "pending") {
    td.textContent = `${a.status}${a.decided_by ? " by " + a.decided_by : ""}`;
    return;
  }
  if (!state.who.can_decide) {
    td.textContent = "read-only key";
    return;
  }
  let code = null;
  if (a.requires_code) {
    code = document.createElement("input");
    code.className = "code";
    code.placeholder = "confirmation code";
    code.setAttribute("aria-label", "confirmation code");
    td.appendChild(code);
  }
  for (const [label, approve] of [["Approve", true], ["Reject", false]]) {
    const b = document.createElement("button");
    b.className = approve ? "approve" : "reject";
    b.textContent = label;
    b.addEventListener("click", () => decide(a.id, approve, code));
    td.appendChild(b);
  }
}

async function loadApprovals(render) {
  const body = await api("/v1/approvals?status=pending");
  $("pending-count").textContent = body.approvals.length ? `(${body.approvals.length})` : "";
  if (!render) return;
  // A row already shown is kept as it is, so a code being typed survives the live refresh.
  const shown = new Map([...$("approval-rows").rows].map((r) => [r.dataset.approvalId, r]));
  replaceRows($("approval-rows"), body.approvals.map((a) => {
    if (shown.has(a.id)) return shown.get(a.id);
    const row = document.createElement("tr");
    row.dataset.approvalId = a.id;
    cell(row, a.created_at);
    cell(row, a.tenant);
    cell(row, a.kind === "review" ? `${a.tool} (review of ${a.subject})` : `${a.tool} (step ${a.step})`);
    cell(row, a.request_id);
    cell(row, a.reason);
    cell(row, a.expires_at);
    decisionCell(row, a);
    return row;
  }));
}

// -- workflows and breakers -----------------------------------------------------------------

async function loadWorkflows() {
  const m = await api("/v1/metrics/workflows");
  $("workflow-window").textContent = `${m.since} to ${m.until}: ${m.total.executions} step runs`;
  replaceRows($("workflow-rows"), m.workflows.map((w) => {
    const row = document.createElement("tr");
    row.dataset.tool = w.tool;
    cell(row, w.tool);
    cell(row, w.executions);
    cell(row, percent(w.success_rate));
    cell(row, percent(w.failure_rate));
    cell(row, percent(w.skipped_rate));
    cell(row, w.executions_per_day.toFixed(1));
    cell(row, ms(w.latency_ms.mean));
    cell(row, ms(w.latency_ms.p95));
    cell(row, w.cost_usd.total.toFixed(4));
    return row;
  }));
}

async function loadBreakers() {
  const body = await api("/v1/breakers");
  replaceRows($("breaker-rows"), body.breakers.map((b) => {
    const row = document.createElement("tr");
    cell(row, b.target);
    stateCell(row, b.state);
    cell(row, `${b.failure_rate}%`);
    cell(row, b.opened);
    cell(row, b.rejected);
    return row;
  }));
}

// -- alerts ---------------------------------------------------------------------------------

function alertValue(kind, v) {
  if (typeof v !== "number") return "-";
  if (kind === "error_rate") return percent(v);
  if (kind === "daily_cost") return `${v.toFixed(2)} USD`;
  if (kind === "idle_workflow") return `${(v / 86400000).toFixed(1)} d`;
  return ms(v);
}

async function loadAlerts() {
  const body = await api("/v1/alerts");
  const firing = body.alerts.filter((a) => a.state === "firing").length;
  $("firing-count").textContent = firing ? `(${firing})` : "";
  const every = body.evaluation_interval_ms ? `evaluated every ${body.evaluation_interval_ms / 1000} s` : "evaluated on demand";
  $("alert-rules").textContent = body.rules
    ? `${body.enabled ? every : "disabled"}: ${body.rules.map((r) => r.name).join(", ")}`
    : "";
  $("delivery-table").hidden = body.deliveries.length === 0;
  replaceRows($("alert-rows"), body.alerts.map((a) => {
    const row = document.createElement("tr");
    row.dataset.rule = a.rule;
    row.dataset.subject = a.subject;
    cell(row, a.rule);
    cell(row, a.subject);
    stateCell(row, a.state);
    cell(row, alertValue(a.kind, a.value));
    cell(row, alertValue(a.kind, a.threshold));
    cell(row, a.count);
    cell(row, a.state === "firing" ? a.fired_at : a.state === "pending" ? a.pending_since : a.updated_at);
    return row;
  }));
  replaceRows($("delivery-rows"), body.deliveries.map((d) => {
    const row = document.createElement("tr");
    cell(row, d.notification && d.notification.summary ? d.notification.summary : d.transition_id);
    cell(row, d.target);
    stateCell(row, d.state);
    cell(row, d.attempts);
    cell(row, d.last_error || "");
    return row;
  }));
}

// -- the page -------------------------------------------------------------------------------

async function refresh() {
  try {
    await loadApprovals(state.tab === "approvals");
    if (state.tab === "requests") {
      await loadRequests();
      if (state.selected) await openRequest(state.selected);
    } else if (state.tab === "workflows") {
      await loadWorkflows();
    } else if (state.tab === "breakers") {
      await loadBreakers();
    } else if (state.tab === "alerts") {
      await loadAlerts();
    }
  } catch (e) {
    message(e.message, true);
    if (e.status === 401) disconnect();
  }
}

function showTab(tab) {
  state.tab = tab;
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === tab);
  for (const s of document.querySelectorAll("section.tab")) s.hidden = s.id !== tab;
  refresh();
}

function disconnect() {
  sessionStorage.removeItem("opex-key");
  state.key = "";
  state.who = null;
  clearInterval(state.timer);
  $("tabs").hidden = true;
  document.querySelector("main").hidden = true;
  $("who").hidden = true;
}

async function connect(key) {
  state.key = key;
  try {
    state.who = await api("/v1/whoami");
  } catch (e) {
    message(e.message, true);
    disconnect();
    return;
  }
  sessionStorage.setItem("opex-key", key);
  message("");
  $("who").textContent = `tenant ${state.who.tenant}, ${state.who.scope}${state.who.can_decide ? "" : " (read-only)"}`;
  $("who").hidden = false;
  $("tabs").hidden = false;
  document.querySelector("main").hidden = false;
  clearInterval(state.timer);
  state.timer = setInterval(() => { if ($("live").checked) refresh(); }, 2000);
  showTab(state.tab);
}

document.addEventListener("DOMContentLoaded", () => {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    connect($("api-key").value.trim());
  });
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("request-filters").addEventListener("change", () => refresh());
  const kept = sessionStorage.getItem("opex-key");
  if (kept) connect(kept);
});
