// LeadTrack's small client: htmx settings and a few keyboard-friendly niceties.
document.addEventListener("DOMContentLoaded", () => {
  if (window.htmx) {
    // Swap 422 fragments (field errors) like successes; other errors are not swapped.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "422", swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
    ];
  }

  // A form submits once: the button is disabled while the request is on its way.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.matches("[hx-post], [hx-get]")) return;  // htmx forms stay usable
    const button = form.querySelector("button[type=submit]");
    if (!button) return;
    if (form.dataset.submitted) { event.preventDefault(); return; }
    form.dataset.submitted = "1";
    button.setAttribute("aria-busy", "true");
  });

  document.addEventListener("click", (event) => {
    const target = event.target.closest("[data-copy]");
    if (!target) return;
    const text = document.querySelector(target.dataset.copy)?.textContent ?? "";
    navigator.clipboard?.writeText(text).then(() => { target.textContent = "Copied"; });
  });
});

document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  const message = status === 403 ? "You are not allowed to do this." :
    status === 429 ? "Too many requests: wait a moment." : "That did not work. Reload and try again.";
  const note = document.createElement("p");
  note.className = "flash flash-error";
  note.setAttribute("role", "alert");
  note.textContent = message;
  document.querySelector("main")?.prepend(note);
});
