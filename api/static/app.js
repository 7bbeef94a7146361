// trunkctl status page: asks the API with the token kept in sessionStorage, polls while jobs run.
// Every text from the server goes in with textContent: PBX messages and file names are not HTML.
"use strict";

const TOKEN_KEY = "trunkctl.apiToken";
// The item states come from the server (jobs.states), in the order progress bars show them.
const dataset = document.body.dataset;
const STATES = dataset.states.split(" ");
const FINAL = new Set(dataset.finalStates.split(" "));
const GOOD = new Set(dataset.goodStates.split(" "));
const BAD = new Set([...FINAL].filter((state) => !GOOD.has(state)));
const RETRIED = dataset.retriedStates.split(" ");
const FAILURES_PAGE_SIZE = 25;
// What a PBX's errcode means for the user (yeastar-api.md): shown under the PBX's own errmsg.
const ERRCODE_HINTS = {
  "-1": "The PBX refused the login: check client_id and client_secret, then retry with a corrected inventory.",
  10005: "The PBX's API client lacks the permission.",
  10009: "The PBX's API client lacks the permission.",
  60002: "A limit of the PBX is reached (its token cap, or its trunk quota).",
  70004: "The PBX blocked this server's IP after failed logins: it must be unblocked on the PBX.",
  70087: "This server's IP is not on the PBX's API allow-list.",
};
const POLL_RUNNING_MS = 1000;
const POLL_IDLE_MS = 5000;
const HEALTH_MS = 10000;

const tokenRequired = dataset.tokenRequired === "true";
const view = { jobId: null, status: null, failuresPage: 1, failuresKey: "", timer: null };

function $(id) { return document.getElementById(id); }

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// --- the API --------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (tokenRequired) headers.set("Authorization", `Bearer ${token()}`);
  const response = await fetch(path, { ...options, headers, cache: "no-store" });
  if (response.status === 401 && tokenRequired) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignin("The server refused the token: enter it again.");
    throw new ApiError(401, { error: "the token was refused" });
  }
  const type = response.headers.get("Content-Type") || "";
  const body = type.includes("application/json") ? await response.json() : await response.blob();
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// --- sign in --------------------------------------------------------------------------------

function showSignin(message) {
  $("app").hidden = true;
  $("signin").hidden = false;
  $("forget-token").hidden = true;
  $("signin-error").hidden = !message;
  $("signin-error").textContent = message || "";
  $("token-input").focus();
  stopPolling();
}

async function start() {
  $("signin").hidden = true;
  $("app").hidden = false;
  $("forget-token").hidden = !tokenRequired;
  try {
    await refreshJobs();
  } catch (error) {
    return;  // 401: the sign-in form is showing again
  }
  selectFromHash();
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
  $("token-input").value = "";
  start();
});

$("forget-token").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showSignin("");
});

// --- shared pieces --------------------------------------------------------------------------

function finalCount(counts) {
  return STATES.filter((s) => FINAL.has(s)).reduce((sum, s) => sum + (counts[s] || 0), 0);
}

function stateBar(counts, total, big) {
  const track = el("div", { class: big ? "bar-track big" : "bar-track", role: "img" });
  const parts = [];
  for (const state of STATES) {
    const n = counts[state] || 0;
    if (!n || !total) continue;
    const seg = el("div", { class: `seg ${state}`, title: `${state} ${n}` });
    seg.style.width = `${(100 * n) / total}%`;
    track.append(seg);
    parts.push(`${state} ${n}`);
  }
  track.setAttribute("aria-label", parts.join(", ") || "nothing yet");
  return track;
}

function outcomeBadge(job) {
  if (job.submit === "cut short") return el("span", { class: "badge cut-short" }, "cut short");
  if (!job.final) return el("span", { class: "badge running" }, "in progress");
  return el("span", { class: `badge ${job.outcome}` }, job.outcome);
}

function problemList(errors) {
  const list = el("ul", { class: "problems" });
  for (const error of errors) {
    const where = `${error.file}:${error.line}:${error.column ? ` ${error.column}:` : ""}`;
    list.append(el("li", {}, el("span", { class: "where" }, where), ` ${error.message}`));
  }
  return list;
}

