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
    if (!host || typeof window.require !== "function" || !window.require.config) return;
    // Absolute, because Monaco's web workers resolve it outside the page.
    const base = new URL(host.dataset.monacoBase, window.location.href).href.replace(/\/$/, "");
    window.require.config({ paths: { vs: base } });
    window.require(["vs/editor/editor.main"], function () {
      const monaco = window.monaco;
      monaco.languages.typescript.javascriptDefaults.setCompilerOptions({
        target: monaco.languages.typescript.ScriptTarget.ES2022,
        allowNonTsExtensions: true,
        lib: ["es2022"],
        checkJs: false,
      });
      // Syntax errors as you type; no type-checking hints on plain JavaScript.
      monaco.languages.typescript.javascriptDefaults.setDiagnosticsOptions({
        noSemanticValidation: true,
        noSyntaxValidation: false,
        noSuggestionDiagnostics: true,
      });
      if (window.PHONE_PROVIDER_TYPES) {
        monaco.languages.typescript.javascriptDefaults.addExtraLib(
          window.PHONE_PROVIDER_TYPES, "ts:phoneprovider/handler.d.ts");
      }
      host.hidden = false;
      editor = monaco.editor.create(host, {
        value: textarea.value,
        language: "javascript",
        automaticLayout: true,
        minimap: { enabled: false },
        scrollBeyondLastLine: false,
        fontSize: 13,
        lineHeight: 20,
        tabSize: 2,
        glyphMargin: true,
        lineNumbersMinChars: 3,
        overviewRulerBorder: false,
        hideCursorInOverviewRuler: true,
        lineDecorationsWidth: 6,
        scrollbar: { verticalScrollbarSize: 10, horizontalScrollbarSize: 10 },
        renderLineHighlight: "line",
        fixedOverflowWidgets: true,
        ariaLabel: "Provider configuration: JavaScript code editor",
        padding: { top: 12, bottom: 12 },
      });
      textarea.hidden = true;
      document.getElementById("editor-keys").hidden = false;
      serverDecorations = editor.createDecorationsCollection([]);
      editor.getModel().onDidChangeContent(function () {
        textarea.value = editor.getValue();
        markDirty();
      });
      // Ctrl/Cmd+S saves the form, as in any editor.
      editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, function () {
        form.requestSubmit(document.getElementById("save-button"));
      });
      host.classList.add("is-ready");
      markCodeError();
      // A page API for tests and later pages (the expanded editor).
      window.phoneProviderEditor = {
        get: function () { return editor.getValue(); },
        set: function (code) { editor.setValue(code); },
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
    const monaco = window.monaco;
    const model = editor.getModel();
    const slot = document.getElementById("error-code");
    const line = slot ? parseInt(slot.dataset.line || "0", 10) : 0;
    if (!line) {
      monaco.editor.setModelMarkers(model, "server", []);
      serverDecorations.set([]);
      return;
    }
    const lineNumber = Math.min(Math.max(line, 1), model.getLineCount());
    const column = Math.min(Math.max(parseInt(slot.dataset.column || "1", 10), 1),
      model.getLineMaxColumn(lineNumber));
    const message = (slot.querySelector(".error-message") || slot).textContent.trim();
    monaco.editor.setModelMarkers(model, "server", [{
      severity: monaco.MarkerSeverity.Error,
      message: message,
      startLineNumber: lineNumber,
      startColumn: column,
      endLineNumber: lineNumber,
      endColumn: Math.max(column + 1, model.getLineMaxColumn(lineNumber)),
    }]);
    serverDecorations.set([{
      range: new monaco.Range(lineNumber, 1, lineNumber, 1),
      options: {
        isWholeLine: true,
        className: "code-error-line",
        glyphMarginClassName: "code-error-glyph",
        glyphMarginHoverMessage: { value: message },
      },
    }]);
    editor.revealLineInCenter(lineNumber);
    editor.setPosition({ lineNumber: lineNumber, column: column });
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

  const rows = document.getElementById("secret-new-rows");
  const addSecret = document.getElementById("add-secret");
  const rowTemplate = document.getElementById("secret-row-template");
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
      markDirty();
      const focusTarget = next ? next.querySelector("input") : addSecret;
      (focusTarget || addSecret).focus();
    });
  }

  if (rows && addSecret && rowTemplate) {
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
