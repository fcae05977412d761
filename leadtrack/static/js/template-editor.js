// Alert template editor: a placeholder button inserts {{ name }} at the cursor of the
// subject or text field last used, then fires "input" so the live preview follows.
document.addEventListener("DOMContentLoaded", () => {
  const fields = [...document.querySelectorAll("[data-template-field]")];
  if (!fields.length) return;
  let last = document.getElementById("body") || fields[0];
  fields.forEach((field) => field.addEventListener("focus", () => { last = field; }));

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-insert]");
    if (!button) return;
    const text = `{{ ${button.dataset.insert} }}`;
    const start = last.selectionStart ?? last.value.length;
    const end = last.selectionEnd ?? start;
    last.setRangeText(text, start, end, "end");
    last.focus();
    last.dispatchEvent(new Event("input", { bubbles: true }));
  });
});
