// Resolves recorded locators against the live DOM with the semantics of the
// Playwright calls the exporter writes for them, so that a locator checked
// unique here finds the same one element when the script is replayed:
//
//   {by: 'testId', attribute, value}   getByTestId(value) / locator('[attr="value"]')
//   {by: 'role', role, name}           getByRole(role, {name, exact: true})
//   {by: 'role', role, pattern}        getByRole(role, {name: /pattern/u})
//   {by: 'label', text}                getByLabel(text, {exact: true})
//   {by: 'placeholder', text}          getByPlaceholder(text, {exact: true})
//   {by: 'text', text}                 getByText(text, {exact: true})
//   {by: 'css', selector, hasText?}    locator(selector) [.filter({hasText})]
//   {by: 'xpath', selector}            locator('xpath=' + selector)
//   any of them with `within: locator` scope.locator(...) inside that one
//
// Every query pierces open shadow roots as Playwright's engines do; CSS
// combinators step from a shadow root's children to its host. One Engine
// lives for one call: it scans the document's shadow roots once and caches
// roles, names and texts.
import { hiddenForAria, nameOf, roleOf } from './accessibility.js';
import { cssAttr, cssEscape, isInside, normalizeSpace, openRoots, parentOf } from './dom.js';

// Elements whose implicit role may be the key (html-aam), besides [role].
const IMPLICIT_ROLE_TAGS = {
  button: 'button,input,summary',
  link: 'a[href],area[href]',
  checkbox: 'input',
  radio: 'input',
  slider: 'input',
  spinbutton: 'input',
  textbox: 'input,textarea',
  searchbox: 'input',
  combobox: 'input,select',
  listbox: 'select,datalist',
  option: 'option',
  heading: 'h1,h2,h3,h4,h5,h6',
  img: 'img',
  listitem: 'li',
  list: 'ul,ol,menu',
  cell: 'td',
  columnheader: 'th',
  row: 'tr',
  table: 'table',
  navigation: 'nav',
  form: 'form',
  dialog: 'dialog',
  group: 'details,fieldset,optgroup',
  region: 'section',
  status: 'output',
  progressbar: 'progress',
  article: 'article',
  banner: 'header',
  contentinfo: 'footer',
  complementary: 'aside',
  main: 'main',
};
const LABELABLE = 'input,select,textarea,button,meter,output,progress,[aria-label],[aria-labelledby]';
const TEXT_SKIP = /^(?:script|noscript|style)$/;

