// A job's page: its own stream (/v1/jobs/{id}/events) moves the status, progress and log;
// when the job ends, the outputs section is fetched from the server, rendered like the page.
import { announce, apiJSON, bytes, duration, live, setStatus, timeTag } from "./ui.js";

const article = document.getElementById("job");
const id = article?.dataset.job;
const log = document.getElementById("log");
const follow = document.getElementById("follow");
const FINAL = ["SUCCEEDED", "FAILED", "CANCELLED"];
const MAX_LINES = 1000;

function appendLog(line) {
  const li = document.createElement("li");
  li.textContent = line;
  log.append(li);
  while (log.children.length > MAX_LINES) log.firstElementChild.remove();
  if (follow.checked) log.scrollTop = log.scrollHeight;
}

function showStatus(status, error) {
  article.dataset.status = status;
  setStatus(document.querySelector("#job-status .status"), status);
  const cancel = document.getElementById("cancel");
  const retry = document.getElementById("retry");
  if (cancel) cancel.hidden = FINAL.includes(status);
  if (retry) retry.hidden = !["FAILED", "CANCELLED"].includes(status);
  const err = document.getElementById("job-error");
  if (error) { err.textContent = error; err.hidden = false; } else if (!FINAL.includes(status)) { err.hidden = true; }
  if (status === "RUNNING") document.getElementById("progress-section").hidden = false;
}

function showProgress(p) {
  if (!p) return;
  document.getElementById("progress-section").hidden = false;
  if (p.percent != null) document.getElementById("bar").value = p.percent;
  const f = (k) => document.querySelector(`#figures [data-f="${k}"]`);
  f("bytes_in").textContent = bytes(p.bytes_in);
  if (p.input_size) f("input_size").textContent = bytes(p.input_size);
  f("rows_in").textContent = (p.rows_in ?? 0).toLocaleString("en");
  f("percent").textContent = p.percent ?? "—";
  f("bytes_per_second").textContent = `${bytes(p.bytes_per_second)}/s`;
  f("eta_seconds").textContent = duration(p.eta_seconds);
}

function addTimeline(d) {
  const li = document.createElement("li");
  const badge = document.createElement("span");
  setStatus(badge, d.status);
  li.append(timeTag(d.at), " — ", badge);
  if (d.attempt) li.append(` attempt ${d.attempt}`);
  if (d.by) li.append(` by ${d.by}`);
  if (d.error) { const e = document.createElement("span"); e.className = "error"; e.textContent = ` ${d.error}`; li.append(e); }
  document.getElementById("timeline").append(li);
}

async function refreshOutputs() {
  const r = await fetch(`/ui/jobs/${id}/outputs`);
  if (r.ok) document.getElementById("outputs").innerHTML = await r.text();
}

// The status the page was rendered with: a job that ended between the render and the stream's
// snapshot sends no status event, so the snapshot must fetch the outputs itself.
const renderedFinal = FINAL.includes(document.querySelector("#job-status .status")?.dataset.status);

if (id) {
  live(`/v1/jobs/${id}/events`, {
    snapshot: (d) => {
      showStatus(d.status, d.error);
      showProgress(d.progress);
      if (FINAL.includes(d.status) && !renderedFinal) refreshOutputs();
    },
    status: (d) => {
      showStatus(d.status, d.error);
      addTimeline(d);
      if (FINAL.includes(d.status)) { announce(`Job ${d.status}`); refreshOutputs(); }
    },
    progress: showProgress,
    log: (d) => appendLog(d.line),
  });
  log.scrollTop = log.scrollHeight;
}

// Previews of small outputs: text and CSV from a presigned GET (the bytes never pass the API).
document.addEventListener("click", async (e) => {
  const b = e.target.closest("button.preview");
  if (!b) return;
  const box = document.getElementById(`preview-${b.dataset.n}`);
  if (!box.hidden) { box.hidden = true; return; }
  box.hidden = false;
  box.textContent = "Loading…";
  try {
    const { url } = await apiJSON(`/v1/jobs/${b.dataset.job}/outputs/${b.dataset.n}?expires=300`);
    if (b.dataset.kind === "image") {
      const img = document.createElement("img");
      img.src = url;
      img.alt = `preview of output ${b.dataset.n}`;
      box.replaceChildren(img);
      return;
    }
    const text = await (await fetch(url)).text();
    const lines = text.split("\n").slice(0, 50);
    if (["csv", "tsv"].includes(b.dataset.ext)) {
      const sep = b.dataset.ext === "tsv" ? "\t" : ",";
      const t = document.createElement("table");
      lines.filter((l) => l.length).forEach((l, i) => {
        const tr = t.insertRow();
        for (const cell of l.split(sep)) {
          const c = document.createElement(i === 0 ? "th" : "td");
          if (i === 0) c.scope = "col";
          c.textContent = cell;
          tr.append(c);
        }
      });
      box.replaceChildren(t);
    } else {
      const pre = document.createElement("pre");
      pre.textContent = lines.join("\n");
      box.replaceChildren(pre);
    }
  } catch (err) {
    box.textContent = `Preview failed: ${err.message || err}`;
  }
});
