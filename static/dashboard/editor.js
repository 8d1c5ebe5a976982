/* The expanded Actions editor: Monaco over the code <textarea>, the status line ("Unsaved
 * changes" while the editor differs from the saved draft), a warning before leaving with unsaved
 * changes, Ctrl/Cmd+S to save the draft, a Problems list, side-panel tabs, and server errors
 * (from Save/Deploy or a test run) marked on their line. Everything posts as a plain form too.
 */
(function () {
  "use strict";

  const form = document.getElementById("editor-form");
  if (!form) return;
  const textarea = document.getElementById("id_code");
  const host = document.getElementById("code-editor");
  let savedCode = JSON.parse(document.getElementById("saved-code").textContent);
  let editor = null;
  let monaco = null;
  let code = null;
  let pendingCode = null;
  let leaving = false;

  /* ---- Status line and unsaved changes ------------------------------------------------------ */

  function secretsTouched() {
    let touched = false;
    form.querySelectorAll('#secrets-block input[type="password"], #secrets-block input[name="new_secret_name"]')
      .forEach(function (input) { if (input.value) touched = true; });
    form.querySelectorAll('#secrets-block input[name="delete_secret"]:checked')
      .forEach(function () { touched = true; });
    return touched;
  }

  function dependenciesTouched() {
    let touched = false;
    form.querySelectorAll("#dependencies-block input[type=text]").forEach(function (input) {
      if (input.value !== input.defaultValue) touched = true;
    });
    form.querySelectorAll("#dependencies-block input[type=checkbox]:checked")
      .forEach(function () { touched = true; });
    return touched;
  }

  function isDirty() {
    return textarea.value !== savedCode || secretsTouched() || dependenciesTouched();
  }

  function updateStatus() {
    const status = document.getElementById("editor-status");
    if (!status) return;
    const text = status.querySelector(".status-text");
    if (isDirty()) {
      status.classList.add("status-dirty");
      text.textContent = "Unsaved changes";
    } else {
      status.classList.remove("status-dirty");
      text.textContent = status.dataset.label;
    }
  }

  form.addEventListener("input", updateStatus);
  form.addEventListener("change", updateStatus);

  window.addEventListener("beforeunload", function (event) {
    if (leaving || !isDirty()) return;
    event.preventDefault();
    event.returnValue = "";
  });
  // A plain form submit (no htmx) reloads the page on purpose.
  form.addEventListener("submit", function () { leaving = true; });

  // Links away from the editor ask in a dialog of ours (beforeunload's own prompt is the
  // fallback for the address bar and closing the tab).
  const leaveDialog = document.getElementById("leave-dialog");
  const leaveAnyway = document.getElementById("leave-anyway");
  document.addEventListener("click", function (event) {
    const link = event.target.closest("a[href]");
    if (!link || link === leaveAnyway || link.target || event.defaultPrevented) return;
    if (link.getAttribute("href").charAt(0) === "#" || !isDirty()) return;
    event.preventDefault();
    leaveAnyway.href = link.href;
    leaveDialog.showModal();
  });
  leaveAnyway.addEventListener("click", function () { leaving = true; });

  /* ---- Save Draft / Deploy over htmx ------------------------------------------------------- */

  document.body.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt === form) pendingCode = textarea.value;
  });
  document.body.addEventListener("editor:saved", function () {
    if (pendingCode !== null) savedCode = pendingCode;
    pendingCode = null;
    updateStatus();
    window.Dashboard.wireSecrets(document.getElementById("secrets-block"), updateStatus);
    markServerError();
  });
  document.addEventListener("htmx:load", function (event) {
    const target = event.target;
    if (target.id === "error-code") window.requestAnimationFrame(markServerError);
    if (target.id === "test-run" && target.dataset.line) {
      markAt(parseInt(target.dataset.line, 10), parseInt(target.dataset.column || "1", 10),
        (target.querySelector(".outcome-reason") || target).textContent.replace(/^:\s*/, ""));
    }
    if (target.id === "editor-status") updateStatus();

  });

  // A new test run: bring its result into view (its polls replace it in place, without scrolling).
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "test-result") {
      event.detail.target.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  });

  /* ---- Test panel: a new sample event replaces one the admin edited only if they agree ------ */

  const replaceDialog = document.getElementById("replace-event-dialog");
  const pickers = Array.prototype.slice.call(document.querySelectorAll("#sample-type, #sample-method"));
  // What each picker's sample in the event box was made for, to go back to on "Keep my event".
  pickers.forEach(function (picker) { picker.dataset.shown = picker.value; });
  document.body.addEventListener("htmx:confirm", function (event) {
    const picker = event.detail.elt;
    if (pickers.indexOf(picker) < 0) return;
    const eventBox = document.getElementById("test-event");
    // The server wrote the sample as the box's default value: untouched, it is replaced silently.
    if (!eventBox || eventBox.value === eventBox.defaultValue || !replaceDialog) {
      picker.dataset.shown = picker.value;
      return;
    }
    event.preventDefault();
    let replacing = false;
    document.getElementById("replace-event").onclick = function () {
      replacing = true;
      replaceDialog.close();
    };
    replaceDialog.onclose = function () {
      if (replacing) {
        picker.dataset.shown = picker.value;
        event.detail.issueRequest(true);
      } else {
        picker.value = picker.dataset.shown;
      }
    };
    replaceDialog.showModal();
  });

  /* ---- Monaco ------------------------------------------------------------------------------ */

  function markAt(line, column, message) {
    if (code) code.markError(line, column, message);
  }

  function markServerError() {
    if (code) code.markSlot();
  }

  function renderProblems() {
    const box = document.getElementById("problems");
    const list = document.getElementById("problem-list");
    const problems = window.PhoneProviderCode.problems(monaco, editor);
    list.innerHTML = "";
    problems.forEach(function (p) {
      const item = document.createElement("li");
      item.className = "problem problem-" + p.severity;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "problem-button";
      button.textContent = (p.severity === "error" ? "Error" : "Warning") + " · line " + p.line +
        ", column " + p.column + ": " + p.message;
      button.addEventListener("click", function () {
        editor.setPosition({ lineNumber: p.line, column: p.column });
        editor.revealLineInCenter(p.line);
        editor.focus();
      });
      item.appendChild(button);
      list.appendChild(item);
    });
    box.hidden = problems.length === 0;
  }

  if (window.PhoneProviderCode) {
    window.PhoneProviderCode.attach({
      form: form,
      textarea: textarea,
      host: host,
      saveButton: document.getElementById("save-draft"),
      ariaLabel: "Handler code: JavaScript editor",
      onChange: updateStatus,
    }).then(function (handle) {
      if (!handle) return;
      code = handle;
      editor = handle.editor;
      monaco = handle.monaco;
      monaco.editor.onDidChangeMarkers(function (uris) {
        const uri = editor.getModel().uri.toString();
        if (uris.some(function (u) { return u.toString() === uri; })) renderProblems();
      });
      renderProblems();
    });
  }

  /* ---- Side panel tabs (without JavaScript every panel shows, one under the other) --------- */

  const tabs = document.getElementById("side-tabs");
  if (tabs) {
    const buttons = Array.prototype.slice.call(tabs.querySelectorAll('[role="tab"]'));
    function select(button, focus) {
      buttons.forEach(function (b) {
        const on = b === button;
        b.setAttribute("aria-selected", on ? "true" : "false");
        b.tabIndex = on ? 0 : -1;
        document.getElementById(b.getAttribute("aria-controls")).hidden = !on;
      });
      if (focus) button.focus();
    }
    buttons.forEach(function (button, index) {
      button.addEventListener("click", function () { select(button, false); });
      button.addEventListener("keydown", function (event) {
        let next = null;
        if (event.key === "ArrowRight") next = buttons[(index + 1) % buttons.length];
        if (event.key === "ArrowLeft") next = buttons[(index - 1 + buttons.length) % buttons.length];
        if (event.key === "Home") next = buttons[0];
        if (event.key === "End") next = buttons[buttons.length - 1];
        if (next) { event.preventDefault(); select(next, true); }
      });
    });
    tabs.hidden = false;
    // A server error about secrets or dependencies opens their tab.
    const errorTabs = { "error-secrets": buttons[1], "error-dependencies": buttons[2] };
    const failed = Object.keys(errorTabs).filter(function (id) {
      const slot = document.getElementById(id);
      return slot && slot.classList.contains("has-error");
    });
    select(failed.length ? errorTabs[failed[0]] : buttons[0], false);
    document.addEventListener("htmx:load", function (event) {
      const tab = errorTabs[event.target.id];
      if (tab && event.target.classList.contains("has-error")) select(tab, false);
    });
  }

  /* ---- Dependencies: "Add dependency" adds a row (without JavaScript one empty row is there) - */

  let dependencyCounter = 1000;
  function wireDependencies() {
    const add = document.getElementById("add-dependency");
    if (!add || add.dataset.wired) return;
    add.dataset.wired = "1";
    add.hidden = false;
    add.addEventListener("click", function () {
      dependencyCounter += 1;
      const template = document.getElementById("dependency-row-template");
      const holder = document.createElement("tbody");
      holder.innerHTML = template.innerHTML.replace(/__n__/g, String(dependencyCounter)).trim();
      const row = holder.firstElementChild;
      document.getElementById("dependency-rows").appendChild(row);
      row.querySelector("input").focus();
      updateStatus();
    });
  }
  wireDependencies();
  document.addEventListener("htmx:load", function (event) {
    if (event.target.id === "dependencies-block") wireDependencies();
  });

  window.Dashboard.wireSecrets(document.getElementById("secrets-block"), updateStatus);
  updateStatus();
})();
