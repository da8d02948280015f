import { describe, expect, it } from 'vitest';
import type { SessionEvent } from '../api/types';
import { readableSteps, shopPages } from './steps';
import checkout from '../../../test/fixtures/sessions/flow-checkout.json';

const SHOP = 'http://shop.test';
const OWN = 'http://127.0.0.1:8787';
let t = 1_700_000_000_000;

// Events numbered in order, each 100 ms after the one before.
function session(...events: Omit<SessionEvent, 'seq' | 'timestamp'>[]): SessionEvent[] {
  return events.map((e, i) => ({ ...e, seq: i + 1, timestamp: (t += 100) }));
}
const nav = (url: string) => ({ type: 'navigation', data: { url, frameId: 0 } });
const load = (url: string, title: string) => ({ type: 'page', data: { url, action: 'load', title, framePath: [] } });
const page = (url: string, action: string) => ({ type: 'page', data: { url, action, framePath: [] } });
const tab = (action: string, url?: string) => ({ type: 'tab', data: { action, url } });
const field = (type: string, label: string, value: string, extra = {}) =>
  ({ type, selector: `#${label}`, data: { url: `${SHOP}/checkout`, selector: `#${label}`, value, element: { tag: 'input', name: label }, ...extra } });
const click = (name: string, extra = {}) =>
  ({ type: 'click', selector: `#${name}`, data: { url: `${SHOP}/p`, selector: `#${name}`, element: { tag: 'button', name }, ...extra } });
const texts = (events: SessionEvent[], own?: string) => readableSteps(events, own).map((s) => s.text);

