// @vitest-environment jsdom
import { describe, it, expect, beforeEach } from 'vitest';
import { locators } from './load-content.js';

// What Playwright would match for a recorded `selector` (CSS chains and
// xpath= only; role selectors are checked by the e2e tests in Chromium).
function resolve(selector, doc = document) {
  if (selector.startsWith('xpath=')) {
    const r = doc.evaluate(selector.slice(6), doc, null, 7, null);
    return Array.from({ length: r.snapshotLength }, (_, i) => r.snapshotItem(i));
  }
  return locators.queryChain(doc, selector);
}

function expectUnique(el) {
  const d = locators.describeTarget(el);
  expect(d.selector).toBeTruthy();
  if (!d.selector.startsWith('role=')) expect(resolve(d.selector, el.ownerDocument)).toEqual([el]);
  if (d.selectors.css) expect(locators.queryChain(el.ownerDocument, d.selectors.css)).toEqual([el]);
  if (d.selectors.xpath) expect(resolve('xpath=' + d.selectors.xpath, el.ownerDocument)).toEqual([el]);
  return d;
}

beforeEach(() => { document.body.innerHTML = ''; });

describe('describeTarget', () => {
  it('prefers a unique test id', () => {
    document.body.innerHTML = '<button data-testid="add-to-cart">Add to Cart</button><button>Add to Cart</button>';
    const d = expectUnique(document.querySelector('[data-testid]'));
    expect(d.selector).toBe('[data-testid="add-to-cart"]');
    expect(d.selectors.testId).toEqual({ attribute: 'data-testid', value: 'add-to-cart' });
  });

  it('skips a test id that is not unique and uses role and name', () => {
    document.body.innerHTML = '<button data-cy="buy">Buy now</button><button data-cy="buy">Add to list</button>';
    const d = expectUnique(document.querySelectorAll('button')[1]);
    expect(d.selectors.testId).toBeUndefined();
    expect(d.selector).toBe('role=button[name="Add to list"]');
  });

  it('does not use a role name that is a substring of another one', () => {
    document.body.innerHTML = '<ul><li><a href="/a">Shoes</a></li><li><a href="/b">Running shoes</a></li></ul>';
    const d = expectUnique(document.querySelector('a[href="/a"]'));
    expect(d.selectors.role).toBeUndefined();
    expect(d.selector).toBe('li:nth-of-type(1) > a');
  });

  it('never uses duplicate ids', () => {
    document.body.innerHTML = '<div id="item"><span>a</span></div><div id="item"><span>b</span><span>c</span></div>';
    const target = document.querySelectorAll('#item')[1].children[1];
    const d = expectUnique(target);
    expect(d.selectors.css).not.toContain('#item');
    expect(d.selectors.xpath).not.toContain('@id');
  });

  it('anchors on a stable unique id', () => {
    document.body.innerHTML = '<aside><div></div><div><b>v</b><b>w</b></div></aside>' +
      '<section id="product"><div><b>x</b></div><div><b>y</b><b>z</b></div></section>';
    const d = expectUnique(document.querySelectorAll('#product b')[2]);
    expect(d.selectors.css).toBe('#product > div:nth-of-type(2) > b:nth-of-type(2)');
    expect(d.selectors.xpath).toBe('//*[@id="product"]/div[2]/b[2]');
  });

  it('ignores generated class names and ids', () => {
    document.body.innerHTML = '<div class="css-1x2y3z"><a class="sc-abc123 nav-link" id=":r3:">x</a>' +
      '<a class="Button_primary__3xYz1 nav-link" id="ember1234">y</a></div>';
    const d = expectUnique(document.querySelectorAll('a')[1]);
    expect(d.selectors.css).not.toMatch(/css-|sc-|__3xYz1|ember|:r3:/);
    expect(d.selectors.css).toBe('a.nav-link:nth-of-type(2)');
    for (const token of ['css-1x2y3z', 'sc-abc123', 'Button_primary__3xYz1', ':r3:', 'ember1234', 'a1b2c3d4-0000-1111']) {
      expect(locators.isGeneratedToken(token)).toBe(true);
    }
    for (const token of ['nav-link', 'product-card', 'btn', 'col-6', 'checkout']) {
      expect(locators.isGeneratedToken(token)).toBe(false);
    }
  });

  it('reaches into open shadow roots with a " >> " chain', () => {
    document.body.innerHTML = '<shop-card id="c1"></shop-card><shop-card id="c2"></shop-card>';
    for (const host of document.querySelectorAll('shop-card')) {
      host.attachShadow({ mode: 'open' }).innerHTML = '<div class="actions"><button class="buy"></button></div>';
    }
    const target = document.getElementById('c2').shadowRoot.querySelector('button');
    const d = expectUnique(target);
    expect(d.selectors.css).toBe('#c2 >> button.buy');
    expect(d.selectors.xpath).toBeUndefined();
    expect(d.element.text).toBe('');
  });

  it('counts matches inside shadow roots when checking uniqueness', () => {
    document.body.innerHTML = '<button class="buy">A</button><x-widget></x-widget>';
    document.querySelector('x-widget').attachShadow({ mode: 'open' }).innerHTML = '<button class="buy">B</button>';
    const d = expectUnique(document.querySelector('button'));
    expect(d.selectors.css).not.toBe('button.buy');
  });

  it('describes elements inside an iframe relative to their own document', () => {
    document.body.innerHTML = '<iframe></iframe>';
    const doc = document.querySelector('iframe').contentDocument;
    doc.body.innerHTML = '<form><input name="q" placeholder="Search products"><button>Go</button></form>';
    const d = expectUnique(doc.querySelector('input'));
    expect(d.selector).toBe('role=textbox[name="Search products"]');
    expect(d.selectors.placeholder).toBe('Search products');
    expect(locators.cssSelector(document.querySelector('iframe'))).toBe('iframe');
  });

  it('handles icon-only buttons with no text', () => {
    document.body.innerHTML = '<nav><button><svg></svg></button><button><svg></svg></button></nav>';
    const d = expectUnique(document.querySelectorAll('button')[1]);
    expect(d.selectors.role).toBeUndefined();
    expect(d.selectors.text).toBeUndefined();
    expect(d.selector).toBe('button:nth-of-type(2)');
    expect(d.element).toMatchObject({ tag: 'button', text: '', name: '' });
  });

  it('names controls by aria-label, label and alt', () => {
    document.body.innerHTML = '<button aria-label="Close cart">x</button><label for="e">Email address</label><input id="e" type="email">' +
      '<a href="/"><img alt="Home"></a>';
    expect(locators.accessibleName(document.querySelector('button'))).toBe('Close cart');
    expect(locators.accessibleName(document.querySelector('input'))).toBe('Email address');
    expect(locators.accessibleName(document.querySelector('a'))).toBe('Home');
    expect(expectUnique(document.querySelector('input')).selectors.label).toBe('Email address');
  });

  it('drops locators that would carry personal data and masks the description', () => {
    document.body.innerHTML = '<a href="mailto:ann@example.com">Write to ann@example.com</a><a href="/x">Other</a>';
    const d = expectUnique(document.querySelector('a'));
    expect(JSON.stringify(d)).not.toContain('ann@example.com');
    expect(d.selectors.role).toBeUndefined();
    expect(d.element.text).toBe('Write to <EMAIL>');
  });
});

describe('interactiveTarget', () => {
  it('moves to the nearest interactive ancestor, across shadow roots', () => {
    document.body.innerHTML = '<a href="/p"><div><span id="s">Shoe</span></div></a><div id="plain"><i>x</i></div><my-btn role="button"></my-btn>';
    expect(locators.interactiveTarget(document.getElementById('s')).localName).toBe('a');
    const i = document.querySelector('#plain i');
    expect(locators.interactiveTarget(i)).toBe(i);
    const root = document.querySelector('my-btn').attachShadow({ mode: 'open' });
    root.innerHTML = '<span>Buy</span>';
    expect(locators.interactiveTarget(root.querySelector('span')).localName).toBe('my-btn');
  });
});