// Splits a CSS selector at top-level child combinators (" > "), the only
// combinator the recorder writes, leaving quoted strings and brackets whole.
function splitChildCombinators(css) {
  const parts = [];
  let depth = 0;
  let quote = null;
  let start = 0;
  for (let i = 0; i < css.length; i++) {
    const c = css[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') depth--;
    else if (c === '>' && depth === 0) {
      parts.push(css.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(css.slice(start).trim());
  return parts;
}

export class Engine {
  constructor(doc) {
    this.doc = doc;
    this._roots = null;
    this._roles = new Map();
    this._names = new Map();
    this._hidden = new Map();
    this._hiddenChain = new Map();
    this._texts = new Map();
  }

  roots() {
    if (!this._roots) this._roots = openRoots(this.doc);
    return this._roots;
  }

  role(el) {
    let r = this._roles.get(el);
    if (r === undefined) this._roles.set(el, (r = roleOf(el)));
    return r;
  }

  name(el) {
    let n = this._names.get(el);
    if (n === undefined) this._names.set(el, (n = nameOf(el)));
    return n;
  }

  hidden(el) {
    let h = this._hidden.get(el);
    if (h === undefined) this._hidden.set(el, (h = hiddenForAria(el, this._hiddenChain)));
    return h;
  }

  // Every element in scope (the document or an element, not itself)
  // matching a CSS compound or selector list, in every open tree.
  queryDeep(scope, css) {
    const out = [];
    for (const root of this.roots()) {
      let base = root;
      if (scope !== this.doc) {
        if (root === this.doc) base = scope;
        else if (!isInside(scope, root.host)) continue;
      }
      const found = base.querySelectorAll(css);
      for (let i = 0; i < found.length; i++) out.push(found[i]);
    }
    return out;
  }

  // A CSS selector as Playwright evaluates it: the last compound searched
  // in every tree, the others matched on ancestors of the composed tree
  // that lie inside scope. Parts joined by " >> " search inside the
  // element the part before matched.
  queryCss(scope, selector) {
    let scopes = [scope];
    for (const part of selector.split(' >> ')) {
      const next = new Set();
      const compounds = splitChildCombinators(part);
      const last = compounds.pop();
      for (const s of scopes) {
        for (const el of this.queryDeep(s, last)) {
          if (this._parentsMatch(el, compounds, s)) next.add(el);
        }
      }
      scopes = [...next];
    }
    return scopes;
  }

  _parentsMatch(el, compounds, scope) {
    let n = el;
    for (let i = compounds.length - 1; i >= 0; i--) {
      n = parentOf(n);
      if (!n || n === scope || (scope !== this.doc && !isInside(scope, n)) || !n.matches(compounds[i])) return false;
    }
    return true;
  }

  // Playwright's elementText: the text of the element and its open shadow
  // tree, without scripts and styles; a button input's value.
  text(node) {
    let t = this._texts.get(node);
    if (t !== undefined) return t;
    let full = '';
    if (node.nodeType === 1 && (TEXT_SKIP.test(node.localName) || (node.ownerDocument.head && node.ownerDocument.head.contains(node)))) {
      full = '';
    } else if (node.localName === 'input' && /^(?:submit|button|reset)$/.test(node.type)) {
      full = node.value;
    } else {
      for (let c = node.firstChild; c; c = c.nextSibling) {
        if (c.nodeType === 3) full += c.nodeValue;
        else if (c.nodeType === 1) full += this.text(c).full;
      }
      if (node.shadowRoot) full += this.text(node.shadowRoot).full;
    }
    t = { full, normalized: normalizeSpace(full) };
    this._texts.set(node, t);
    return t;
  }

  // getByText(text, {exact: true}): elements whose whole text is `text`
  // and none of whose children's is. Found from the text nodes up, so a
  // page's other text is only scanned, never assembled.
  _queryText(scope, text) {
    const out = new Set();
    const consider = (el) => {
      for (let n = el; n && n.nodeType === 1; n = parentOf(n)) {
        if (scope !== this.doc && (n === scope || !isInside(scope, n))) return;
        const t = this.text(n).normalized;
        if (t.length > text.length) return;
        if (t === text && this._textSelf(n, text)) out.add(n);
      }
    };
    for (const root of this.roots()) {
      if (scope !== this.doc && root !== this.doc && !isInside(scope, root.host)) continue;
      const walker = this.doc.createTreeWalker(root === this.doc ? (scope === this.doc ? root : scope) : root, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const v = node.nodeValue;
        if (v.length > text.length * 4 + 64) continue;
        const piece = normalizeSpace(v);
        if (piece && text.includes(piece)) {
          const parent = node.parentNode;
          consider(parent.nodeType === 11 ? parent.host : parent);
        }
      }
    }
    for (const input of this.queryDeep(scope, 'input[type=submit i],input[type=button i],input[type=reset i]')) {
      if (this.text(input).normalized === text) out.add(input);
    }
    return [...out];
  }

  _textSelf(el, text) {
    for (let c = el.firstElementChild; c; c = c.nextElementSibling) if (this.text(c).normalized === text) return false;
    return !(el.shadowRoot && this.text(el.shadowRoot).normalized === text);
  }

  // Playwright's getElementLabels: aria-labelledby targets, else
  // aria-label, else the <label>s of a labelable element; as texts.
  labels(el) {
    const ids = el.getAttribute('aria-labelledby');
    if (ids !== null) {
      const root = el.getRootNode();
      const refs = ids.split(' ').filter(Boolean).map((id) => root.querySelector('#' + cssEscape(id))).filter(Boolean);
      if (refs.length) return refs.map((r) => this.text(r).normalized);
    }
    const aria = el.getAttribute('aria-label');
    if (aria !== null && aria.trim()) return [normalizeSpace(aria)];
    if (el.labels) return [...el.labels].map((l) => this.text(l).normalized);
    return [];
  }

  // The elements a locator finds in scope.
  query(loc, scope = this.doc) {
    if (loc.within) {
      const outer = this.query(loc.within, scope);
      if (outer.length !== 1) return [];
      return this.query({ ...loc, within: undefined }, outer[0]);
    }
    let found;
    switch (loc.by) {
      case 'testId':
        found = this.queryDeep(scope, cssAttr(loc.attribute, loc.value));
        break;
      case 'role': {
        const re = loc.pattern !== undefined ? new RegExp(loc.pattern, 'u') : null;
        const css = '[role]' + (IMPLICIT_ROLE_TAGS[loc.role] ? ',' + IMPLICIT_ROLE_TAGS[loc.role] : '');
        found = this.queryDeep(scope, css).filter((el) => this.role(el) === loc.role && !this.hidden(el) &&
          (re ? re.test(this.name(el)) : this.name(el) === loc.name));
        break;
      }
      case 'label':
        found = this.queryDeep(scope, LABELABLE).filter((el) => this.labels(el).includes(loc.text));
        break;
      case 'placeholder':
        found = this.queryDeep(scope, '[placeholder]').filter((el) => el.getAttribute('placeholder') === loc.text);
        break;
      case 'text':
        found = this._queryText(scope, loc.text);
        break;
      case 'css':
        found = this.queryCss(scope, loc.selector);
        break;
      case 'xpath': {
        if (scope !== this.doc) return [];
        const r = this.doc.evaluate(loc.selector, this.doc, null, 7 /* ORDERED_NODE_SNAPSHOT_TYPE */, null);
        found = [];
        for (let i = 0; i < r.snapshotLength; i++) found.push(r.snapshotItem(i));
        break;
      }
      default:
        return [];
    }
    if (loc.hasText !== undefined) {
      const needle = normalizeSpace(loc.hasText).toLowerCase();
      found = found.filter((el) => this.text(el).normalized.toLowerCase().includes(needle));
    }
    // Dedupe (selector lists may match an element twice) in document order.
    return [...new Set(found)];
  }

  // Whether the locator finds exactly el in scope.
  finds(loc, el, scope = this.doc) {
    try {
      const found = this.query(loc, scope);
      return found.length === 1 && found[0] === el;
    } catch {
      return false; // an invalid selector or pattern finds nothing
    }
  }
}
