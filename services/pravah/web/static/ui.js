// What every page shares: API calls with the CSRF header (and one renewal of an expired
// session), relative times, sign-out, the live indicator, and announcements for screen readers.

export function csrf() {
  const m = document.cookie.match(/(?:^|; )pravah_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : "";
}

let renewing = null;
async function renew() {
  // one renewal at a time for the whole page; other calls wait for it
  renewing ??= fetch("/v1/auth/refresh", { method: "POST" }).finally(() => setTimeout(() => (renewing = null), 0));
  return (await renewing).ok;
}

export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const send = () =>
    fetch(path, {
      method,
      headers: { ...(body !== undefined ? { "Content-Type": "application/json" } : {}), "X-CSRF-Token": csrf(), ...headers },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  let r = await send();
  if (r.status === 401 && (await renew())) r = await send();
  if (r.status === 401) location.assign("/ui/sign-in?next=" + encodeURIComponent(location.pathname + location.search));
  return r;
}

export async function apiJSON(path, options) {
  const r = await api(path, options);
  const data = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) throw new Error((data && (typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail))) || `${r.status} ${r.statusText}`);
  return data;
}

export function announce(text) {
  const el = document.getElementById("announce");
  if (el) el.textContent = text;
}

export function banner(text) {
  const el = document.getElementById("banner");
  if (!el) return;
  el.textContent = text || "";
  el.hidden = !text;
}

export function relative(secs) {
  const future = secs < 0;
  secs = Math.abs(secs);
  let text = `${Math.floor(secs)} s`;
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["min", 60]]) {
    if (secs >= size) { text = `${Math.floor(secs / size)} ${unit}`; break; }
  }
  return future ? `in ${text}` : `${text} ago`;
}

export function timeTag(iso) {
  const t = document.createElement("time");
  t.dateTime = iso;
  t.title = new Date(iso).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  t.textContent = relative((Date.now() - Date.parse(iso)) / 1000);
  return t;
}

export function bytes(n) {
  if (n == null) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

export function duration(s) {
  if (s == null || !isFinite(s)) return "—";
  if (s < 120) return `${s.toFixed(0)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

const ICONS = { PENDING: "◷", RUNNING: "▶", SUCCEEDED: "✔", FAILED: "✖", CANCELLED: "⊘" };
export function setStatus(el, status) {
  if (!el) return;
  el.className = `status s-${status}`;
  el.dataset.status = status;
  el.innerHTML = "";
  const icon = document.createElement("span");
  icon.setAttribute("aria-hidden", "true");
  icon.textContent = ICONS[status] || "•";
  el.append(icon, ` ${status}`);
}

function setLive(state) {
  const el = document.getElementById("live");
  if (!el) return;
  el.hidden = false;
  el.dataset.state = state;
  el.querySelector(".text").textContent = { live: "live", reconnecting: "reconnecting…", ended: "final" }[state] || state;
  banner(state === "reconnecting" ? "Live updates paused — reconnecting. The page shows what it had." : "");
}

// One EventSource per page, with the live indicator. The browser reconnects by itself (with
// Last-Event-ID, so the server replays what was missed); when the server refused outright
// (an expired session), the session is renewed and the stream reopened.
export function live(url, handlers) {
  let source = null;
  let closed = false;
  const open = () => {
    source = new EventSource(url);
    source.onopen = () => setLive("live");
    for (const [event, fn] of Object.entries(handlers)) {
      source.addEventListener(event, (e) => fn(JSON.parse(e.data), e));
    }
    source.addEventListener("end", () => { closed = true; source.close(); setLive("ended"); });
    source.addEventListener("resync", () => location.reload());
    source.onerror = async () => {
      if (closed) return;
      setLive("reconnecting");
      if (source.readyState === EventSource.CLOSED) {
        // the server refused (an expired session: 401); renew and reopen
        await renew().catch(() => false);
        setTimeout(open, 2000);
      }
    };
  };
  open();
  return { close: () => { closed = true; source && source.close(); } };
}

function tick() {
  for (const t of document.querySelectorAll("time[datetime]")) {
    t.textContent = relative((Date.now() - Date.parse(t.dateTime)) / 1000);
  }
}
setInterval(tick, 30000);

document.getElementById("sign-out")?.addEventListener("click", async () => {
  await fetch("/v1/auth/sign-out", { method: "POST", headers: { "X-CSRF-Token": csrf() } });
  location.assign("/ui/sign-in");
});

// Buttons that call the API: <button data-post="/v1/…" data-confirm="…" data-done="reload|/path">
document.addEventListener("click", async (e) => {
  const b = e.target.closest("button[data-call]");
  if (!b) return;
  if (b.dataset.confirm && !confirm(b.dataset.confirm)) return;
  b.disabled = true;
  try {
    const body = b.dataset.body ? JSON.parse(b.dataset.body) : undefined;
    const out = await apiJSON(b.dataset.call, { method: b.dataset.method || "POST", body });
    announce(b.dataset.said || "Done.");
    const done = b.dataset.done || "reload";
    if (done === "reload") location.reload();
    else if (done.startsWith("/")) location.assign(done.replace("{id}", out && out.id ? out.id : ""));
  } catch (err) {
    banner(String(err.message || err));
  } finally {
    b.disabled = false;
  }
});
