/* The Phone Message Provider page: progressive enhancement of a page that works as plain forms.
 *
 * - upgrades the code <textarea> to Monaco (the textarea stays the form field and is kept in
 *   sync, so Save posts exactly what the editor shows);
 * - marks the line of a server-side code error in the editor;
 * - adds/removes secret rows, resets the code, asks before disabling, opens the test dialog.
 */
(function () {
  "use strict";

  const form = document.getElementById("provider-form");
  if (!form) return;
  const textarea = document.getElementById("id_code");
  const host = document.getElementById("code-editor");
  const starter = JSON.parse(document.getElementById("starter-code").textContent);
  let editor = null;
  let serverDecorations = null;

  /* ---- Monaco ------------------------------------------------------------------------------ */

  function loadEditor() {
    if (!host || !window.PhoneProviderCode) return;
    window.PhoneProviderCode.load(host.dataset.monacoBase).then(function (monaco) {
      editor = window.PhoneProviderCode.create(monaco, host, textarea, {
        ariaLabel: "Provider configuration: JavaScript code editor",
        onChange: markDirty,
      });
      document.getElementById("editor-keys").hidden = false;
      serverDecorations = editor.createDecorationsCollection([]);
      // Ctrl/Cmd+S saves the form, as in any editor.
      editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, function () {
        form.requestSubmit(document.getElementById("save-button"));
      });
      markCodeError();
      // A page API for tests and later pages (the expanded editor).
      window.phoneProviderEditor = {
        get: function () { return editor.getValue(); },
        set: function (code) { editor.setValue(code); },
        problems: function () { return window.PhoneProviderCode.problems(monaco, editor); },
        editor: editor,
      };
      document.dispatchEvent(new CustomEvent("provider:editor-ready"));
    }, function (err) {
      // The editor could not load: the plain textarea keeps working.
      host.hidden = true;
      textarea.hidden = false;
      console.warn("Code editor unavailable, using the plain text area.", err);
    });
  }

  /* Show the server's "line L, column C" error in the editor: marker, glyph and whole line. */
  function markCodeError() {
    if (!editor) return;
    const slot = document.getElementById("error-code");
    const line = slot ? parseInt(slot.dataset.line || "0", 10) : 0;
    const column = slot ? parseInt(slot.dataset.column || "1", 10) : 1;
    const message = slot ? (slot.querySelector(".error-message") || slot).textContent.trim() : "";
    window.PhoneProviderCode.markError(window.monaco, editor, serverDecorations, line, column,
      message);
  }

  /* ---- Errors after an htmx Save ----------------------------------------------------------- */

  function afterErrors() {
    markCodeError();
    let first = null;
    form.querySelectorAll(".field-error").forEach(function (slot) {
      const id = slot.id;
      const invalid = slot.classList.contains("has-error");
      form.querySelectorAll('[aria-describedby~="' + id + '"]').forEach(function (el) {
        if (el.tagName === "FIELDSET") return;
        if (invalid) el.setAttribute("aria-invalid", "true");
        else el.removeAttribute("aria-invalid");
      });
      if (invalid && !first && slot.offsetParent !== null) first = slot;
    });
    if (first) {
      first.scrollIntoView({ block: "center", behavior: "smooth" });
    }
  }

  // htmx:load comes after the settle step, when the swapped slots have their final attributes.
  let pending = false;
  document.addEventListener("htmx:load", function (event) {
    if (pending || !event.target.classList.contains("field-error")) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; afterErrors(); });
  });

  /* ---- Send Test Message: disabled while there are unsaved changes ------------------------- */

  const testLink = document.getElementById("send-test-button");
  const testDisabled = document.getElementById("send-test-disabled");
  const testWhy = document.getElementById("send-test-why");
  let dirty = false;

  function markDirty() {
    if (dirty || !testLink) return;
    dirty = true;
    testLink.hidden = true;
    testDisabled.hidden = false;
    testWhy.textContent = "Save your changes to test them.";
    testWhy.hidden = false;
  }
  form.addEventListener("input", function (event) {
    if (event.target !== textarea || !editor) markDirty();
  });
  form.addEventListener("change", markDirty);

  /* ---- Reset the code to the starter handler ---------------------------------------------- */

  const reset = document.getElementById("reset-code");
  if (reset) {
    reset.addEventListener("click", function (event) {
      event.preventDefault();
      if (editor) {
        const model = editor.getModel();
        // An edit, not setValue: Ctrl+Z brings the previous code back.
        editor.pushUndoStop();
        editor.executeEdits("reset", [{ range: model.getFullModelRange(), text: starter }]);
        editor.pushUndoStop();
        editor.setScrollTop(0);
        editor.focus();
      } else {
        textarea.value = starter;
        markDirty();
      }
    });
  }

  /* ---- Secrets: add and remove rows of new secrets ---------------------------------------- */

  window.Dashboard.wireSecrets(form, markDirty);

  /* ---- Dialogs ------------------------------------------------------------------------------ */

  document.addEventListener("click", function (event) {
    const closer = event.target.closest("[data-close-dialog]");
    if (!closer) return;
    const dialog = closer.closest("dialog");
    if (!dialog) return;
    event.preventDefault();
    dialog.close();
  });

  const testDialog = document.getElementById("send-test-dialog");
  const testBody = document.getElementById("send-test-body");
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === testBody && !testDialog.open) {
      testDialog.showModal();
      const first = testBody.querySelector("[autofocus]");
      if (first) first.focus();
    }
  });
  if (testDialog) {
    testDialog.addEventListener("close", function () {
      // Emptying the dialog also stops any status polling inside it.
      testBody.innerHTML = "";
      if (testLink && !testLink.hidden) testLink.focus();
    });
  }

  // Turning the provider off asks first; turning it on needs no confirmation.
  const enableForm = document.getElementById("enable-form");
  const disableDialog = document.getElementById("disable-dialog");
  if (enableForm && disableDialog) {
    enableForm.addEventListener("submit", function (event) {
      const wanted = enableForm.querySelector('input[name="enabled"]').value;
      if (wanted === "off") {
        event.preventDefault();
        disableDialog.showModal();
      }
    });
  }

  loadEditor();
})();
