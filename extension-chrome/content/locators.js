// Locators for a recorded target element: several strategies, each kept only
// when it matches exactly that one element right now. Uniqueness follows
// Playwright's rules, because the recordings are replayed with Playwright:
// CSS and test-id selectors pierce open shadow roots, role names match as
// case-insensitive substrings. A classic script, see privacy.js.
(function () {
  'use strict';
  const cs = (globalThis.codesight = globalThis.codesight || {});

  const TEST_ID_ATTRIBUTES = ['data-testid', 'data-test', 'data-qa', 'data-cy'];
  // What a click is retargeted to, as Playwright retargets its actions.
  const INTERACTIVE = 'button, a[href], input, select, textarea, summary, option, label, [contenteditable=""], [contenteditable="true"], ' +
    '[role=button], [role=link], [role=checkbox], [role=radio], [role=switch], [role=menuitem], [role=menuitemcheckbox], ' +
    '[role=menuitemradio], [role=tab], [role=option], [role=combobox], [role=textbox], [role=searchbox], [role=slider], [role=spinbutton]';
  const NAME_FROM_CONTENT = new Set(['button', 'link', 'checkbox', 'radio', 'switch', 'menuitem', 'menuitemcheckbox',
    'menuitemradio', 'tab', 'option', 'heading', 'cell', 'columnheader', 'rowheader', 'treeitem', 'tooltip']);
  const MAX_NAME = 80;

  function maskText(s) { return cs.privacy.maskText(s); }
  function normalize(s) { return (s || '').replace(/\s+/g, ' ').trim(); }

  // The parent element, stepping out of a shadow root to its host.
  function parentOf(el) {
    if (el.parentElement) return el.parentElement;
    const p = el.parentNode;
    return p && p.nodeType === 11 && p.host ? p.host : null;
  }

  function interactiveTarget(el) {
    for (let n = el; n; n = parentOf(n)) if (n.matches && n.matches(INTERACTIVE)) return n;
    return el;
  }

  // Every element under scope, including inside open shadow roots.
  function* allElementsDeep(scope) {
    const stack = [scope];
    while (stack.length) {
      const node = stack.pop();
      if (node.nodeType === 1) yield node;
      if (node.shadowRoot) stack.push(node.shadowRoot);
      for (let c = node.lastElementChild; c; c = c.previousElementSibling) stack.push(c);
    }
  }

  // querySelectorAll in scope and in every open shadow root below it, as
  // Playwright's css engine does.
  function deepQueryAll(scope, css) {
    const out = [];
    const roots = [scope];
    for (const el of allElementsDeep(scope)) if (el.shadowRoot) roots.push(el.shadowRoot);
    for (const root of roots) {
      for (const m of root.querySelectorAll(css)) if (!out.includes(m)) out.push(m);
    }
    return out;
  }

  // A chain of CSS selectors joined by " >> ": each part is searched inside
  // the element the previous one matched (Playwright's chaining).
  function queryChain(doc, selector) {
    let scopes = [doc];
    for (const part of selector.split(' >> ')) {
      const next = [];
      for (const s of scopes) for (const m of deepQueryAll(s, part)) if (!next.includes(m)) next.push(m);
      scopes = next;
    }
    return scopes;
  }

  function isGeneratedToken(token) {
    return token.length > 40 ||
      /^(?:css|sc|jsx|emotion|styled|svelte|ember|react|radix|headlessui|mui|chakra)-/i.test(token) ||
      /^:?r[0-9a-z]*:$/.test(token) ||
      /\d{4,}/.test(token) ||
      /[0-9a-f]{8}-[0-9a-f]{4}-/i.test(token) ||
      /(?:^|[-_])(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{5,}$/.test(token);
  }

  function cssEscape(ident) {
    if (globalThis.CSS && CSS.escape) return CSS.escape(ident);
    return ident.replace(/[^A-Za-z0-9_-]/g, (c) => '\\' + c).replace(/^(-?)(\d)/, '$1\\3$2 ');
  }
  function quote(value) { return JSON.stringify(value); }

  function tagOf(el) { return el.localName; }

  // One step of a CSS path: #id when the id is stable and unique in its
  // tree, else the tag with stable classes and :nth-of-type as needed.
  function cssSegment(el) {
    const root = el.getRootNode();
    if (el.id && !isGeneratedToken(el.id) && root.querySelectorAll('#' + cssEscape(el.id)).length === 1) {
      return '#' + cssEscape(el.id);
    }
    const tag = cssEscape(tagOf(el));
    const classes = [...el.classList].filter((c) => !isGeneratedToken(c)).slice(0, 2);
    let css = tag + classes.map((c) => '.' + cssEscape(c)).join('');
    const parent = el.parentNode;
    if (parent) {
      const sameTag = [...parent.children].filter((c) => c.localName === el.localName);
      const sameCss = sameTag.filter((c) => c.matches(css));
      if (sameCss.length > 1) css += `:nth-of-type(${sameTag.indexOf(el) + 1})`;
    }
    return css;
  }

  // The shortest " > " path, within el's own tree, that `isUnique` accepts.
  function cssInTree(el, isUnique) {
    const parts = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      parts.unshift(cssSegment(n));
      const css = parts.join(' > ');
      if (isUnique(css)) return css;
    }
    return null;
  }

  // Shadow hosts from the outermost to el's own tree.
  function shadowHosts(el) {
    const hosts = [];
    for (let root = el.getRootNode(); root.host; root = root.host.getRootNode()) hosts.unshift(root.host);
    return hosts;
  }

  function uniqueIn(scope, el) {
    return (css) => {
      try {
        const m = deepQueryAll(scope, css);
        return m.length === 1 && m[0] === el;
      } catch { return false; }
    };
  }

  function cssSelector(el) {
    const doc = el.ownerDocument;
    const chain = [...shadowHosts(el), el];
    const parts = [];
    let scope = doc;
    for (const node of chain) {
      const part = cssInTree(node, uniqueIn(scope, node));
      if (!part) return null;
      parts.push(part);
      scope = node;
    }
    return parts.join(' >> ');
  }

  function xpathStep(el) {
    const name = el.namespaceURI === 'http://www.w3.org/1999/xhtml' ? el.localName : `*[local-name()="${el.localName}"]`;
    const parent = el.parentNode;
    const same = parent ? [...parent.children].filter((c) => c.localName === el.localName) : [el];
    return same.length > 1 ? `${name}[${same.indexOf(el) + 1}]` : name;
  }

  // An XPath from the nearest ancestor with a stable unique id, or from the
  // root; XPath cannot enter shadow roots, so those elements get none.
  function xpathSelector(el) {
    const doc = el.ownerDocument;
    if (el.getRootNode() !== doc) return null;
    const steps = [];
    let n = el;
    for (; n && n.nodeType === 1; n = n.parentElement) {
      if (n.id && !isGeneratedToken(n.id) && !n.id.includes('"') && doc.querySelectorAll('#' + cssEscape(n.id)).length === 1) {
        steps.unshift(`//*[@id="${n.id}"]`);
        break;
      }
      steps.unshift(xpathStep(n));
    }
    const xpath = n ? steps.join('/') : '/' + steps.join('/');
    if (typeof doc.evaluate === 'function') {
      const r = doc.evaluate(xpath, doc, null, 7 /* ORDERED_NODE_SNAPSHOT_TYPE */, null);
      if (r.snapshotLength !== 1 || r.snapshotItem(0) !== el) return null;
    }
    return xpath;
  }

  function explicitRole(el) {
    const r = (el.getAttribute('role') || '').trim().split(/\s+/)[0];
    return r || null;
  }

  function implicitRole(el) {
    const tag = el.localName;
    const type = (el.getAttribute('type') || 'text').toLowerCase();
    switch (tag) {
      case 'a': case 'area': return el.hasAttribute('href') ? 'link' : null;
      case 'button': return 'button';
      case 'input':
        if (['button', 'submit', 'reset', 'image'].includes(type)) return 'button';
        if (type === 'checkbox' || type === 'radio') return type;
        if (type === 'range') return 'slider';
        if (type === 'number') return 'spinbutton';
        if (type === 'hidden') return null;
        if (el.hasAttribute('list')) return 'combobox';
        return type === 'search' ? 'searchbox' : 'textbox';
      case 'select': return el.multiple || el.size > 1 ? 'listbox' : 'combobox';
      case 'textarea': return 'textbox';
      case 'option': return 'option';
      case 'img': return el.getAttribute('alt') === '' ? 'presentation' : 'img';
      case 'h1': case 'h2': case 'h3': case 'h4': case 'h5': case 'h6': return 'heading';
      case 'li': return 'listitem';
      case 'ul': case 'ol': return 'list';
      case 'nav': return 'navigation';
      case 'form': return 'form';
      case 'dialog': return 'dialog';
      default: return null;
    }
  }

  function roleOf(el) { return explicitRole(el) || implicitRole(el); }

  function isHiddenForName(el) {
    if (el.getAttribute('aria-hidden') === 'true' || el.hidden) return true;
    const view = el.ownerDocument.defaultView;
    const style = view && view.getComputedStyle ? view.getComputedStyle(el) : null;
    return !!style && (style.display === 'none' || style.visibility === 'hidden');
  }

  function textFromContent(node) {
    let out = '';
    for (let c = node.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === 3) out += c.nodeValue;
      else if (c.nodeType === 1) {
        if (isHiddenForName(c) || c.localName === 'script' || c.localName === 'style') continue;
        if (c.localName === 'img') out += ' ' + (c.getAttribute('alt') || '') + ' ';
        else if (c.hasAttribute('aria-label')) out += ' ' + c.getAttribute('aria-label') + ' ';
        else out += ' ' + textFromContent(c.shadowRoot || c) + ' ';
      }
    }
    return out;
  }

  // A simplified accessible name (aria-labelledby, aria-label, labels,
  // alt/value/title/placeholder, then content for roles named by content).
  function accessibleName(el) {
    const doc = el.ownerDocument;
    const labelledby = el.getAttribute('aria-labelledby');
    if (labelledby) {
      const root = el.getRootNode();
      const text = labelledby.split(/\s+/).map((id) => {
        const ref = root.getElementById ? root.getElementById(id) : doc.getElementById(id);
        return ref ? textFromContent(ref) : '';
      }).join(' ');
      if (normalize(text)) return normalize(text);
    }
    const aria = el.getAttribute('aria-label');
    if (aria && normalize(aria)) return normalize(aria);
    const tag = el.localName;
    const type = (el.getAttribute('type') || '').toLowerCase();
    if (tag === 'input' && ['button', 'submit', 'reset'].includes(type)) {
      return normalize(el.getAttribute('value') || { submit: 'Submit', reset: 'Reset' }[type] || '');
    }
    if (tag === 'input' && type === 'image') return normalize(el.getAttribute('alt') || el.getAttribute('value') || '');
    if (el.labels && el.labels.length) {
      const text = normalize([...el.labels].map(textFromContent).join(' '));
      if (text) return text;
    }
    if (tag === 'img') return normalize(el.getAttribute('alt') || el.getAttribute('title') || '');
    const role = roleOf(el);
    if (role && NAME_FROM_CONTENT.has(role)) {
      const text = normalize(textFromContent(el.shadowRoot || el));
      if (text) return text;
    }
    return normalize(el.getAttribute('title') || el.getAttribute('placeholder') || '');
  }

  function roleLocator(el) {
    const role = roleOf(el);
    if (!role || role === 'presentation' || role === 'none') return null;
    const name = accessibleName(el);
    if (name.length > MAX_NAME || maskText(name) !== name) return null;
    const needle = name.toLowerCase();
    let count = 0;
    for (const other of allElementsDeep(el.ownerDocument)) {
      if (roleOf(other) !== role) continue;
      if (!needle || accessibleName(other).toLowerCase().includes(needle)) count++;
      if (count > 1) return null;
    }
    if (count !== 1) return null;
    const selector = name ? `role=${role}[name=${quote(name)}]` : `role=${role}`;
    return { role, name, selector };
  }

  function testIdLocator(el) {
    for (const attribute of TEST_ID_ATTRIBUTES) {
      const value = el.getAttribute(attribute);
      if (!value || maskText(value) !== value) continue;
      const css = `[${attribute}=${quote(value)}]`;
      if (uniqueIn(el.ownerDocument, el)(css)) return { attribute, value, selector: css };
    }
    return null;
  }

  function placeholderLocator(el) {
    const value = el.getAttribute('placeholder');
    if (!value || maskText(value) !== value) return null;
    const css = `[placeholder=${quote(value)}]`;
    return uniqueIn(el.ownerDocument, el)(css) ? { value, selector: css } : null;
  }

  function labelLocator(el) {
    if (!el.labels || !el.labels.length) return null;
    const text = normalize(textFromContent(el.labels[0]));
    if (!text || text.length > MAX_NAME || maskText(text) !== text) return null;
    let count = 0;
    for (const other of allElementsDeep(el.ownerDocument)) {
      if (other.labels && [...other.labels].some((l) => normalize(textFromContent(l)) === text)) count++;
    }
    return count === 1 ? text : null;
  }

  // innerText (rendered text) where the DOM implements it.
  function ownText(el) { return normalize(el.innerText || el.textContent); }

  // Unique when no other element has exactly this text, ignoring ancestors
  // that only repeat a matching descendant's text (as Playwright does).
  function textLocator(el) {
    const text = normalize(el.textContent);
    if (!text || text.length > MAX_NAME || maskText(text) !== text) return null;
    const matches = [];
    for (const other of allElementsDeep(el.ownerDocument)) {
      if (normalize(other.textContent) === text) matches.push(other);
    }
    const innermost = matches.filter((m) => !matches.some((o) => o !== m && m.contains(o)));
    const mine = innermost.filter((m) => m === el || el.contains(m));
    return innermost.length === 1 && mine.length === 1 ? text : null;
  }

  const KEY_ATTRIBUTES = ['id', 'name', 'type', 'href', 'aria-label', 'placeholder', 'title', 'alt', 'role',
    'data-testid', 'data-test', 'data-qa', 'data-cy'];

  function elementInfo(el) {
    const attributes = {};
    for (const a of KEY_ATTRIBUTES) {
      const v = el.getAttribute(a);
      if (v !== null) attributes[a] = a === 'href' ? cs.privacy.maskUrl(el.href || v) : maskText(v);
    }
    const r = el.getBoundingClientRect();
    const role = roleOf(el);
    const text = el.localName === 'input' || el.localName === 'textarea' || el.localName === 'select' ? '' : ownText(el);
    return {
      tag: el.localName,
      role,
      name: maskText(accessibleName(el)),
      text: maskText(text.slice(0, 100).trim()),
      attributes,
      boundingBox: { x: Math.round(r.x), y: Math.round(r.y), width: Math.round(r.width), height: Math.round(r.height) },
    };
  }

  // {selector, selectors, element} for a target; `selector` is the first
  // unique of test id, role, placeholder, CSS, XPath (Playwright syntax).
  function describeTarget(el) {
    const selectors = {};
    const testId = testIdLocator(el);
    if (testId) selectors.testId = { attribute: testId.attribute, value: testId.value };
    const role = roleLocator(el);
    if (role) selectors.role = { role: role.role, name: role.name };
    const placeholder = placeholderLocator(el);
    if (placeholder) selectors.placeholder = placeholder.value;
    const label = labelLocator(el);
    if (label) selectors.label = label;
    const text = textLocator(el);
    if (text) selectors.text = text;
    const css = cssSelector(el);
    if (css && maskText(css) === css) selectors.css = css;
    const xpath = xpathSelector(el);
    if (xpath && maskText(xpath) === xpath) selectors.xpath = xpath;
    const selector = (testId && testId.selector) || (role && role.selector) || (placeholder && placeholder.selector) ||
      selectors.css || (selectors.xpath && 'xpath=' + selectors.xpath) || null;
    return { selector, selectors, element: elementInfo(el) };
  }

  cs.locators = {
    describeTarget, interactiveTarget, cssSelector, xpathSelector, roleOf, accessibleName,
    queryChain, deepQueryAll, isGeneratedToken, parentOf,
  };
})();
