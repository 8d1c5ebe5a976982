/* The handler code editor shared by the provider page, the expanded editor and the version pages.
 *
 * Loads Monaco once (AMD loader), teaches it our runtime (handler-types.js: `event`, `api`,
 * `fetch`, the built-in modules), and upgrades a real <textarea> that stays the form field:
 * every edit is copied back, so a form posts exactly what the editor shows, and the page still
 * works as a plain form when the editor cannot load. `attach()` is the one entry point of the
 * pages that edit code: editor, Ctrl/Cmd+S, the server's "line L, column C" error marked on its
 * line, the fallback to the plain textarea, and the page API the browser tests drive.
 *
 * Diagnostics: Monaco's own syntax check gives errors as you type. On top of it, a "lint" asks
 * the TypeScript worker for semantic diagnostics (never shown as such: plain JavaScript would
 * drown in them) and keeps only "property does not exist" on `event.…` / `api.…`, shown as
 * warnings — `event.secret` is a typo of `event.secrets`, and the handler would read undefined.
 */
(function () {
  "use strict";

  let loading = null;
  const LINT_OWNER = "event-lint";
  // TS2339 "Property 'x' does not exist on type 'Y'", TS2551 "... Did you mean 'z'?".
  const MISSING_PROPERTY = [2339, 2551];
  const ON_EVENT_OR_API = /\b(event|api)(\s*\??\.\s*[A-Za-z_$][\w$]*)*\s*\??\.\s*$/;

  function configure(monaco) {
    const js = monaco.languages.typescript.javascriptDefaults;
    js.setCompilerOptions({
      target: monaco.languages.typescript.ScriptTarget.ES2022,
      allowNonTsExtensions: true,
      lib: ["es2022"],
      // Needed for the worker to compute the lint's diagnostics; they are not displayed.
      checkJs: true,
    });
    js.setDiagnosticsOptions({
      noSemanticValidation: true,
      noSyntaxValidation: false,
      noSuggestionDiagnostics: true,
    });
    if (window.PHONE_PROVIDER_TYPES) {
      js.addExtraLib(window.PHONE_PROVIDER_TYPES, "ts:phoneprovider/handler.d.ts");
    }
  }

  /** Load Monaco from ``base`` (the vendored `vs` folder). Resolves with `window.monaco`. */
  function load(base) {
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      if (typeof window.require !== "function" || !window.require.config) {
        reject(new Error("The Monaco loader is missing."));
        return;
      }
      // Absolute, because Monaco's web workers resolve it outside the page.
      const vs = new URL(base, window.location.href).href.replace(/\/$/, "");
      window.require.config({ paths: { vs: vs } });
      window.require(["vs/editor/editor.main"], function () {
        const monaco = window.monaco;
        configure(monaco);
        // Wait for the JavaScript grammar (loaded on demand) so that every editor, the diff
        // editor's two sides included, is coloured from its first paint.
        const ready = function () { resolve(monaco); };
        monaco.editor.colorize("", "javascript", {}).then(ready, ready);
      }, reject);
    });
    return loading;
  }

  function flatten(text) {
    if (typeof text === "string") return text;
    let out = text.messageText;
    (text.next || []).forEach(function (next) { out += " " + flatten(next); });
    return out;
  }

  /** Warn about properties `event` / `api` do not have. */
  async function lint(monaco, model) {
    const getWorker = await monaco.languages.typescript.getJavaScriptWorker();
    const worker = await getWorker(model.uri);
    const version = model.getVersionId();
    const found = await worker.getSemanticDiagnostics(model.uri.toString());
    if (model.isDisposed() || model.getVersionId() !== version) return;
    const markers = [];
    found.forEach(function (d) {
      if (MISSING_PROPERTY.indexOf(d.code) < 0 || d.start === undefined) return;
      const start = model.getPositionAt(d.start);
      const end = model.getPositionAt(d.start + d.length);
      const before = model.getValueInRange({
        startLineNumber: start.lineNumber, startColumn: 1,
        endLineNumber: start.lineNumber, endColumn: start.column,
      });
      if (!ON_EVENT_OR_API.test(before)) return;
      const chain = before.match(ON_EVENT_OR_API)[0].replace(/\s+/g, "");
      const name = model.getValueInRange({
        startLineNumber: start.lineNumber, startColumn: start.column,
        endLineNumber: end.lineNumber, endColumn: end.column,
      });
      const hint = flatten(d.messageText).match(/Did you mean '([^']+)'\?/);
      markers.push({
        severity: monaco.MarkerSeverity.Warning,
        message: chain + name + " does not exist: the handler would read undefined." +
          (hint ? " Did you mean " + chain + hint[1] + "?" : ""),
        source: "phoneprovider",
        startLineNumber: start.lineNumber, startColumn: start.column,
        endLineNumber: end.lineNumber, endColumn: end.column,
      });
    });
    monaco.editor.setModelMarkers(model, LINT_OWNER, markers);
  }

  /** Options of every editor, editable or read-only (the version pages use them as they are). */
  const BASE_OPTIONS = {
    automaticLayout: true,
    minimap: { enabled: false },
    scrollBeyondLastLine: false,
    fontSize: 13,
    lineHeight: 20,
    tabSize: 2,
    lineNumbersMinChars: 3,
    overviewRulerBorder: false,
    hideCursorInOverviewRuler: true,
    scrollbar: { verticalScrollbarSize: 10, horizontalScrollbarSize: 10 },
    fixedOverflowWidgets: true,
    padding: { top: 12, bottom: 12 },
  };

  /**
   * Upgrade ``textarea`` to a Monaco editor inside ``host``. ``options.onChange`` is called after
   * every edit (the textarea already updated); other options go to ``monaco.editor.create``.
   */
  function create(monaco, host, textarea, options) {
    options = options || {};
    const onChange = options.onChange;
    delete options.onChange;
    host.hidden = false;
    const editor = monaco.editor.create(host, Object.assign({}, BASE_OPTIONS, {
      value: textarea.value,
      language: "javascript",
      glyphMargin: true,
      lineDecorationsWidth: 6,
      renderLineHighlight: "line",
    }, options));
    textarea.hidden = true;
    const model = editor.getModel();
    let timer = null;
    function scheduleLint() {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        lint(monaco, model).catch(function (err) { console.warn("Lint failed", err); });
      }, 400);
    }
    model.onDidChangeContent(function () {
      textarea.value = editor.getValue();
      scheduleLint();
      if (onChange) onChange();
    });
    scheduleLint();
    host.classList.add("is-ready");
    return editor;
  }

  /** Mark a server-side error at line/column: a marker, a glyph and the whole line tinted. */
  function markError(monaco, editor, decorations, line, column, message) {
    const model = editor.getModel();
    if (!line) {
      monaco.editor.setModelMarkers(model, "server", []);
      decorations.set([]);
      return;
    }
    const lineNumber = Math.min(Math.max(line, 1), model.getLineCount());
    const col = Math.min(Math.max(column || 1, 1), model.getLineMaxColumn(lineNumber));
    monaco.editor.setModelMarkers(model, "server", [{
      severity: monaco.MarkerSeverity.Error,
      message: message,
      startLineNumber: lineNumber,
      startColumn: col,
      endLineNumber: lineNumber,
      endColumn: Math.max(col + 1, model.getLineMaxColumn(lineNumber)),
    }]);
    decorations.set([{
      range: new monaco.Range(lineNumber, 1, lineNumber, 1),
      options: {
        isWholeLine: true,
        className: "code-error-line",
        glyphMarginClassName: "code-error-glyph",
        glyphMarginHoverMessage: { value: message },
      },
    }]);
    editor.revealLineInCenter(lineNumber);
    editor.setPosition({ lineNumber: lineNumber, column: col });
  }

  /** Every marker of a model (syntax errors, lint warnings, server errors), for the UI and tests. */
  function problems(monaco, editor) {
    return monaco.editor.getModelMarkers({ resource: editor.getModel().uri }).map(function (m) {
      return {
        severity: m.severity === monaco.MarkerSeverity.Error ? "error" : "warning",
        message: m.message, line: m.startLineNumber, column: m.startColumn, owner: m.owner,
      };
    });
  }

  /** Ctrl/Cmd+S in any field of ``form`` (the plain textarea included) presses ``button``. */
  function wireSaveKey(form, button) {
    form.addEventListener("keydown", function (event) {
      // Monaco's own Ctrl+S command has already handled (and prevented) a key in the editor.
      if (event.defaultPrevented) return;
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "s") {
        event.preventDefault();
        form.requestSubmit(button);
      }
    });
  }

  /**
   * Everything a page that edits handler code needs, in one call:
   *
   *   attach({form, textarea, host, saveButton, ariaLabel, onChange, errorSlot})
   *
   * upgrades ``textarea`` inside ``host``; Ctrl/Cmd+S presses ``saveButton`` (also without the
   * editor); the server's error in ``errorSlot`` (an element with data-line / data-column, by
   * default #error-code) is marked on its line now and whenever ``markSlot()`` is called; and
   * ``window.phoneProviderEditor`` is set for the browser tests, announced by the
   * "provider:editor-ready" event. Resolves with a handle ({monaco, editor, markError, markSlot,
   * problems}), or with null when the editor cannot load — the plain textarea then stays.
   */
  function attach(options) {
    const form = options.form;
    const textarea = options.textarea;
    const host = options.host;
    const slotId = options.errorSlot || "error-code";
    if (options.saveButton) wireSaveKey(form, options.saveButton);
    if (!host) return Promise.resolve(null);
    return load(host.dataset.monacoBase).then(function (monaco) {
      const editor = create(monaco, host, textarea, {
        ariaLabel: options.ariaLabel,
        onChange: options.onChange,
      });
      const decorations = editor.createDecorationsCollection([]);
      if (options.saveButton) {
        editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, function () {
          form.requestSubmit(options.saveButton);
        });
      }
      const handle = {
        monaco: monaco,
        editor: editor,
        markError: function (line, column, message) {
          markError(monaco, editor, decorations, line, column, message);
        },
        /** Mark (or clear) the error the server put in the error slot. */
        markSlot: function () {
          const slot = document.getElementById(slotId);
          const line = slot ? parseInt(slot.dataset.line || "0", 10) : 0;
          const column = slot ? parseInt(slot.dataset.column || "1", 10) : 1;
          const message = slot ? (slot.querySelector(".error-message") || slot).textContent.trim() : "";
          handle.markError(line, column, message);
        },
        problems: function () { return problems(monaco, editor); },
      };
      handle.markSlot();
      window.phoneProviderEditor = {
        get: function () { return editor.getValue(); },
        set: function (code) { editor.setValue(code); },
        problems: handle.problems,
        editor: editor,
      };
      document.dispatchEvent(new CustomEvent("provider:editor-ready"));
      return handle;
    }, function (err) {
      host.hidden = true;
      textarea.hidden = false;
      console.warn("Code editor unavailable, using the plain text area.", err);
      return null;
    });
  }

  window.PhoneProviderCode = {
    load: load,
    create: create,
    attach: attach,
    markError: markError,
    problems: problems,
    BASE_OPTIONS: BASE_OPTIONS,
  };
})();
