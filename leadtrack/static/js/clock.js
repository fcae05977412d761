// The response countdown on a lead page. The server renders the deadline (data-deadline) and
// its own time (data-now); this ticks the text every second in the browser — no requests —
// corrected for a browser clock that is off: "4:59 left", amber under 5 minutes, then red
// and counting up past the deadline: "0:12 over". Elements swapped in by htmx tick too.
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
      const tone = left <= 0 ? "over" : (left <= SOON_MS ? "soon" : "ok");
      for (const name of ["ok", "soon", "over"]) {
        element.classList.toggle(`tone-${name}`, name === tone);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", tick);
  setInterval(tick, 1000);
})();
