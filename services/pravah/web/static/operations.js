// Operations: the tiles refresh from /v1/ops/summary?windows=false every 5 s (one light request,
// not one per number; the window table and charts stay as rendered); the add-user form posts to /v1/users.
import { apiJSON, banner, duration } from "./ui.js";

async function refresh() {
  try {
    const s = await apiJSON("/v1/ops/summary?windows=false");
    const set = (k, v) => { const el = document.querySelector(`#tiles [data-k="${k}"]`); if (el) el.textContent = v; };
    set("running", s.jobs.RUNNING);
    set("runnable", s.runnable);
    set("retry_waiting", s.retry_waiting);
    set("oldest", duration(s.oldest_runnable_seconds));
    set("succeeded", s.jobs.SUCCEEDED);
    set("failed", s.jobs.FAILED);
    set("open_uploads", s.open_uploads);
    set("dead_letters_24h", s.dead_letters_24h);
  } catch (err) {
    banner(`Live numbers paused: ${err.message}`);
  }
}
if (document.getElementById("tiles")) setInterval(refresh, 5000);

document.getElementById("new-user")?.addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  try {
    await apiJSON("/v1/users", { method: "POST", body: { email: f.email.value, tenant: f.tenant.value, role: f.role.value, password: f.password.value } });
    location.reload();
  } catch (err) {
    banner(String(err.message || err));
  }
});
