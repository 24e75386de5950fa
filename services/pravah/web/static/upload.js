// The uploader: an upload session per file (POST /v1/uploads), part URLs signed in batches,
// parts PUT straight to storage with XHR (fetch reports no upload progress), 4 at a time,
// each retried on failure; the server lists the parts and completes. Pause, resume, cancel;
// after a reload the "unfinished" panel resumes with only the missing parts.
import { announce, api, apiJSON, banner, bytes, duration } from "./ui.js";

const PARALLEL = 4;
const BATCH = 32; // part URLs signed per request
const RETRIES = 5;
const form = document.getElementById("upload");
const input = document.getElementById("files");
const drop = document.getElementById("drop");
const queue = document.getElementById("queue");
const willRun = document.getElementById("will-run");
let chosen = [];

function destination() {
  let to = document.getElementById("to").value.trim();
  if (to && !to.endsWith("/")) to += "/";
  return to;
}

let previewing = 0;
async function preview() {
  // built off-page and swapped in at once: no flicker, and nothing under the pointer moves twice
  const mine = ++previewing;
  const to = destination();
  const [bucket, ...rest] = to.split("/");
  const lines = [];
  for (const f of chosen) {
    const p = document.createElement("p");
    try {
      const t = await apiJSON(`/v1/bindings/test?bucket=${encodeURIComponent(bucket)}&key=${encodeURIComponent(rest.join("/") + f.name)}`);
      p.className = t.fires ? "ok" : "warn";
      p.textContent = t.fires
        ? `${f.name} (${bytes(f.size)}) will start pipeline ${t.fires} @ ${t.pipeline_version.slice(0, 8)}.`
        : `⚠ ${f.name}: no binding watches ${to}${f.name}; it will be stored but no job will start.`;
    } catch (err) {
      p.className = "warn";
      p.textContent = `⚠ ${f.name}: ${err.message}`;
    }
    lines.push(p);
  }
  if (mine === previewing) willRun.replaceChildren(...lines);
}

function choose(files) {
  chosen = [...files];
  preview();
}

input.addEventListener("change", () => choose(input.files));
document.getElementById("to").addEventListener("change", preview);
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); choose(e.dataTransfer.files); });

class Transfer {
  constructor(file, session) {
    this.file = file;
    this.s = session;
    this.loaded = new Map(); // part → bytes sent so far
    this.xhrs = new Set();
    this.state = "running";
    this.started = performance.now();
    this.sentAtStart = 0;
    this.row = this.render();
  }

  render() {
    queue.querySelector(".empty")?.remove();
    const li = document.createElement("li");
    li.dataset.upload = this.s.id;
    li.innerHTML = `<div class="name"></div><progress max="100" value="0"></progress> <span class="figures"></span>
      <span class="controls"><button type="button" class="pause">Pause</button> <button type="button" class="cancel">Cancel</button></span>
      <div class="result" aria-live="polite"></div>`;
    li.querySelector(".name").textContent = `${this.file.name} → ${this.s.bucket}/${this.s.key}`;
    li.querySelector("progress").setAttribute("aria-label", `upload of ${this.file.name}`);
    li.querySelector(".pause").addEventListener("click", () => (this.state === "paused" ? this.resume() : this.pause()));
    li.querySelector(".cancel").addEventListener("click", () => this.cancel());
    queue.prepend(li);
    return li;
  }

  partSize(n) {
    return n < this.s.parts ? this.s.part_size : this.s.size - this.s.part_size * (this.s.parts - 1);
  }

  show() {
    let sent = 0;
    for (const v of this.loaded.values()) sent += v;
    const pct = this.s.size ? (100 * sent) / this.s.size : 100;
    const secs = (performance.now() - this.started) / 1000;
    const rate = secs > 0 ? (sent - this.sentAtStart) / secs : 0;
    this.row.querySelector("progress").value = pct;
    this.row.querySelector(".figures").textContent =
      `${pct.toFixed(1)} % · ${bytes(sent)} of ${bytes(this.s.size)} · ${bytes(rate)}/s · ETA ${rate > 0 ? duration((this.s.size - sent) / rate) : "—"}`;
  }

  async run(missing) {
    for (let n = 1; n <= this.s.parts; n++) if (!missing.includes(n)) this.loaded.set(n, this.partSize(n));
    this.sentAtStart = [...this.loaded.values()].reduce((a, b) => a + b, 0);
    this.todo = [...missing];
    this.show();
    await this.pump();
  }

