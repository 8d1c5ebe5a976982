/* A version's page: its code read-only in Monaco, or Monaco's diff editor against the draft or
 * another version. Without the editor the plain <pre> blocks stay. */
(function () {
  "use strict";

  const diffHost = document.getElementById("diff-editor");
  const viewHost = document.getElementById("code-view-editor");
  const host = diffHost || viewHost;
  if (!host || !window.PhoneProviderCode) return;
  const data = function (id) { return JSON.parse(document.getElementById(id).textContent); };
  const common = Object.assign({}, window.PhoneProviderCode.BASE_OPTIONS, { readOnly: true });

  window.PhoneProviderCode.load(host.dataset.monacoBase).then(function (monaco) {
    host.hidden = false;
    if (diffHost) {
      const diff = monaco.editor.createDiffEditor(diffHost, Object.assign({
        renderSideBySide: true,
        originalEditable: false,
        ariaLabel: diffHost.getAttribute("aria-label"),
      }, common));
      diff.setModel({
        original: monaco.editor.createModel(data("diff-left"), "javascript"),
        modified: monaco.editor.createModel(data("diff-right"), "javascript"),
      });
      document.getElementById("diff-fallback").hidden = true;
      window.versionDiff = diff;
    } else {
      monaco.editor.create(viewHost, Object.assign({
        value: data("version-code"),
        language: "javascript",
        ariaLabel: "Code of this version (read-only)",
      }, common));
      document.getElementById("code-view-fallback").hidden = true;
    }
    host.classList.add("is-ready");
  }, function (err) {
    host.hidden = true;
    console.warn("Code viewer unavailable, showing plain text.", err);
  });
})();
