// Static checks of handler code, run on acorn's syntax tree. The code itself is only data here:
// it is parsed, never evaluated.
globalThis.__pp_validate = function (source, exportName, otherName) {
  let ast;
  try {
    ast = acorn.parse(source, { ecmaVersion: 'latest', sourceType: 'script', allowHashBang: true, locations: true });
  } catch (e) {
    let msg = String(e.message).replace(/ \(\d+:\d+\)$/, '');
    if (/'import' and 'export' may appear only/.test(msg)) {
      msg = "import/export statements are not supported: handlers are CommonJS modules (use require() and exports." + exportName + " = async (event, api) => { ... })";
    } else {
      msg = 'SyntaxError: ' + msg;
    }
    return JSON.stringify({ ok: false, message: msg, line: e.loc ? e.loc.line : null, column: e.loc ? e.loc.column + 1 : null });
  }

  const topLevel = new Map();  // name -> node describing its value
  for (const stmt of ast.body) {
    if (stmt.type === 'FunctionDeclaration' && stmt.id) topLevel.set(stmt.id.name, stmt);
    if (stmt.type === 'VariableDeclaration') {
      for (const d of stmt.declarations) if (d.id.type === 'Identifier') topLevel.set(d.id.name, d.init);
    }
  }

  const found = {};        // export name -> last value node assigned
  let unjudgeable = false; // exports written in a way we cannot follow statically

  const isExports = (n) => n && ((n.type === 'Identifier' && n.name === 'exports') ||
    (n.type === 'MemberExpression' && !n.computed && n.object.type === 'Identifier' && n.object.name === 'module' &&
      n.property.type === 'Identifier' && n.property.name === 'exports'));
  const isModuleExports = (n) => n && n.type === 'MemberExpression' && !n.computed && n.object.type === 'Identifier' &&
    n.object.name === 'module' && n.property.type === 'Identifier' && n.property.name === 'exports';
  const propName = (m) => {
    if (!m.computed && m.property.type === 'Identifier') return m.property.name;
    if (m.property.type === 'Literal' && typeof m.property.value === 'string') return m.property.value;
    return null;
  };
  function recordObject(obj) {
    for (const p of obj.properties) {
      if (p.type === 'SpreadElement') { unjudgeable = true; continue; }
      let name = null;
      if (!p.computed && p.key.type === 'Identifier') name = p.key.name;
      else if (p.key.type === 'Literal') name = String(p.key.value);
      else { unjudgeable = true; continue; }
      found[name] = p.shorthand ? p.value : p.value;
    }
  }
  function visit(node) {
    if (!node || typeof node.type !== 'string') return;
    if (node.type === 'AssignmentExpression' && node.operator === '=') {
      const left = node.left;
      if (isModuleExports(left)) {
        let right = node.right;
        if (right.type === 'Identifier' && topLevel.get(right.name) && topLevel.get(right.name).type === 'ObjectExpression') {
          right = topLevel.get(right.name);
        }
        if (right.type === 'ObjectExpression') recordObject(right); else unjudgeable = true;
      } else if (left.type === 'MemberExpression' && isExports(left.object)) {
        const name = propName(left);
        if (name === null) unjudgeable = true; else found[name] = node.right;
      }
    }
    if (node.type === 'CallExpression' && node.callee.type === 'MemberExpression' &&
        node.callee.object.type === 'Identifier' && node.callee.object.name === 'Object' &&
        node.arguments.length && isExports(node.arguments[0])) {
      unjudgeable = true;
    }
    for (const key of Object.keys(node)) {
      if (key === 'loc' || key === 'start' || key === 'end') continue;
      const v = node[key];
      if (Array.isArray(v)) v.forEach(visit);
      else if (v && typeof v.type === 'string') visit(v);
    }
  }
  visit(ast);

  const signature = `exports.${exportName} = async (event, api) => { ... }`;
  const loc = (n) => (n && n.loc ? { line: n.loc.start.line, column: n.loc.start.column + 1 } : { line: null, column: null });
  function judge(value, depth) {
    if (!value || depth > 5) return { ok: true };
    if (value.type === 'ArrowFunctionExpression' || value.type === 'FunctionExpression' || value.type === 'FunctionDeclaration') {
      if (value.async && !value.generator) return { ok: true };
      return { ok: false, message: `${exportName} must be an async function: ${signature}`, ...loc(value) };
    }
    if (value.type === 'Identifier') {
      if (!topLevel.has(value.name)) return { ok: true };
      return judge(topLevel.get(value.name), depth + 1);
    }
    if (value.type === 'Literal' || value.type === 'ObjectExpression' || value.type === 'ArrayExpression' ||
        value.type === 'TemplateLiteral' || value.type === 'ClassExpression') {
      return { ok: false, message: `${exportName} must be an async function: ${signature}`, ...loc(value) };
    }
    return { ok: true };
  }
  if (Object.prototype.hasOwnProperty.call(found, exportName)) {
    return JSON.stringify(judge(found[exportName], 0));
  }
  if (unjudgeable) return JSON.stringify({ ok: true });
  let message = `The code must export ${exportName}: ${signature}`;
  if (Object.prototype.hasOwnProperty.call(found, otherName)) {
    message = `The code exports ${otherName}, but this trigger runs ${exportName}: ${signature}`;
  }
  return JSON.stringify({ ok: false, message, line: null, column: null });
};
