// @vitest-environment jsdom
// Locator generation on tricky DOMs. Each recorded locator is checked with
// the recorder's own engine here; test/e2e/corpus.test.js checks them with
// Playwright itself in Chromium.
import { describe, it, expect, beforeEach } from 'vitest';
import { describeTarget, interactiveTarget, isGeneratedToken, frameSelector } from '../content/locators.js';
import { Engine } from '../content/engine.js';
import { nameOf } from '../content/accessibility.js';

function describe1(el) {
  const d = describeTarget(el);
  const engine = new Engine(el.ownerDocument);
  expect(d.locators.length).toBeGreaterThan(0);
  for (const loc of d.locators) expect(engine.query(loc), JSON.stringify(loc)).toEqual([el]);
  return d;
}

beforeEach(() => { document.body.innerHTML = ''; });

describe('describeTarget', () => {
  it('prefers a unique test id', () => {
    document.body.innerHTML = '<button data-testid="add-to-cart">Add to Cart</button><button>Add to Cart</button>';
    const d = describe1(document.querySelector('[data-testid]'));
    expect(d.selector).toBe('[data-testid="add-to-cart"]');
    expect(d.locators[0]).toEqual({ by: 'testId', attribute: 'data-testid', value: 'add-to-cart' });
    expect(d.selectors.testId).toEqual({ attribute: 'data-testid', value: 'add-to-cart' });
  });

  it('skips a test id that is not unique and uses role and exact name', () => {
    document.body.innerHTML = '<button data-cy="buy">Buy now</button><button data-cy="buy">Add to list</button>';
    const d = describe1(document.querySelectorAll('button')[1]);
    expect(d.selectors.testId).toBeUndefined();
    expect(d.locators[0]).toEqual({ by: 'role', role: 'button', name: 'Add to list' });
    expect(d.selector).toBe('role=button[name="Add to list"s]');
  });

  it('matches names exactly, as getByRole with exact: true does', () => {
    document.body.innerHTML = '<ul><li><a href="/a">Shoes</a></li><li><a href="/b">Running shoes</a></li><li><a href="/c">shoes</a></li></ul>';
    const d = describe1(document.querySelector('a[href="/a"]'));
    expect(d.locators[0]).toEqual({ by: 'role', role: 'link', name: 'Shoes' });
  });

  it('leaves counts out of a name: a stable attribute first, then a pattern, the exact name last', () => {
    // jsdom has no user-agent style sheet: the span is inline as in a browser.
    document.body.innerHTML = '<nav><a href="/cart">Cart (<span style="display: inline">3</span>)</a><a href="/orders">Orders</a></nav>';
    const link = document.querySelector('a');
    expect(nameOf(link)).toBe('Cart (3)');
    const d = describe1(link);
    expect(d.locators.map((l) => l.by)).toEqual(['css', 'role', 'role']);
    expect(d.locators[0]).toEqual({ by: 'css', selector: 'a[href="/cart"]' });
    expect(d.locators[1]).toEqual({ by: 'role', role: 'link', pattern: '^Cart(?![\\p{L}\\p{N}])' });
    expect(d.locators[2]).toEqual({ by: 'role', role: 'link', name: 'Cart (3)' });
    // The pattern still finds the link once the count changed.
    link.querySelector('span').textContent = '12';
    expect(new Engine(document).query(d.locators[1])).toEqual([link]);
  });

  it('keeps numbers that tell products apart', () => {
    document.body.innerHTML = '<a href="#">Bag No. 23</a><a href="#">Bag No. 24</a>';
    const d = describe1(document.querySelector('a'));
    expect(d.locators[0]).toEqual({ by: 'role', role: 'link', name: 'Bag No. 23' });
  });

  it('tells identical buttons apart by the card around them', () => {
    document.body.innerHTML = '<ul class="grid">' +
      ['Classic Tee', 'Trail Runner', 'Canvas Bag'].map((n) => `<li class="card css-x1y2z3"><h3>${n}</h3><p>$19</p><button>Add to cart</button></li>`).join('') +
      '</ul>';
    const d = describe1(document.querySelectorAll('button')[1]);
    expect(d.locators[0]).toEqual({
      by: 'role', role: 'button', name: 'Add to cart',
      within: { by: 'css', selector: 'li.card', hasText: 'Trail Runner' },
    });
    expect(d.selector).toBe('css=li.card >> internal:has-text="Trail Runner"i >> role=button[name="Add to cart"s]'.replace('css=', ''));
  });

  it('never uses duplicate ids', () => {
    document.body.innerHTML = '<div id="item"><span>a</span></div><div id="item"><span>b</span><span>c</span></div>';
    const target = document.querySelectorAll('#item')[1].children[1];
    const d = describe1(target);
    expect(d.selectors.css).not.toContain('#item');
  });

  it('anchors CSS on a stable unique id', () => {
    document.body.innerHTML = '<aside><div></div><div><b>v</b><b>w</b></div></aside>' +
      '<section id="product"><div><b>x</b></div><div><b>y</b><b>w</b></div></section>';
    const d = describe1(document.querySelectorAll('#product b')[2]);
    expect(d.selectors.css).toBe('#product > div:nth-of-type(2) > b:nth-of-type(2)');
  });

  it('ignores generated class names and ids', () => {
    document.body.innerHTML = '<div class="css-1x2y3z"><i class="sc-abc123 nav-link" id=":r3:"></i>' +
      '<i class="Button_primary__3xYz1 nav-link" id="ember1234"></i></div>';
    const d = describe1(document.querySelectorAll('i')[1]);
    expect(d.selectors.css).not.toMatch(/css-|sc-|__3xYz1|ember|:r3:/);
    expect(d.selectors.css).toBe('i.nav-link:nth-of-type(2)');
    for (const token of ['css-1x2y3z', 'sc-abc123', 'Button_primary__3xYz1', ':r3:', 'ember1234', 'a1b2c3d4-0000-1111']) {
      expect(isGeneratedToken(token)).toBe(true);
    }
    for (const token of ['nav-link', 'product-card', 'btn', 'col-6', 'checkout']) expect(isGeneratedToken(token)).toBe(false);
  });

  it('reaches into open shadow roots with a " >> " chain and names from shadow content', () => {
    document.body.innerHTML = '<shop-card id="c1"></shop-card><shop-card id="c2"></shop-card>';
    let i = 0;
    for (const host of document.querySelectorAll('shop-card')) {
      host.attachShadow({ mode: 'open' }).innerHTML = `<div class="actions"><button class="buy"><price-tag></price-tag></button></div>`;
      host.shadowRoot.querySelector('price-tag').attachShadow({ mode: 'open' }).innerHTML = `<span>Buy ${++i === 1 ? 'one' : 'two'}</span>`;
    }
    const target = document.getElementById('c2').shadowRoot.querySelector('button');
    const d = describe1(target);
    expect(d.locators[0]).toEqual({ by: 'role', role: 'button', name: 'Buy two' });
    expect(d.selectors.css).toBe('#c2 >> button.buy');
  });

  it('counts matches inside shadow roots when checking uniqueness', () => {
    document.body.innerHTML = '<button class="buy">A</button><x-widget></x-widget>';
    document.querySelector('x-widget').attachShadow({ mode: 'open' }).innerHTML = '<button class="buy">A</button>';
    const d = describe1(document.querySelector('button'));
    expect(d.selectors.css).not.toBe('button.buy');
    expect(d.selectors.role).toBeUndefined();
  });

  it('names a field by its label, and by its placeholder when nothing else names it', () => {
    document.body.innerHTML = '<label for="e">Email address</label><input id="e" type="email" autocomplete="email">' +
      '<input name="q" placeholder="Search products">';
    const email = describe1(document.querySelector('#e'));
    expect(email.locators[0]).toEqual({ by: 'role', role: 'textbox', name: 'Email address' });
    expect(email.locators[1]).toEqual({ by: 'label', text: 'Email address' });
    expect(email.element).toMatchObject({ label: 'Email address', attributes: { autocomplete: 'email', type: 'email' } });
    const search = describe1(document.querySelector('[name=q]'));
    expect(search.locators[0]).toEqual({ by: 'role', role: 'textbox', name: 'Search products' });
    expect(search.locators).toContainEqual({ by: 'placeholder', text: 'Search products' });
  });

  it('falls back to text, then to a CSS path, for generic elements', () => {
    document.body.innerHTML = '<div class="opts"><div class="opt">Small</div><div class="opt">Large</div></div><p>Large print</p>';
    const d = describe1(document.querySelectorAll('.opt')[1]);
    expect(d.locators[0]).toEqual({ by: 'text', text: 'Large' });
    expect(d.locators.at(-1).by).toBe('css');
  });

  it('handles icon-only buttons with no name', () => {
    document.body.innerHTML = '<nav><button><svg></svg></button><button><svg></svg></button></nav>';
    const d = describe1(document.querySelectorAll('button')[1]);
    expect(d.selectors.role).toBeUndefined();
    expect(d.selector).toBe('button:nth-of-type(2)');
    expect(d.element).toMatchObject({ tag: 'button', text: '', name: '' });
  });

  it('drops locators that would carry personal data and masks the description', () => {
    document.body.innerHTML = '<a href="mailto:ann@example.com">Write to ann@example.com</a><a href="/x">Other</a>';
    const d = describe1(document.querySelector('a'));
    expect(JSON.stringify(d)).not.toContain('ann@example.com');
    expect(d.selectors.role).toBeUndefined();
    expect(d.element.text).toBe('Write to <EMAIL>');
  });

  it('gives iframes the selector Playwright codegen would', () => {
    document.body.innerHTML = '<iframe title="Newsletter"></iframe><iframe name="pay"></iframe><iframe></iframe>';
    const [a, b, c] = document.querySelectorAll('iframe');
    expect(frameSelector(a)).toBe('iframe[title="Newsletter"]');
    expect(frameSelector(b)).toBe('iframe[name="pay"]');
    expect(frameSelector(c)).toBe('iframe:nth-of-type(3)');
  });
});

describe('interactiveTarget', () => {
  it('moves to the nearest interactive ancestor, across shadow roots', () => {
    document.body.innerHTML = '<a href="/p"><div><span id="s">Shoe</span></div></a><div id="plain"><i>x</i></div><my-btn role="button"></my-btn>';
    expect(interactiveTarget(document.getElementById('s')).localName).toBe('a');
    const i = document.querySelector('#plain i');
    expect(interactiveTarget(i)).toBe(i);
    const root = document.querySelector('my-btn').attachShadow({ mode: 'open' });
    root.innerHTML = '<span>Buy</span>';
    expect(interactiveTarget(root.querySelector('span')).localName).toBe('my-btn');
  });
});
