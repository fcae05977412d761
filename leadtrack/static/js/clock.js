// Countdowns to deadlines (lead page, board, workspace). The server renders the deadline
// (data-deadline), its own time (data-now) and, where a rule warns, the warning time
// (data-warn); this ticks the text every second in the browser — no requests — corrected
// for a browser clock that is off: "4:59 left", amber from the warning (or under 5 minutes
// without one), then red and counting up past the deadline: "0:12 over".
// Elements with data-since say how long ago something happened: "12 min ago".
// Elements swapped in by htmx or added live tick too.
(() => {
  const SOON_MS = 5 * 60 * 1000;

  function digits(total) {
    const days = Math.floor(total / 86400);
    const hours = Math.floor((total % 86400) / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const seconds = total % 60;
    const two = (n) => String(n).padStart(2, "0");
    if (days) return `${days} d ${two(hours)}:${two(minutes)}:${two(seconds)}`;
    if (hours) return `${hours}:${two(minutes)}:${two(seconds)}`;
    return `${minutes}:${two(seconds)}`;
  }

  function tick() {
    document.querySelectorAll("[data-deadline]").forEach((element) => {
      const deadline = Date.parse(element.dataset.deadline);
      if (Number.isNaN(deadline)) return;
      if (element.dataset.skew === undefined) {  // server time minus browser time, once
        const serverNow = Date.parse(element.dataset.now);
        element.dataset.skew = String(Number.isNaN(serverNow) ? 0 : serverNow - Date.now());
      }
      const left = deadline - (Date.now() + Number(element.dataset.skew));
      const text = left > 0
        ? `${digits(Math.ceil(left / 1000))} left`
        : `${digits(Math.floor(-left / 1000))} over`;
      if (element.textContent !== text) element.textContent = text;
      const warn = Date.parse(element.dataset.warn || "");
      const soon = Number.isNaN(warn)
        ? left <= SOON_MS
        : Date.now() + Number(element.dataset.skew) >= warn;
      const tone = left <= 0 ? "over" : (soon ? "soon" : "ok");
      for (const name of ["ok", "soon", "over"]) {
        element.classList.toggle(`tone-${name}`, name === tone);
      }
    });
  }

  function ago(element) {
    const since = Date.parse(element.dataset.since);
    if (Number.isNaN(since)) return;
    const seconds = Math.max(0, Math.floor((Date.now() - since) / 1000));
    let text = "just now";
    if (seconds >= 86400) text = `${Math.floor(seconds / 86400)} d ago`;
    else if (seconds >= 3600) text = `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min ago`;
    else if (seconds >= 60) text = `${Math.floor(seconds / 60)} min ago`;
    if (element.textContent !== text) element.textContent = text;
  }

  function tickAll() {
    tick();
    document.querySelectorAll("[data-since]").forEach(ago);
  }

  document.addEventListener("DOMContentLoaded", tickAll);
  document.addEventListener("leadtrack:placed", tickAll);
  setInterval(tickAll, 1000);
})();
