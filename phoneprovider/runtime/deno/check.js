// Static checks of handler code, as a `deno lint` plugin (run by runtime/validate.py): Deno
// parses the code (a .cjs file: a CommonJS script) and hands this plugin its syntax tree. The
// code itself is only data here: it is parsed, never evaluated.
//
// One diagnostic comes out, on the program, whose message is JSON: for each handler export
// name, {ok} or {ok: false, message, line, column}, and `unjudgeable` when the exports are
// written in a way that cannot be followed statically (the load check judges those).
const NAMES = ['onExecuteCustomPhoneProvider', 'onExecuteSendPhoneMessage'];
const FUNCTIONS = new Set(['ArrowFunctionExpression', 'FunctionExpression', 'FunctionDeclaration']);
const NOT_FUNCTIONS = new Set(['Literal', 'ObjectExpression', 'ArrayExpression', 'TemplateLiteral', 'ClassExpression']);

const isIdent = (n, name) => n && n.type === 'Identifier' && (name === undefined || n.name === name);
const isModuleExports = (n) => n && n.type === 'MemberExpression' && !n.computed &&
  isIdent(n.object, 'module') && isIdent(n.property, 'exports');
const isExports = (n) => isIdent(n, 'exports') || isModuleExports(n);
function propName(m) {
  if (!m.computed && isIdent(m.property)) return m.property.name;
  if (m.property.type === 'Literal' && typeof m.property.value === 'string') return m.property.value;
  return null;
}

function exportsRule(context) {
  const text = context.sourceCode.text;
  const topLevel = new Map(); // name -> node describing its value
  const found = new Map(); // export name -> last value node assigned
  let unjudgeable = false;

  function where(node) {
    if (!node || !node.range) return { line: null, column: null };
    const before = text.slice(0, node.range[0]);
    const lineStart = before.lastIndexOf('\n') + 1;
    return { line: before.split('\n').length, column: before.length - lineStart + 1 };
  }
  function recordObject(obj) {
    for (const p of obj.properties) {
      if (p.type !== 'Property') { unjudgeable = true; continue; }
      let name = null;
      if (!p.computed && isIdent(p.key)) name = p.key.name;
      else if (p.key.type === 'Literal') name = String(p.key.value);
      if (name === null) { unjudgeable = true; continue; }
      found.set(name, p.value);
    }
  }
  function judge(name, value, depth) {
    const signature = `exports.${name} = async (event, api) => { ... }`;
    if (!value || depth > 5) return { ok: true };
    if (FUNCTIONS.has(value.type)) {
      if (value.async && !value.generator) return { ok: true };
      return { ok: false, message: `${name} must be an async function: ${signature}`, ...where(value) };
    }
    if (isIdent(value)) {
      return topLevel.has(value.name) ? judge(name, topLevel.get(value.name), depth + 1) : { ok: true };
    }
    if (NOT_FUNCTIONS.has(value.type)) {
      return { ok: false, message: `${name} must be an async function: ${signature}`, ...where(value) };
    }
    return { ok: true };
  }

  return {
    Program(program) {
      for (const stmt of program.body) {
        if (stmt.type === 'FunctionDeclaration' && stmt.id) topLevel.set(stmt.id.name, stmt);
        if (stmt.type === 'VariableDeclaration') {
          for (const d of stmt.declarations) if (isIdent(d.id)) topLevel.set(d.id.name, d.init);
        }
      }
    },
    AssignmentExpression(node) {
      if (node.operator !== '=') return;
      const left = node.left;
      if (isModuleExports(left)) {
        let right = node.right;
        const named = isIdent(right) && topLevel.get(right.name);
        if (named && named.type === 'ObjectExpression') right = named;
        if (right.type === 'ObjectExpression') recordObject(right); else unjudgeable = true;
      } else if (left.type === 'MemberExpression' && isExports(left.object)) {
        const name = propName(left);
        if (name === null) unjudgeable = true; else found.set(name, node.right);
      }
    },
    CallExpression(node) {
      const callee = node.callee;
      if (callee.type === 'MemberExpression' && isIdent(callee.object, 'Object') &&
          node.arguments.length && isExports(node.arguments[0])) {
        unjudgeable = true;
      }
    },
    'Program:exit'(program) {
      const results = {};
      for (const name of NAMES) {
        results[name] = found.has(name) ? judge(name, found.get(name), 0) : { ok: null };
      }
      context.report({ node: program, message: JSON.stringify({ results, unjudgeable }) });
    },
  };
}

export default { name: 'phoneprovider', rules: { exports: { create: exportsRule } } };