function message(kind, text) { return el("p", { class: `message ${kind}` }, text); }

function problemsMessage(body, intro) {
  const box = el("div", { role: "alert" });
  const rows = body.valid !== undefined && (body.valid || body.invalid)
    ? ` (${body.valid} valid, ${body.invalid} invalid rows)` : "";
  box.append(message("bad", `${intro}${rows}:`));
  box.append(problemList(body.errors || []));
  return box;
}

// Local times, unambiguous in every locale: 2026-11-26 10:15, and 10:15:07.
function two(n) { return String(n).padStart(2, "0"); }

function clock(date) {
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} `
    + `${two(date.getHours())}:${two(date.getMinutes())}`;
}

// --- recent jobs ----------------------------------------------------------------------------

async function refreshJobs() {
  const { jobs } = await api("/api/jobs?limit=20");
  const body = $("jobs").querySelector("tbody");
  body.replaceChildren(...jobs.map(jobRow));
  $("jobs-empty").hidden = jobs.length > 0;
  $("jobs").hidden = jobs.length === 0;
  $("jobs-updated").textContent = `updated ${clock(new Date())}`;
  return jobs;
}

// What a job is for, when it is not a plain rollout: "plan", "apply of PLAN", "rollback of JOB".
function kindText(job) {
  const kind = job.kind || "rollout";
  if (kind === "rollout") return "";
  return job.source && kind !== "plan" ? `${kind} of ${job.source}` : kind;
}

function jobRow(job) {
  const total = STATES.reduce((sum, s) => sum + (job.counts[s] || 0), 0);
  const kind = kindText(job);
  const row = el(
    "tr", { tabindex: "0", "aria-selected": String(job.job_id === view.jobId), "data-job": job.job_id },
    el("td", {},
      kind ? el("span", { class: "job-kind" }, job.kind) : null,
      el("span", { class: "job-label" }, job.label || job.job_id),
      el("span", { class: "job-sub", title: `created ${when(job.created_at)}` },
        job.label ? job.job_id : `created ${when(job.created_at)}`)),
    el("td", { class: "bar-cell" }, stateBar(job.counts, total, false)),
    el("td", { class: "num" }, `${finalCount(job.counts)}/${total}`),
    el("td", {}, outcomeBadge(job)),
  );
  const open = () => { location.hash = `job/${encodeURIComponent(job.job_id)}`; };
  row.addEventListener("click", open);
  row.addEventListener("keydown", (event) => { if (event.key === "Enter") open(); });
  return row;
}

// --- one job --------------------------------------------------------------------------------

function selectFromHash() {
  const match = location.hash.match(/^#job\/(.+)$/);
  const jobId = match ? decodeURIComponent(match[1]) : null;
  if (jobId !== view.jobId) {
    view.jobId = jobId;
    view.status = null;
    view.failuresPage = 1;
    view.failuresKey = "";
    $("retry-result").replaceChildren();
  }
  for (const row of $("jobs").querySelectorAll("tbody tr")) {
    row.setAttribute("aria-selected", String(row.dataset.job === jobId));
  }
  $("job-placeholder").hidden = Boolean(jobId);
  $("job-body").hidden = !jobId;
  poll();
}

window.addEventListener("hashchange", selectFromHash);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && view.timer !== null) poll();
});

function stopPolling() {
  clearTimeout(view.timer);
  view.timer = null;
}

async function poll() {
  stopPolling();
  let running = false;
  try {
    const jobs = await refreshJobs();
    running = jobs.some((job) => !job.final && job.submit !== "cut short");
    if (view.jobId) {
      const status = await api(`/api/jobs/${encodeURIComponent(view.jobId)}`);
      running = running || !status.final;
      showJob(status);
      await refreshFailures(status);
    }
  } catch (error) {
    if (error.status === 401) return;
    if (error.status === 404 && view.jobId) {
      $("job-body").hidden = true;
      $("job-placeholder").hidden = false;
      $("job-placeholder").replaceChildren(message("bad", `No job ${view.jobId}: unknown, or expired.`));
    }
  }
  // A hidden tab asks less often; showing it again asks at once.
  view.timer = setTimeout(poll, running && !document.hidden ? POLL_RUNNING_MS : POLL_IDLE_MS);
}

function showJob(status) {
  view.status = status;
  $("job-id").textContent = status.job_id;
  // The default label of an apply or a rollback names its source already.
  const kind = status.source && status.label.includes(status.source) ? "" : kindText(status);
  $("job-meta").textContent = [kind, status.label, `created ${when(status.created_at)}`]
    .filter(Boolean).join(" · ");
  $("job-outcome").replaceWith(Object.assign(outcomeBadge(status), { id: "job-outcome" }));
  $("job-bar").replaceWith(Object.assign(stateBar(status.counts, status.total, true), { id: "job-bar" }));
  $("job-done").textContent = `${finalCount(status.counts)} of ${status.total} final`;
  $("job-counts").replaceChildren(...STATES.filter((s) => status.counts[s])
    .map((s) => el("span", { class: `state ${s}` }, `${s} ${status.counts[s]}`)));
  const note = $("job-submit-note");
  note.hidden = status.submit === "done";
  note.textContent = status.submit === "cut short"
    ? "Its submit was cut short before every trunk was stored: Retry makes the job whole with the trunks it stored."
    : "Its submit is still storing and queuing trunks.";
  $("pbxs").querySelector("tbody").replaceChildren(...Object.entries(status.pbxs).map(pbxRow));
  const retriable = RETRIED.some((state) => status.counts[state]);
  $("retry-button").disabled = !retriable && status.submit !== "cut short";
}

function pbxRow([pbx, counts]) {
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  const good = [...GOOD].reduce((sum, s) => sum + (counts[s] || 0), 0);
  const bad = [...BAD].reduce((sum, s) => sum + (counts[s] || 0), 0);
  return el("tr", {},
    el("td", {}, pbx),
    el("td", { class: "bar-cell" }, stateBar(counts, total, false)),
    el("td", { class: "num" }, good),
    el("td", { class: "num" }, bad ? el("span", { class: "state failed" }, bad) : "0"),
    el("td", { class: "num" }, total - good - bad));
}

async function refreshFailures(status) {
  const bad = [...BAD];
  const key = [status.job_id, ...bad.map((state) => status.counts[state]), view.failuresPage].join("|");
  if (key === view.failuresKey) return;
  const states = bad.map((state) => `state=${state}`).join("&");
  const query = `${states}&page=${view.failuresPage}&page_size=${FAILURES_PAGE_SIZE}`;
  const page = await api(`/api/jobs/${encodeURIComponent(status.job_id)}/items?${query}`);
  view.failuresKey = key;
  $("failures").querySelector("tbody").replaceChildren(...page.items.map(failureRow));
  $("failures").hidden = page.total === 0;
  $("failures-none").hidden = page.total > 0;
  $("failures-count").textContent = page.total ? `${page.total} trunk${page.total === 1 ? "" : "s"}` : "";
  const pages = Math.max(1, Math.ceil(page.total / page.page_size));
  $("failures-pager").hidden = pages <= 1;
  $("failures-page").textContent = `page ${page.page} of ${pages}`;
  $("failures-prev").disabled = page.page <= 1;
  $("failures-next").disabled = page.page >= pages;
}

function detailText(detail) {
  if (!Array.isArray(detail) || !detail.length) return null;
  const parts = detail.map((entry) => (entry && typeof entry === "object")
    ? Object.values(entry).filter((v) => typeof v !== "object").join(": ") : String(entry));
  return el("span", { class: "detail-note" }, parts.join("; "));
}

function failureRow(record) {
  const rejected = record.state === "rejected";
  const hint = record.errcode !== null ? ERRCODE_HINTS[record.errcode] : undefined;
  const reason = el("td", { class: "reason" },
    record.errcode !== null ? el("span", { class: "errcode" }, record.errcode) : null,
    record.errmsg || "",
    hint ? el("span", { class: "detail-note" }, hint) : null,
    rejected ? null : detailText(record.detail));
  return el("tr", {},
    el("td", {}, el("code", {}, `${record.file}:${record.line}`)),
    el("td", {}, record.pbx),
    el("td", {}, record.name),
    el("td", {}, el("span", { class: `state ${record.state}` }, record.state)),
    reason);
}

$("failures-prev").addEventListener("click", () => { view.failuresPage -= 1; poll(); });
$("failures-next").addEventListener("click", () => { view.failuresPage += 1; poll(); });

// --- actions --------------------------------------------------------------------------------

async function busy(button, action) {
  button.disabled = true;
  try { await action(); } finally { button.disabled = false; }
}

$("upload-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  const data = new FormData();
  for (const file of $("trunks-input").files) data.append("trunks", file, file.name);
  const pbxs = $("pbxs-input").files[0];
  if (pbxs) data.append("pbxs", pbxs, pbxs.name);
  data.append("label", $("label-input").value.trim());
  data.append("skip_invalid", $("skip-input").checked ? "true" : "false");
  data.append("update_existing", $("update-input").checked ? "true" : "false");
  const result = $("upload-result");
  result.replaceChildren(message("warn", "Validating…"));
  busy($("upload-button"), async () => {
    try {
      const job = await api("/api/jobs", { method: "POST", body: data });
      const rejected = job.rejected ? `, ${job.rejected} rejected` : "";
      result.replaceChildren(message("good", `Job ${job.job_id}: ${job.queued} trunks queued${rejected}.`));
      if (job.errors.length) result.append(problemsMessage({ errors: job.errors }, "Rejected rows"));
      form.reset();
      location.hash = `job/${encodeURIComponent(job.job_id)}`;
    } catch (error) {
      if (error.status === 422) {
        result.replaceChildren(problemsMessage(error.body, "Nothing was queued: the batch has problems"));
      } else if (error.status !== 401) {
        result.replaceChildren(message("bad", `Nothing was queued: ${error.message}`));
      }
    }
  });
});

$("retry-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const jobId = view.jobId;
  const data = new FormData();
  const pbxs = $("retry-pbxs").files[0];
  if (pbxs) data.append("pbxs", pbxs, pbxs.name);
  const result = $("retry-result");
  busy($("retry-button"), async () => {
    try {
      const done = await api(`/api/jobs/${encodeURIComponent(jobId)}/retry`, { method: "POST", body: data });
      result.replaceChildren(message("good", `Re-queued ${done.requeued} failed item${done.requeued === 1 ? "" : "s"}.`));
      event.target.reset();
      view.failuresKey = "";
      poll();
    } catch (error) {
      if (error.status === 422) {
        result.replaceChildren(problemsMessage(error.body, "Nothing was re-queued: the inventory has problems"));
      } else if (error.status !== 401) {
        result.replaceChildren(message("bad", `Nothing was re-queued: ${error.message}`));
      }
    }
  });
});

$("report-button").addEventListener("click", (event) => {
  const jobId = view.jobId;
  busy(event.target, async () => {
    try {
      const blob = await api(`/api/jobs/${encodeURIComponent(jobId)}/report.csv`);
      const link = el("a", { href: URL.createObjectURL(blob), download: `trunkctl-${jobId}.csv` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (error) {
      if (error.status !== 401) $("retry-result").replaceChildren(message("bad", `No report: ${error.message}`));
    }
  });
});

// --- health ---------------------------------------------------------------------------------

async function checkHealth() {
  const health = $("health");
  try {
    const response = await fetch("/healthz", { cache: "no-store" });
    const ok = response.ok;
    health.className = ok ? "health ok" : "health bad";
    health.textContent = ok ? "Redis answers" : "Redis does not answer";
  } catch (error) {
    health.className = "health bad";
    health.textContent = "server unreachable";
  }
}

checkHealth();
setInterval(checkHealth, HEALTH_MS);
if (!tokenRequired || token()) start(); else showSignin("");
