// Live events for a page that asks for them: an element with data-live-url (the SSE stream),
// data-poll-url (the same events as JSON) and data-last-event (the newest event when the page
// was rendered, so nothing between render and connect is missed).
//
// Each event is re-dispatched on document as "leadtrack:lead" ({lead, kinds, alert}); the
// board and the workspace decide what to refresh. "leadtrack:reset" means: reload everything.
// The browser resumes after a dropped connection with Last-Event-ID; if the stream is refused
// (too many open, a proxy that buffers) the page polls every few seconds instead.
// An event with `alert` (a lead assigned or escalated to me) shows a toast and, when the user
// allowed it, a browser notification and a short sound.
(() => {
  const POLL_MS = 5000;
  const GIVE_UP_AFTER = 3;  // refused streams in a row before polling

  function start(host) {
    let last = host.dataset.lastEvent || "";
    let refused = 0;
    let source = null;
    const status = document.getElementById("live-status");

    const show = (state, text) => {
      if (!status) return;
      status.dataset.state = state;
      status.textContent = text;
    };

    const deliver = (message, id) => {
      if (id) last = id;
      document.dispatchEvent(new CustomEvent("leadtrack:lead", { detail: message }));
      if (message.alert) alertMe(message);
    };

    const reset = (id) => {
      if (id) last = id;
      document.dispatchEvent(new CustomEvent("leadtrack:reset"));
    };

    function connect() {
      const url = `${host.dataset.liveUrl}?last=${encodeURIComponent(last)}`;
      source = new EventSource(url);
      source.addEventListener("open", () => { refused = 0; show("live", "Live"); });
      source.addEventListener("lead", (event) => deliver(JSON.parse(event.data), event.lastEventId));
      source.addEventListener("reset", (event) => reset(event.lastEventId));
      source.addEventListener("error", () => {
        if (source.readyState === EventSource.CONNECTING) {  // the browser retries by itself
          show("reconnecting", "Reconnecting…");
          return;
        }
        source.close();  // refused outright: try again a few times, then poll
        refused += 1;
        if (refused >= GIVE_UP_AFTER) poll();
        else setTimeout(connect, 2000 * refused);
      });
    }

    async function poll() {
      show("polling", "Updating every few seconds");
      try {
        const response = await fetch(`${host.dataset.pollUrl}?last=${encodeURIComponent(last)}`,
                                     { headers: { Accept: "application/json" } });
        if (response.ok) {
          const answer = await response.json();
          if (answer.reset) reset(answer.last);
          answer.events.forEach((message) => deliver(message, message.id));
          last = answer.last || last;
        }
      } catch (error) {
        show("offline", "Offline — retrying");
      }
      setTimeout(poll, POLL_MS);
    }

    if (window.EventSource) connect(); else poll();
  }

  // -- "a lead was assigned to you" -----------------------------------------------------

  function alertMe(message) {
    const url = `/leads/${message.lead}`;
    if (window.leadtrackToast) window.leadtrackToast(message.alert, url);
    if (localStorage.getItem("leadtrack.sound") === "on") beep();
    if (window.Notification && Notification.permission === "granted" && document.hidden) {
      const note = new Notification("LeadTrack", { body: message.alert, tag: `lead-${message.lead}` });
      note.onclick = () => { window.focus(); location.href = url; };
    }
  }

  function beep() {
    try {
      const audio = new AudioContext();
      const tone = audio.createOscillator();
      const volume = audio.createGain();
      tone.frequency.value = 880;
      volume.gain.setValueAtTime(0.15, audio.currentTime);
      volume.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
      tone.connect(volume).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.4);
    } catch (error) { /* no audio here: the toast is enough */ }
  }

  // Buttons to opt in: data-enable-notifications asks the browser; data-toggle-sound flips
  // a per-browser setting. Both say what they are set to.
  function wireOptIns() {
    document.querySelectorAll("[data-enable-notifications]").forEach((button) => {
      const label = () => {
        const state = window.Notification ? Notification.permission : "unsupported";
        button.textContent = { granted: "Desktop alerts on", denied: "Desktop alerts blocked",
                               unsupported: "No desktop alerts here" }[state] || "Turn on desktop alerts";
        button.disabled = state !== "default";
      };
      button.addEventListener("click", () => Notification.requestPermission().then(label));
      label();
    });
    document.querySelectorAll("[data-toggle-sound]").forEach((button) => {
      const label = () => {
        const on = localStorage.getItem("leadtrack.sound") === "on";
        button.textContent = on ? "Sound on" : "Sound off";
        button.setAttribute("aria-pressed", String(on));
      };
      button.addEventListener("click", () => {
        const on = localStorage.getItem("leadtrack.sound") === "on";
        localStorage.setItem("leadtrack.sound", on ? "off" : "on");
        label();
        if (!on) beep();
      });
      label();
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    wireOptIns();
    const host = document.querySelector("[data-live-url]");
    if (host) start(host);
  });
})();