  async pump() {
    const urls = new Map();
    const next = async () => {
      while (this.state === "running" && this.todo.length) {
        const n = this.todo.shift();
        if (!urls.has(n)) {
          const batch = [n, ...this.todo.slice(0, BATCH - 1)];
          const signed = await apiJSON(`/v1/uploads/${this.s.id}/parts`, { method: "POST", body: { parts: batch } });
          for (const [k, v] of Object.entries(signed.urls)) urls.set(Number(k), v);
        }
        try {
          await this.sendPart(n, urls.get(n));
        } catch (err) {
          if (this.state !== "running") { this.todo.unshift(n); return; }
          throw err;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: PARALLEL }, next));
      if (this.state !== "running") return;
      this.row.querySelector(".figures").textContent = "completing…";
      const done = await apiJSON(`/v1/uploads/${this.s.id}/complete`, { method: "POST" });
      this.finish(done);
    } catch (err) {
      this.fail(err);
    }
  }

  sendPart(n, url) {
    const blob = this.file.slice(this.s.part_size * (n - 1), this.s.part_size * (n - 1) + this.partSize(n));
    let attempt = 0;
    const once = () =>
      new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        this.xhrs.add(xhr);
        xhr.open("PUT", url);
        xhr.upload.onprogress = (e) => { this.loaded.set(n, e.loaded); this.show(); };
        xhr.onload = () => {
          this.xhrs.delete(xhr);
          if (xhr.status >= 200 && xhr.status < 300) { this.loaded.set(n, blob.size); this.show(); resolve(); }
          else reject(new Error(`part ${n}: storage answered ${xhr.status} ${xhr.responseText.slice(0, 200)}`));
        };
        xhr.onerror = () => { this.xhrs.delete(xhr); reject(new Error(`part ${n}: network error`)); };
        xhr.onabort = () => { this.xhrs.delete(xhr); this.loaded.set(n, 0); reject(new Error("paused")); };
        xhr.send(blob);
      });
    const tryOnce = async () => {
      for (;;) {
        try { return await once(); } catch (err) {
          if (this.state !== "running" || ++attempt > RETRIES) throw err;
          this.loaded.set(n, 0);
          await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
        }
      }
    };
    return tryOnce();
  }

  pause() {
    this.state = "paused";
    for (const x of [...this.xhrs]) x.abort();
    this.row.querySelector(".pause").textContent = "Resume";
    this.row.querySelector(".figures").textContent += " · paused";
  }

  async resume() {
    this.state = "running";
    this.row.querySelector(".pause").textContent = "Pause";
    const s = await apiJSON(`/v1/uploads/${this.s.id}`);
    this.loaded.clear();
    this.started = performance.now();
    await this.run(s.missing_parts || []);
  }

  async cancel() {
    this.state = "cancelled";
    for (const x of [...this.xhrs]) x.abort();
    await api(`/v1/uploads/${this.s.id}`, { method: "DELETE" });
    this.row.querySelector(".controls").remove();
    this.row.querySelector(".result").textContent = "Cancelled; the stored parts were dropped.";
  }

  fail(err) {
    this.state = "failed";
    this.row.querySelector(".result").textContent = `Failed: ${err.message || err}. Choose the file again under "Unfinished uploads" to resume.`;
    this.row.querySelector(".result").className = "result error";
  }

  async finish(u) {
    this.state = "done";
    this.row.querySelector(".controls").remove();
    this.row.querySelector("progress").value = 100;
    const secs = (performance.now() - this.started) / 1000;
    this.row.querySelector(".figures").textContent = `100 % · ${bytes(u.size)} in ${duration(secs)}`;
    const result = this.row.querySelector(".result");
    result.textContent = `Uploaded ${bytes(u.size)}.`;
    announce(`${this.file.name} uploaded`);
    if (!u.will_run) { result.textContent += " No binding watches this place, so no job starts."; return; }
    result.textContent += ` Waiting for the ${u.will_run.pipeline} job…`;
    for (let i = 0; i < 120; i++) {
      const s = await apiJSON(`/v1/uploads/${u.id}`);
      if (s.job_id) {
        const a = document.createElement("a");
        a.href = `/ui/jobs/${s.job_id}`;
        a.textContent = `Open the ${u.will_run.pipeline} job`;
        a.className = "job-link";
        result.replaceChildren(`Uploaded ${bytes(u.size)}. `, a);
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    result.textContent = `Uploaded ${bytes(u.size)}; the job has not appeared yet — see the jobs list.`;
  }
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  banner("");
  const max = Number(form.dataset.max);
  for (const file of chosen) {
    if (file.size > max) { banner(`${file.name} is ${bytes(file.size)}, over the ${bytes(max)} limit.`); continue; }
    try {
      const s = await apiJSON("/v1/uploads", {
        method: "POST",
        body: { filename: file.name, size: file.size, content_type: file.type || null, prefix: destination(), last_modified: Math.round(file.lastModified) },
      });
      const t = new Transfer(file, s);
      t.run(Array.from({ length: s.parts }, (_, i) => i + 1));
    } catch (err) {
      banner(`${file.name}: ${err.message}`);
    }
  }
  chosen = [];
  input.value = "";
  willRun.replaceChildren();
});

// Resume after a reload: the same file (name, size, modification time) sends only its missing parts.
for (const el of document.querySelectorAll("input.resume")) {
  el.addEventListener("change", async () => {
    const file = el.files[0];
    if (!file) return;
    if (file.name !== el.dataset.name || String(file.size) !== el.dataset.size ||
        (el.dataset.modified && String(Math.round(file.lastModified)) !== el.dataset.modified)) {
      banner(`That is not the same file: expected ${el.dataset.name}, ${bytes(Number(el.dataset.size))}, unchanged since the upload started.`);
      return;
    }
    try {
      const s = await apiJSON(`/v1/uploads/${el.dataset.upload}`);
      el.closest("tr").remove();
      new Transfer(file, s).run(s.missing_parts || []);
    } catch (err) {
      banner(String(err.message || err));
    }
  });
}
