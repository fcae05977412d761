// In-app alerts on open pages: the bell polls its unread count; when it grows, a toast says so.
// Live pages (static/js/live.js) call window.leadtrackToast(text, url) for the leads they hear
// were assigned or escalated to me.
(() => {
  const LAST_COUNT = "leadtrack.unread";  // per tab, so a page change does not repeat a toast
  const SHOW_MS = 8000;

  // The live region is made with the first toast (an empty one on every page would be noise);
  // the toast goes in a moment later, so screen readers have seen the region and announce it.
  function withRegion(then) {
    const box = document.getElementById("toasts");
    if (box) { then(box); return; }
    const created = document.createElement("div");
    created.id = "toasts";
    created.className = "toasts";
    created.setAttribute("role", "status");
    created.setAttribute("aria-live", "polite");
    document.body.append(created);
    setTimeout(() => then(created), 100);
  }

  function showToast(subject, url) {
    const toast = document.createElement("div");
    toast.className = "toast";
    const link = document.createElement("a");
    link.href = url || document.getElementById("bell")?.getAttribute("href") || "/notifications";
    link.textContent = url ? subject : `New alert: ${subject}`;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => toast.remove());
    toast.append(link, close);
    withRegion((box) => {
      box.append(toast);
      setTimeout(() => toast.remove(), SHOW_MS);
    });
  }

  window.leadtrackToast = showToast;

  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target?.id !== "bell-slot") return;
    const bell = event.detail.target.querySelector("#bell");
    if (!bell || bell.dataset.unread === "") return;
    const unread = Number(bell.dataset.unread);
    const before = sessionStorage.getItem(LAST_COUNT);
    sessionStorage.setItem(LAST_COUNT, String(unread));
    if (before !== null && unread > Number(before)) showToast(bell.dataset.newest || "see your notifications");
  });
})();
