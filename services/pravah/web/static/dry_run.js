// Dry run on a pipeline's page: the definition in the textarea (edited or not) runs on one
// sample object; the page's route parses the YAML and hands it to the same code as
// POST /v1/dry-runs. The answer shows the verdict, counts, schema and first rows.
import { api, bytes } from "./ui.js";

const form = document.getElementById("dry-run");
const out = document.getElementById("dry-result");

function el(tag, text, attrs = {}) {
  const e = document.createElement(tag);
  if (text != null) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function show(r) {
  out.replaceChildren();
  const head = el("p", null, { class: r.succeeded ? "ok" : "error", id: "dry-verdict" });
  head.textContent = r.succeeded
    ? `✔ ${r.pipeline} @ ${r.version.slice(0, 12)} (${r.source}) would succeed on ${r.bucket}/${r.key} (${bytes(r.input_size)}) in ${r.duration_ms} ms.`
    : `✖ It would fail: ${r.error.type}: ${r.error.message}` + (r.error.line ? ` (line ${r.error.line})` : "") + (r.error.byte_offset != null ? ` at byte ${r.error.byte_offset}` : "");
  out.append(head);
  const counts = el("p", `rows in ${r.rows_in ?? "—"} · rows out ${r.rows_out ?? "—"} · filtered ${r.rows_filtered ?? "—"} · rejected ${r.rows_rejected ?? "—"}`
    + (r.output ? ` · output ${bytes(r.output.size)}, scratch copy until ${r.output.expires_at}` : ""));
  out.append(counts);
  if (r.columns.length) {
    const t = el("table", null, { id: "dry-rows" });
    t.append(el("caption", `First ${r.rows.length} row(s)${r.complete ? " (all of them)" : ""}; schema in the header`));
    const hr = t.createTHead().insertRow();
    for (const c of r.columns) { const th = el("th", `${c.name}`, { scope: "col" }); th.append(el("br"), el("small", c.type)); hr.append(th); }
    const body = t.createTBody();
    for (const row of r.rows) { const tr = body.insertRow(); for (const v of row) tr.append(el("td", v == null ? "null" : String(v))); }
    out.append(t);
  } else if (r.binary) {
    out.append(el("p", "The output is binary: no preview."));
  }
}

form?.addEventListener("submit", async (e) => {
  e.preventDefault();
  const [bucket, ...rest] = form.object.value.trim().split("/");
  out.textContent = "Running…";
  const r = await api("/ui/pipelines/dry-run", { method: "POST", body: { bucket, key: rest.join("/"), pipeline: form.dataset.pipeline, spec_yaml: form.spec.value } });
  const data = await r.json().catch(() => null);
  if (!r.ok) {
    out.replaceChildren(el("p", typeof data?.detail === "string" ? data.detail
      : (data?.detail || []).map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ") || `${r.status}`, { class: "error", role: "alert" }));
    return;
  }
  show(data);
});
