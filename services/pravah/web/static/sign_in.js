// Sign-in form → POST /v1/auth/sign-in with cookies, then on to `next`.
const form = document.getElementById("sign-in");
const error = document.getElementById("sign-in-error");
if (form) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const r = await fetch("/v1/auth/sign-in", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email: form.email.value, password: form.password.value, cookie: true }),
      });
      if (r.ok) {
        location.assign(form.dataset.next || "/ui/jobs");
        return;
      }
      const body = await r.json().catch(() => ({}));
      let text = typeof body.detail === "string" ? body.detail : "Sign-in failed.";
      if (r.status === 429 && r.headers.get("Retry-After")) text += ` Try again in ${r.headers.get("Retry-After")} s.`;
      error.textContent = text;
      error.hidden = false;
      form.password.select();
    } catch (err) {
      error.textContent = `Cannot reach the server: ${err}`;
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
}
