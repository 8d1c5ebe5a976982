/* The Routing page: a connection's Test opens in a dialog (the Send Test flow); the connection
 * form shows only the chosen kind's fields. Without JavaScript, Test is a page of its own and
 * the form shows every kind's fields (only the chosen kind's are stored). */
(function () {
  "use strict";

  const dialog = document.getElementById("send-test-dialog");
  const body = document.getElementById("send-test-body");
  if (dialog && body) {
    const title = document.getElementById("send-test-title");
    let opener = null;
    document.addEventListener("htmx:beforeRequest", function (event) {
      const link = event.detail.elt;
      if (link && link.dataset && link.dataset.testTitle) {
        opener = link;
        title.textContent = link.dataset.testTitle;
      }
    });
    document.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target === body && !dialog.open) {
        dialog.showModal();
        const first = body.querySelector("[autofocus]");
        if (first) first.focus();
      }
    });
    dialog.addEventListener("close", function () {
      // Emptying the dialog also stops the progress block's long poll.
      body.innerHTML = "";
      if (opener && opener.isConnected) opener.focus();
    });
  }

  function showKind(form) {
    const checked = form.querySelector('input[name="kind"]:checked, input[type="hidden"][name="kind"]');
    const kind = checked ? checked.value : "";
    form.querySelectorAll(".kind-fields").forEach(function (group) {
      group.hidden = kind !== "" && group.dataset.kinds.split(" ").indexOf(kind) < 0;
    });
  }

  document.querySelectorAll("[data-connection-form]").forEach(function (form) {
    showKind(form);
    form.addEventListener("change", function (event) {
      if (event.target.name === "kind") showKind(form);
    });
  });
})();
