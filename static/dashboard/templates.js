/* The Phone Templates page: Try opens its dialog; leaving with unsaved edits asks first. */
(function () {
  "use strict";

  const form = document.getElementById("template-form");
  if (!form) return;
  const dialog = document.getElementById("send-test-dialog");
  const body = document.getElementById("send-test-body");
  const initial = new FormData(form);
  let submitting = false;

  function dirty() {
    const now = new FormData(form);
    for (const [key, value] of now.entries()) {
      if (key !== "csrfmiddlewaretoken" && initial.get(key) !== value) return true;
    }
    return initial.has("enabled") !== now.has("enabled");
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === body && !dialog.open) {
      dialog.showModal();
      const first = body.querySelector("[autofocus]");
      if (first) first.focus();
    }
  });
  dialog.addEventListener("close", function () { body.innerHTML = ""; });

  form.addEventListener("submit", function () { submitting = true; });
  window.addEventListener("beforeunload", function (event) {
    if (submitting || !dirty()) return;
    event.preventDefault();
    event.returnValue = "";
  });
})();
