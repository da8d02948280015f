// DOM helpers shared by the content-script modules: whitespace as
// Playwright normalizes it, the composed tree (shadow hosts as parents) and
// the open shadow roots of a document, found once per call.

// Whitespace as Playwright's normalizeWhiteSpace: zero-width spaces and
// soft hyphens dropped, runs of white space made one space, trimmed.
export function normalizeSpace(s) {
  return (s || '').replace(/[\u200b\u00ad]/g, '').trim().replace(/\s+/g, ' ');
}

// The parent element, stepping out of a shadow root to its host.
export function parentOf(node) {
  if (node.parentElement) return node.parentElement;
  const p = node.parentNode;
  return p && p.nodeType === 11 && p.host ? p.host : null;
}

// Whether node is scope or inside it, across shadow boundaries.
export function isInside(scope, node) {
  for (let n = node; n; n = parentOf(n)) if (n === scope) return true;
  return false;
}

// The element the event happened on: the innermost node of its composed
// path that a page script outside closed shadow roots can see.
export function eventTarget(ev) {
  const path = ev.composedPath ? ev.composedPath() : [];
  let t = path.length ? path[0] : ev.target;
  if (t && t.nodeType === 3) t = t.parentElement;
  return t && t.nodeType === 1 ? t : null;
}

// The open shadow roots in a subtree (node and what is inside it, in its
// shadow roots too), outermost first.
export function shadowRootsIn(node) {
  const roots = [];
  const visit = (n) => {
    if (n.nodeType === 1 && n.shadowRoot) roots.push(n.shadowRoot);
    const all = n.querySelectorAll ? n.querySelectorAll('*') : [];
    for (let j = 0; j < all.length; j++) if (all[j].shadowRoot) roots.push(all[j].shadowRoot);
  };
  visit(node);
  for (let i = 0; i < roots.length; i++) visit(roots[i]);
  return roots;
}

// The document and every open shadow root in it, outermost first. It looks
// at every element: callers keep the result while the DOM does not change.
export function openRoots(doc) {
  return [doc, ...shadowRootsIn(doc)];
}

// Whether the element hosts a shadow root that page scripts cannot open
// (mode "closed"): Playwright cannot look inside it either.
export function hasClosedShadowRoot(el) {
  if (el.shadowRoot) return false;
  const dom = globalThis.chrome && globalThis.chrome.dom;
  return !!(dom && dom.openOrClosedShadowRoot && dom.openOrClosedShadowRoot(el));
}

export function cssEscape(ident) {
  if (globalThis.CSS && CSS.escape) return CSS.escape(ident);
  return ident.replace(/[^A-Za-z0-9_-]/g, (c) => '\\' + c).replace(/^(-?)(\d)/, '$1\\3$2 ');
}

// A CSS string literal (CSS escapes, not JSON's: "\n" is a hex escape).
export function cssString(value) {
  return '"' + value.replace(/["\\]/g, '\\$&').replace(/[\n\r\f]/g, (c) => `\\${c.charCodeAt(0).toString(16)} `) + '"';
}

// A CSS attribute selector [name="value"].
export function cssAttr(name, value) {
  return `[${name}=${cssString(value)}]`;
}
