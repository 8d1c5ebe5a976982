/* Small helpers every dashboard page uses: secret rows, dialogs, local/UTC times. */
(function () {
  "use strict";

  /** Add / remove rows of new secrets inside ``root`` (the Secrets panel's markup). */
  function wireSecrets(root, onChange) {
    const rows = root.querySelector("#secret-new-rows");
    const addSecret = root.querySelector("#add-secret");
    const rowTemplate = root.querySelector("#secret-row-template");
    if (!rows || !addSecret || !rowTemplate || addSecret.dataset.wired) return;
    addSecret.dataset.wired = "1";
    let rowCounter = 1000;

    function wireRow(row) {
      const remove = row.querySelector(".remove-secret-row");
      if (!remove) return;
      remove.hidden = false;
      remove.addEventListener("click", function () {
        const next = row.nextElementSibling || row.previousElementSibling;
        if (rows.children.length > 1) {
          row.remove();
        } else {
          row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
        }
        if (onChange) onChange();
        const focusTarget = next ? next.querySelector("input") : addSecret;
        (focusTarget || addSecret).focus();
      });
    }

    addSecret.hidden = false;
    rows.querySelectorAll(".secret-new-row").forEach(wireRow);
    addSecret.addEventListener("click", function () {
      rowCounter += 1;
      const html = rowTemplate.innerHTML.replace(/__n__/g, String(rowCounter));
      const holder = document.createElement("div");
      holder.innerHTML = html.trim();
      const row = holder.firstElementChild;
      rows.appendChild(row);
      wireRow(row);
      row.querySelector("input").focus();
    });
  }

  /** Show <time data-utc> elements in local time or UTC, as the page's toggle says. */
  function formatTime(iso, mode) {
    const date = new Date(iso);
    if (isNaN(date)) return iso;
    const pad = function (n, w) { return String(n).padStart(w || 2, "0"); };
    if (mode === "utc") {
      return date.getUTCFullYear() + "-" + pad(date.getUTCMonth() + 1) + "-" +
        pad(date.getUTCDate()) + " " + pad(date.getUTCHours()) + ":" + pad(date.getUTCMinutes()) +
        ":" + pad(date.getUTCSeconds()) + "." + pad(date.getUTCMilliseconds(), 3) + " UTC";
    }
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " +
      pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds()) + "." +
      pad(date.getMilliseconds(), 3);
  }

  function timeMode() {
    try { return window.localStorage.getItem("dashboard.time") || "local"; } catch (e) { return "local"; }
  }

  function renderTimes(root) {
    const mode = timeMode();
    (root || document).querySelectorAll("time[data-utc]").forEach(function (el) {
      el.textContent = formatTime(el.getAttribute("datetime"), mode);
    });
  }

  function setTimeMode(mode) {
    try { window.localStorage.setItem("dashboard.time", mode); } catch (e) { /* private mode */ }
    renderTimes(document);
  }

  document.addEventListener("click", function (event) {
    const closer = event.target.closest("[data-close-dialog]");
    if (!closer) return;
    const dialog = closer.closest("dialog");
    if (!dialog || !dialog.open) return;
    event.preventDefault();
    dialog.close();
  });

  /* A form with data-confirm-dialog="<id>" asks in that dialog first; the dialog's confirm
   * button submits it. Without JavaScript the form submits directly. */
  document.addEventListener("submit", function (event) {
    const form = event.target;
    const id = form.dataset && form.dataset.confirmDialog;
    if (!id || form.dataset.confirmed) return;
    const dialog = document.getElementById(id);
    if (!dialog) return;
    event.preventDefault();
    dialog.showModal();
    const ok = dialog.querySelector("[data-confirm]");
    ok.onclick = function () {
      form.dataset.confirmed = "1";
      dialog.close();
      form.requestSubmit();
    };
  });

  /** The Local time / UTC switch (hidden without JavaScript, where times stay in UTC). Wired
   * again when htmx swaps a block that holds it (the message page refreshes itself). */
  function wireTimeToggles(root) {
    const boxes = Array.prototype.slice.call((root || document).querySelectorAll(".time-toggle"));
    if (root && root.matches && root.matches(".time-toggle")) boxes.push(root);
    boxes.forEach(function (box) {
      if (box.dataset.wired) return;
      box.dataset.wired = "1";
      box.hidden = false;
      const current = box.querySelector('input[value="' + timeMode() + '"]');
      if (current) current.checked = true;
      box.addEventListener("change", function (event) { setTimeMode(event.target.value); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wireTimeToggles(document);
    renderTimes(document);
  });
  document.addEventListener("htmx:load", function (event) {
    wireTimeToggles(event.target);
    renderTimes(event.target);
  });

  /* A block that waits for the server's next change (data-long-poll) asks again after a
   * failed request (a restarted server, a dropped connection) instead of stopping. */
  function askAgainLater(event) {
    const el = event.detail && event.detail.elt;
    if (!el || !el.hasAttribute || !el.hasAttribute("data-long-poll")) return;
    window.setTimeout(function () {
      if (el.isConnected && window.htmx) window.htmx.trigger(el, "poll-again");
    }, 2000);
  }
  document.addEventListener("htmx:sendError", askAgainLater);
  document.addEventListener("htmx:responseError", askAgainLater);

  /* <span data-countdown="4">4</span> counts down to 0 once a second ("retrying in 3 s"). */
  function startCountdowns(root) {
    (root || document).querySelectorAll("[data-countdown]").forEach(function (el) {
      if (el.dataset.counting) return;
      el.dataset.counting = "1";
      const end = Date.now() + Number(el.dataset.countdown) * 1000;
      const timer = window.setInterval(function () {
        if (!el.isConnected) { window.clearInterval(timer); return; }
        const left = Math.max(0, Math.round((end - Date.now()) / 1000));
        el.textContent = String(left);
        if (!left) window.clearInterval(timer);
      }, 1000);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { startCountdowns(document); });
  document.addEventListener("htmx:load", function (event) { startCountdowns(event.target); });

  window.Dashboard = {
    wireSecrets: wireSecrets,
    renderTimes: renderTimes,
    setTimeMode: setTimeMode,
    timeMode: timeMode,
    formatTime: formatTime,
  };
})();
