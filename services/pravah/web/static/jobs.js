// The jobs list: one stream for the page (/v1/events), never a poll per row. Rows on the page
// change status and progress in place; jobs not on it show a "new jobs" link.
import { announce, live, setStatus } from "./ui.js";

const table = document.getElementById("jobs");
const firstPage = table?.dataset.firstPage === "yes";

function row(id) {
  return document.getElementById(`job-${id}`);
}

function onStatus(d) {
  const tr = row(d.job_id);
  if (!tr) {
    if (firstPage) document.getElementById("new-jobs").hidden = false;
    return;
  }
  setStatus(tr.querySelector(".status"), d.status);
  const cell = tr.querySelector(".progress-cell");
  if (d.status === "RUNNING") {
    if (!cell.querySelector("progress")) {
      const p = document.createElement("progress");
      p.max = 100;
      p.setAttribute("aria-label", `progress of ${tr.querySelector(".key").textContent}`);
      const pct = document.createElement("span");
      pct.className = "pct";
      cell.replaceChildren(p, " ", pct);
    }
  } else {
    cell.replaceChildren();
  }
  const dl = tr.querySelector(".dl");
  if (d.status === "SUCCEEDED" && !dl.querySelector("a")) {
    const a = document.createElement("a");
    a.className = "button";
    a.href = `/v1/jobs/${d.job_id}/outputs/0/download`;
    a.textContent = "Download";
    a.setAttribute("aria-label", `Download the output of ${tr.querySelector(".key").textContent}`);
    dl.append(a);
  }
  if (["SUCCEEDED", "FAILED", "CANCELLED"].includes(d.status)) {
    announce(`${tr.querySelector(".key").textContent}: ${d.status}`);
  }
}

function onProgress(d) {
  const tr = row(d.job_id);
  const bar = tr?.querySelector("progress");
  if (!bar || d.percent == null) return;
  bar.value = d.percent;
  tr.querySelector(".pct").textContent = `${d.percent} %`;
}

if (table) live("/v1/events", { status: onStatus, progress: onProgress });
