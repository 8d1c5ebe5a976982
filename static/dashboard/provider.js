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
  let code = null;

  /* ---- Monaco (static/dashboard/code-editor.js) ------------------------------------------- */

  function loadEditor() {
    if (!window.PhoneProviderCode) return;
    window.PhoneProviderCode.attach({
      form: form,
      textarea: textarea,
      host: host,
      saveButton: document.getElementById("save-button"),
      ariaLabel: "Provider configuration: JavaScript code editor",
      onChange: markDirty,
    }).then(function (handle) {
      if (!handle) return;
      code = handle;
      editor = handle.editor;
      document.getElementById("editor-keys").hidden = false;
    });
  }

  /* Show the server's "line L, column C" error in the editor: marker, glyph and whole line. */
  function markCodeError() {
    if (code) code.markSlot();
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

  // Close buttons ([data-close-dialog]) are wired once for every page in common.js.
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
