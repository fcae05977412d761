// The live board. When live.js hears that a lead changed, the card is fetched again as the
// server renders it for this viewer and these filters (/board/cards/<id>?<filters>) and put
// in its column by urgency (data-rank) — or removed when it left this board. Cards move by
// drag and drop or by their "Move to" menu; a refused move puts the card back and says why.
(() => {
  const board = document.getElementById("board");
  if (!board) return;

  const csrf = () => JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
  const message = document.getElementById("board-message");

  function say(text) {
    if (!message) return;
    message.textContent = text;
    message.hidden = !text;
    clearTimeout(say.timer);
    if (text) say.timer = setTimeout(() => say(""), 8000);
  }

  function containerFor(card) {
    const content = document.getElementById("board-content");
    if (content.dataset.view === "table") return content.querySelector("tbody.cards");
    return content.querySelector(`.board-column[data-column="${card.dataset.column}"] .cards`);
  }

  function adjustCount(container, delta) {
    const counter = container?.closest(".board-column")?.querySelector(".column-count");
    if (counter) counter.textContent = String(Math.max(0, Number(counter.textContent) + delta));
  }

  // Put `fresh` (the server's card, or null) where lead `id` belongs.
  function place(id, fresh) {
    const old = document.getElementById(`card-${id}`);
    const from = old?.parentElement;
    const into = fresh ? containerFor(fresh) : null;
    if (old && from !== into) { old.remove(); adjustCount(from, -1); }
    if (!fresh) return;
    if (!into) return;  // its column is not shown
    const next = [...into.children].find((c) => c !== old && c.dataset.rank > fresh.dataset.rank);
    if (old && from === into) old.replaceWith(fresh);
    else fresh.classList.add("card-arrived");
    if (!old || from !== into) adjustCount(into, +1);
    if (fresh.parentElement !== into || fresh.nextElementSibling !== (next || null)) {
      into.insertBefore(fresh, next || null);
    }
    htmx.process(fresh);
    document.dispatchEvent(new CustomEvent("leadtrack:placed"));
  }

  function parse(html) {
    const holder = document.createElement(board.querySelector("tbody.cards") ? "tbody" : "div");
    holder.innerHTML = html.trim();
    return holder.firstElementChild;
  }

  async function refresh(id) {
    const response = await fetch(`${board.dataset.cardUrl}${id}${location.search}`);
    if (response.ok) place(id, parse(await response.text()));
  }

  let counterTimer = null;
  function refreshCounters() {
    clearTimeout(counterTimer);
    counterTimer = setTimeout(() => htmx.trigger("#board-counters", "refresh"), 300);
  }

  document.addEventListener("leadtrack:lead", (event) => {
    refresh(event.detail.lead);
    refreshCounters();
  });
  document.addEventListener("leadtrack:reset", () => {
    htmx.ajax("GET", location.href, { target: "#board-content", swap: "outerHTML" });
    refreshCounters();
  });

  // -- moving a card ----------------------------------------------------------------------

  const dialog = document.getElementById("close-dialog");

  function askReason(card, statusName) {
    return new Promise((resolve) => {
      const form = dialog.querySelector("form");
      form.reset();
      dialog.querySelector("[data-lead-name]").textContent = card.querySelector("a")?.textContent || "the lead";
      dialog.querySelector("[data-status-name]").textContent = statusName;
      const finish = (reason) => { dialog.close(); resolve(reason); };
      form.onsubmit = (event) => { event.preventDefault(); finish(form.reason.value.trim()); };
      dialog.querySelector("[data-cancel]").onclick = () => finish(null);
      dialog.oncancel = () => resolve(null);
      dialog.showModal();
      form.reason.focus();
    });
  }

  async function move(card, statusId) {
    const option = card.querySelector(`[data-move] option[value="${statusId}"]`);
    const id = card.dataset.lead;
    if (!option || String(statusId) === card.dataset.column) return;
    let reason = "";
    if (["won", "lost", "dead"].includes(option.dataset.category)) {
      reason = await askReason(card, option.textContent);
      if (reason === null) { putBack(card); return; }
    }
    const body = new URLSearchParams({ status: statusId, reason });
    const response = await fetch(`${board.dataset.moveUrl}${id}/move${location.search}`, {
      method: "POST", body, headers: { "X-CSRFToken": csrf() },
    });
    if (response.ok) {
      say("");
      place(id, parse(await response.text()));
      refreshCounters();
      return;
    }
    const answer = await response.json().catch(() => ({}));
    putBack(card);
    say(answer.error || "That move did not work. Try again.");
  }

  function putBack(card) {
    const select = card.querySelector("[data-move]");
    if (select) select.value = card.dataset.column;
    refresh(card.dataset.lead);  // the server's word on where it belongs now
  }

  board.addEventListener("change", (event) => {
    const select = event.target.closest("[data-move]");
    if (select) move(select.closest("[data-lead]"), select.value);
  });

  board.addEventListener("dragstart", (event) => {
    const card = event.target.closest?.(".lead-card");
    if (!card) return;
    event.dataTransfer.setData("text/plain", card.dataset.lead);
    event.dataTransfer.effectAllowed = "move";
    card.classList.add("dragging");
  });
  board.addEventListener("dragend", (event) => {
    event.target.closest?.(".lead-card")?.classList.remove("dragging");
    board.querySelectorAll(".drop-target").forEach((c) => c.classList.remove("drop-target"));
  });
  board.addEventListener("dragover", (event) => {
    const column = event.target.closest(".board-column");
    if (!column) return;
    event.preventDefault();
    board.querySelectorAll(".drop-target").forEach((c) => c !== column && c.classList.remove("drop-target"));
    column.classList.add("drop-target");
  });
  board.addEventListener("drop", (event) => {
    const column = event.target.closest(".board-column");
    if (!column) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    const card = document.getElementById(`card-${event.dataTransfer.getData("text/plain")}`);
    if (!card || card.dataset.column === column.dataset.column) return;
    card.classList.add("moving");  // until the server answers
    move(card, column.dataset.column);
  });
})();