describe('readableSteps', () => {
  it('merges a navigation, its page load and a tab switch into "Opened <title>"', () => {
    expect(texts(session(tab('activated', `${SHOP}/`), nav(`${SHOP}/`), load(`${SHOP}/`, 'Trail Shop'), page(`${SHOP}/`, 'visible'))))
      .toEqual(['Opened “Trail Shop”']);
  });

  it('opens each page of a redirect or a click on a link once, by its title or else its address', () => {
    const steps = readableSteps(session(nav(`${SHOP}/`), load(`${SHOP}/`, 'Home'), click('Trail Runner'), nav(`${SHOP}/product.html?id=2#top`)));
    expect(steps.map((s) => s.text)).toEqual(['Opened “Home”', 'Clicked “Trail Runner”', 'Opened shop.test/product.html']);
    expect(steps.map((s) => s.kind)).toEqual(['page', 'click', 'page']);
  });

  it('says "Switched to" for a tab switch, with the title the page loaded with, and leaving with the page left', () => {
    const events = session(nav(`${SHOP}/a`), load(`${SHOP}/a`, 'Page A'), click('Buy'),
      page(`${SHOP}/a`, 'hidden'), tab('activated', `${SHOP}/b`), page(`${SHOP}/b`, 'visible'),
      tab('activated', `${SHOP}/a`), page(`${SHOP}/a`, 'visible'), tab('closed'));
    expect(texts(events)).toEqual(['Opened “Page A”', 'Clicked “Buy”', 'Switched to shop.test/b', 'Switched to “Page A”']);
  });

  it('never names a step by its raw event type twice ("tab tab", "page page")', () => {
    const events = session(tab('opened'), tab('activated'), page(`${SHOP}/`, 'hidden'), tab('closed'),
      { type: 'pause', data: {} }, { type: 'resume', data: {} }, { type: 'copy', data: {} });
    const out = texts(events);
    for (const line of out) expect(line).not.toMatch(/^(tab|page)( |$)/i);
    expect(out).toContain('Paused the recording');
    expect(out).toContain('Copy');
  });

  it('makes one step per field edit, with the click that focused the field, and the final value', () => {
    const events = session(
      { type: 'click', selector: '#q', data: { url: `${SHOP}/`, selector: '#q', element: { tag: 'input', name: 'Search products' } } },
      { type: 'input', selector: '#q', data: { url: `${SHOP}/`, selector: '#q', value: 'tra', element: { name: 'Search products' } } },
      { type: 'input', selector: '#q', data: { url: `${SHOP}/`, selector: '#q', value: 'trail', element: { name: 'Search products' } } },
      { type: 'keypress', selector: '#q', data: { url: `${SHOP}/`, selector: '#q', key: 'Enter', element: { name: 'Search products' } } });
    const steps = readableSteps(events);
    expect(steps.map((s) => s.text)).toEqual(['Typed “trail” into “Search products”', 'Pressed Enter in “Search products”']);
    expect(steps.map((s) => s.seqs)).toEqual([[1, 2, 3], [4]]);
  });

  it('reads masked values as what they hide, checkboxes and radios as choices, selects by the option', () => {
    const events = session(field('input', 'Email', '<EMAIL>', { masked: 'EMAIL' }), field('input', 'Note', 'call <PHONE> please'),
      field('change', 'Gift wrap', 'on', { inputType: 'checkbox', checked: true }),
      field('change', 'Express', 'express', { inputType: 'radio', checked: true }),
      { type: 'select', selector: '#size', data: { url: `${SHOP}/p`, value: '42', optionText: 'EU 42', element: { name: 'Size' } } });
    expect(texts(events)).toEqual([
      'Typed a hidden email into “Email”', 'Typed “call (phone) please” into “Note”',
      'Checked “Gift wrap”', 'Chose “Express”', 'Selected “EU 42” in “Size”',
    ]);
  });

  it('sums up a submit by the labels of the fields filled in, never by the form\'s whole text', () => {
    const form = { type: 'submit', data: { url: `${SHOP}/checkout`, formSelector: 'form', element: { tag: 'form', text: 'Email Name Card number Pay now '.repeat(20) } } };
    expect(texts(session(nav(`${SHOP}/checkout`), field('input', 'Email', 'a'), field('input', 'Name', 'Ann'),
      field('change', 'Name', 'Ann'), field('input', 'Card number', '<CARD_NUMBER>'), form, form)))
      .toEqual(['Opened shop.test/checkout', 'Typed “a” into “Email”', 'Typed “Ann” into “Name”',
        'Typed a hidden card number into “Card number”', 'Submitted the form with Email, Name and Card number', 'Submitted the form']);
  });

  it('puts a submit with the click or the Enter that sent it, and a new tab with the page it opens', () => {
    const search = { url: `${SHOP}/`, selector: '#q', element: { name: 'Search' } };
    const steps = readableSteps(session(tab('opened', 'about:blank'), nav(`${SHOP}/`), load(`${SHOP}/`, 'Shop'),
      { type: 'input', selector: '#q', data: { ...search, value: 'tent' } },
      { type: 'keypress', selector: '#q', data: { ...search, key: 'Enter' } },
      { type: 'submit', data: { url: `${SHOP}/`, formSelector: '#search' } }));
    expect(steps.map((s) => s.text)).toEqual(['Opened “Shop”', 'Typed “tent” into “Search”',
      'Pressed Enter in “Search”, which sent the form with Search']);
    expect(steps.map((s) => s.seqs)).toEqual([[1, 2, 3], [4], [5, 6]]);
  });

  it('joins consecutive scrolls and a double click into one step each', () => {
    const events = session(
      { type: 'scroll', data: { url: `${SHOP}/`, direction: 'down', scroll: { x: 0, y: 300 }, viewport: { width: 1000, height: 700 }, documentHeight: 3000 } },
      { type: 'scroll', data: { url: `${SHOP}/`, direction: 'down', scroll: { x: 0, y: 2300 }, viewport: { width: 1000, height: 700 }, documentHeight: 3000 } },
      click('Photo'), click('Photo'), { ...click('Photo'), type: 'dblclick' });
    const steps = readableSteps(events);
    expect(steps.map((s) => s.text)).toEqual(['Scrolled to the bottom of the page', 'Double-clicked “Photo”']);
    expect(steps[1]!.seqs).toEqual([3, 4, 5]);
  });

  it('keeps frames and focus changes with the step they belong to', () => {
    const events = session(nav(`${SHOP}/`), { type: 'navigation', data: { url: `${SHOP}/ad`, frameId: 3 } },
      { type: 'focus', data: { url: `${SHOP}/` } }, click('Buy'), { type: 'blur', data: { url: `${SHOP}/` } });
    const steps = readableSteps(events);
    expect(steps.map((s) => s.text)).toEqual(['Opened shop.test', 'Clicked “Buy”']);
    expect(steps.map((s) => s.seqs)).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('marks the recorder page\'s own steps', () => {
    const steps = readableSteps(session(tab('activated', `${OWN}/record`), nav(`${SHOP}/`), load(`${SHOP}/`, 'Shop')), OWN);
    expect(steps.map((s) => [s.text, s.own])).toEqual([['Switched to the CodeSight page', true], ['Opened “Shop”', false]]);
  });

  it('reads a recorded checkout in words, each event in exactly one step', () => {
    const events = (checkout.events as Omit<SessionEvent, 'seq'>[]).map((e, i) => ({ ...e, seq: i + 1 })) as SessionEvent[];
    const steps = readableSteps(events);
    expect(steps.flatMap((s) => s.seqs).sort((a, b) => a - b)).toEqual(events.map((e) => e.seq));
    const out = steps.map((s) => s.text);
    expect(out.slice(0, 6)).toEqual(['Opened “Fixture Shop”', 'Selected “42” in “Size”', 'Clicked “Add to Cart”',
      'Clicked “Add to Cart”', 'Clicked “Cart (2)”', 'Opened “Fixture Shop”']);
    expect(out.filter((l) => l.startsWith('Typed') && l.endsWith('into “Full name”'))).toHaveLength(1);
    expect(out).toContain('Typed a hidden password into “Password”');
    expect(out.find((l) => l.includes('sent the form'))).toMatch(
      /^Clicked “Place order”, which sent the form with Email address, Full name, Street, City and \d+ more$/);
    expect(steps.length).toBeLessThan(events.length / 3);
  });
});

describe('shopPages', () => {
  it('gives the first and last page of the shop, not the recorder page', () => {
    const steps = readableSteps(session(tab('activated', `${OWN}/record`), nav(`${SHOP}/`), load(`${SHOP}/`, 'Shop'),
      click('Cart'), nav(`${SHOP}/cart`), load(`${SHOP}/cart`, 'Your cart'), tab('activated', `${OWN}/record`),
      tab('activated', 'chrome://newtab/')), OWN);
    expect(shopPages(steps)).toEqual({ first: { url: `${SHOP}/`, title: 'Shop' }, last: { url: `${SHOP}/cart`, title: 'Your cart' } });
  });

  it('names each page by its own title, not the title of the page left before it', () => {
    const steps = readableSteps(session(nav(`${SHOP}/search`), load(`${SHOP}/search`, 'Search'), click('Tent'),
      { type: 'page', data: { url: `${SHOP}/search`, action: 'hidden', title: 'Search', framePath: [] } },
      nav(`${SHOP}/p/1`), load(`${SHOP}/p/1`, 'Tent')));
    expect(shopPages(steps).last).toEqual({ url: `${SHOP}/p/1`, title: 'Tent' });
  });

  it('has none without a page of the shop', () => {
    expect(shopPages(readableSteps(session(tab('activated', `${OWN}/record`)), OWN))).toEqual({ first: null, last: null });
  });
});
