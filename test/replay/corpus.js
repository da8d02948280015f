'use strict';
// The fixture corpus (test/fixtures/corpus): its two servers (the pages'
// origin and a second, cross-origin one for third-party frames), the flows
// a person performs on it with mouse and keyboard, the end state a flow
// leaves, and the recorded locators as Playwright locators.
//
// A flow's `run(p)` acts only through the driver `p` (Driver below), which
// does what a person does: it clicks with the mouse, types with the
// keyboard, rests on menus, drags with the button held. The same flow runs
// twice: once recorded through the extension, once more on fresh servers
// to check, just before each click, that the locators recorded for that
// click find exactly the element the person clicks.

const path = require('node:path');
const { serveShop } = require('../lib/shop');

const ROOT = path.join(__dirname, '..', 'fixtures', 'corpus');

// Serves the corpus twice, on two ports of 127.0.0.1: two origins. Pages
// name the other origin as {{OTHER_ORIGIN}}.
async function serveCorpus() {
  const origins = {};
  const a = await serveShop({ root: ROOT, transform: (t) => t.replaceAll('{{OTHER_ORIGIN}}', origins.b) });
  const b = await serveShop({ root: ROOT, transform: (t) => t.replaceAll('{{OTHER_ORIGIN}}', origins.a) });
  origins.a = a.origin;
  origins.b = b.origin;
  return { url: a.url, origin: a.origin, otherOrigin: b.origin, close: () => Promise.all([a.close(), b.close()]) };
}

// What a flow leaves behind: the page's path and its corpus.* storage.
// Run in the page (also by the replays, as its source).
function pageState() {
  const storage = {};
  for (let i = 0; i < localStorage.length; i++) {
    const k = localStorage.key(i);
    if (k.startsWith('corpus.')) storage[k] = JSON.parse(localStorage.getItem(k));
  }
  return { path: location.pathname, storage };
}

function readState(page) { return page.evaluate(pageState); }

// The Playwright locator for one recorded locator (docs/events.md), the
// same calls export_playwright writes for it.
function toPlaywright(scope, loc) {
  if (loc.within) scope = toPlaywright(scope, loc.within);
  let l;
  switch (loc.by) {
    case 'testId':
      l = loc.attribute === 'data-testid' ? scope.getByTestId(loc.value) : scope.locator(`[${loc.attribute}=${JSON.stringify(loc.value)}]`);
      break;
    case 'role':
      l = scope.getByRole(loc.role, loc.pattern !== undefined ? { name: new RegExp(loc.pattern, 'u') } : { name: loc.name, exact: true });
      break;
    case 'label': l = scope.getByLabel(loc.text, { exact: true }); break;
    case 'placeholder': l = scope.getByPlaceholder(loc.text, { exact: true }); break;
    case 'text': l = scope.getByText(loc.text, { exact: true }); break;
    case 'css': l = scope.locator(loc.selector); break;
    case 'xpath': l = scope.locator('xpath=' + loc.selector); break;
    default: throw new Error('unknown locator kind ' + loc.by);
  }
  return loc.hasText !== undefined ? l.filter({ hasText: loc.hasText }) : l;
}

function frameScope(page, framePath) {
  let scope = page;
  for (const f of framePath || []) scope = scope.frameLocator(f);
  return scope;
}

// Whether a recorded locator finds exactly the element `expected` (an
// ElementHandle) on the page as it is now.
async function findsExactly(page, framePath, loc, expected) {
  const l = toPlaywright(frameScope(page, framePath), loc);
  if ((await l.count()) !== 1) return false;
  const found = await l.elementHandle({ timeout: 2000 });
  return found.evaluate((a, b) => a === b, expected);
}

// The person at the keyboard and mouse. In `verify` mode each click and
// drag first checks the locators recorded for it (`recorded`: the click
// and drag events of the recording, in order) and notes the outcome.
class Driver {
  constructor(page, { verify = null } = {}) {
    this.page = page;
    this.verify = verify; // {recorded: [data], outcomes: []}
    this.targets = 0;
    this.points = []; // where each click and drag began, in the tab's viewport
  }

  // Notes where the mouse will press: the middle of the element's box, or
  // the position asked for. An inline element broken into several boxes is
  // pressed in one of them (Playwright picks the first): then only its
  // bounding box is noted.
  async _point(locator, position) {
    const b = await locator.boundingBox();
    const boxes = await locator.evaluate((e) => e.getClientRects().length);
    if (position) this.points.push({ x: b.x + position.x, y: b.y + position.y });
    else if (boxes > 1) this.points.push({ within: b });
    else this.points.push({ x: b.x + b.width / 2, y: b.y + b.height / 2 });
  }

  async _check(locator, kind) {
    const i = this.targets++;
    if (!this.verify) return;
    const rec = this.verify.recorded[i];
    const outcome = { index: i, kind, selector: rec && rec.selector, resolvedBy: null };
    this.verify.outcomes.push(outcome);
    if (!rec) { outcome.error = 'no recorded event'; return; }
    const expected = await locator.elementHandle();
    for (const [j, loc] of (rec.locators || []).entries()) {
      if (JSON.stringify(loc).match(/<[A-Z_]+>/)) continue;
      if (await findsExactly(this.page, rec.framePath, loc, expected)) { outcome.resolvedBy = j; return; }
    }
  }

  // A click with the mouse, where a person would click.
  async click(locator, options = {}) {
    await locator.scrollIntoViewIfNeeded();
    await this._check(locator, 'click');
    await this._point(locator, options.position);
    await locator.click(options);
  }

  // Clicks a field and types into it.
  async type(locator, text) {
    await this.click(locator);
    await this.page.keyboard.type(text);
  }

  async press(key) { await this.page.keyboard.press(key); }

  // Rests the pointer on an element: the recorder counts rests of 1 s.
  async hover(locator) {
    await locator.hover();
    await this.page.waitForTimeout(1200); // the person's dwell, not synchronisation
  }

  // Drags with the left button held, from the middle of one element to a
  // point in another, in small moves.
  async drag(source, target, { targetPosition = null } = {}) {
    await this._check(source, 'drag');
    await this._point(source);
    const from = await source.boundingBox();
    const to = await target.boundingBox();
    const tx = to.x + (targetPosition ? targetPosition.x : to.width / 2);
    const ty = to.y + (targetPosition ? targetPosition.y : to.height / 2);
    await this.page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await this.page.mouse.down();
    await this.page.mouse.move(tx, ty, { steps: 12 });
    await this.page.mouse.up();
  }

  // Turns the mouse wheel over an element (or the page).
  async wheel(dy, over = null) {
    if (over) {
      const b = await over.boundingBox();
      await this.page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
    }
    await this.page.mouse.wheel(0, dy);
  }
}

// The personal values a flow types, by kind, in the order it types them.
const ANN = { given: 'Annabel', family: 'Quixote', full: 'Annabel Quixote' };

const FLOWS = [
  {
    name: 'shadow-open', start: 'shadow-open.html',
    covers: 'nested open shadow roots, names from slotted and shadow content, aria-label',
    async run(p) {
      const pro = p.page.locator('product-card').nth(1);
      await p.click(pro.getByRole('button', { name: 'More' }));
      await p.click(pro.getByRole('button', { name: 'More' }));
      await p.click(pro.getByRole('button', { name: 'Add to basket' }));
      await p.click(p.page.locator('product-card').nth(0).getByRole('button', { name: 'Add to basket' }));
    },
  },
  {
    name: 'shadow-closed', start: 'shadow-closed.html',
    covers: 'a closed shadow root: the host is the target, the click position tells the stars apart',
    async run(p) {
      const stars = p.page.getByTestId('rating');
      await p.click(stars, { position: { x: 140, y: 20 } });
      await p.page.getByText('Rated 4 of 5').waitFor();
    },
  },
  {
    name: 'iframe-same-origin', start: 'iframe-same-origin.html',
    covers: 'a same-origin iframe: frame located by its title, an email masked, a checkbox',
    personal: [['EMAIL', 'annabel.quixote@mail.example']],
    async run(p) {
      const f = p.page.frameLocator('iframe[title="Newsletter signup"]');
      await p.type(f.getByLabel('Email'), 'annabel.quixote@mail.example');
      await p.click(f.getByLabel('Weekly digest'));
      await p.click(f.getByRole('button', { name: 'Subscribe' }));
      await f.getByText('Thanks for subscribing.').waitFor();
    },
  },
  {
    name: 'iframe-cross-origin', start: 'iframe-cross-origin.html',
    covers: 'a cross-origin payment iframe: its path computed by the parent, card fields masked by autocomplete',
    personal: [['CARD_NAME', ANN.full], ['CARD_NUMBER', '4111 1111 1111 1111'], ['CARD_EXPIRY', '09/33'], ['CVC', '8714']],
    async run(p) {
      const f = p.page.frameLocator('iframe[name="payment"]');
      await p.type(f.getByLabel('Name on card'), ANN.full);
      await p.type(f.getByLabel('Card number'), '4111 1111 1111 1111');
      await p.type(f.getByLabel('Expiry (MM/YY)'), '09/33');
      await p.type(f.getByLabel('Security code'), '8714');
      await p.click(f.getByRole('button', { name: 'Pay $42.00' }));
      await p.page.getByText('Paid').waitFor();
    },
  },
  {
    name: 'iframe-nested', start: 'iframe-nested.html',
    covers: 'a cross-origin iframe inside a same-origin one, with borders and padding: frame offsets',
    async run(p) {
      const inner = p.page.frameLocator('iframe[title="Map"]').frameLocator('iframe[title="Store list"]');
      await p.click(inner.getByRole('button', { name: 'Choose Hamburg Altona' }));
      await p.page.waitForFunction(() => localStorage.getItem('corpus.store'));
    },
  },
  {
    name: 'spa-routes', start: 'spa-routes.html',
    covers: 'History API route changes without a reload',
    async run(p) {
      await p.click(p.page.getByRole('link', { name: 'Products', exact: true }));
      await p.click(p.page.getByRole('link', { name: 'Canvas Tote' }));
      await p.click(p.page.getByRole('button', { name: 'Add to wishlist' }));
      await p.page.getByText('Saved.').waitFor();
    },
  },
  {
    name: 'virtual-list', start: 'virtual-list.html',
    covers: 'a virtualized list: rows exist only once scrolled into its box',
    async run(p) {
      const box = p.page.locator('#rows');
      for (let i = 0; i < 5; i++) await p.wheel(900, box);
      const row = p.page.getByRole('listitem').filter({ hasText: 'Order #1151' });
      await row.waitFor();
      await p.click(row.getByRole('button', { name: 'Track' }));
      await p.page.getByText('Tracking order #1151').waitFor();
    },
  },
  {
    name: 'infinite-scroll', start: 'infinite-scroll.html',
    covers: 'a page that loads more items as it is scrolled',
    async run(p) {
      const item = p.page.getByRole('article').filter({ hasText: 'Arrival 14' });
      for (let i = 0; i < 20 && !(await item.count()); i++) {
        const n = await p.page.locator('article').count();
        await p.wheel(700);
        await p.page.waitForFunction((k) => document.querySelectorAll('article').length > k, n, { timeout: 1500 }).catch(() => {});
      }
      await p.click(item.getByRole('button', { name: 'Save' }));
      await p.page.waitForFunction(() => localStorage.getItem('corpus.saved'));
    },
  },
  {
    name: 'generated-classes', start: 'generated-classes.html',
    covers: 'class names and ids that change on every load, toggle buttons',
    async run(p) {
      await p.click(p.page.getByRole('button', { name: 'Off' }).nth(1));
      await p.click(p.page.getByRole('button', { name: 'Save' }));
    },
  },
  {
    name: 'duplicate-ids', start: 'duplicate-ids.html',
    covers: 'three buttons sharing one id and one text',
    async run(p) {
      await p.click(p.page.locator('section').filter({ hasText: 'Express' }).getByRole('button'));
    },
  },
  {
    name: 'product-grid', start: 'product-grid.html',
    covers: 'identical "Add to cart" buttons in a grid, a count inside a link name, "Remove" per table row, a second page',
    async run(p) {
      const card = (n) => p.page.getByRole('listitem').filter({ has: p.page.getByRole('heading', { name: n, exact: true }) });
      await p.click(card('Gym Duffel').getByRole('button', { name: 'Add to cart' }));
      await p.click(card('Bag No. 24').getByRole('button', { name: 'Add to cart' }));
      await p.click(card('Travel Pouch').getByRole('button', { name: 'Add to cart' }));
      await p.click(p.page.getByRole('link', { name: 'Cart (3)' }));
      await p.page.waitForURL(/grid-cart\.html/);
      await p.click(p.page.getByRole('row').filter({ hasText: 'Bag No. 24' }).getByRole('button', { name: 'Remove' }));
      await p.page.getByRole('row').filter({ hasText: 'Bag No. 24' }).waitFor({ state: 'detached' });
    },
  },
  {
    name: 'counters-prices', start: 'counters-prices.html',
    covers: 'a counter and a price inside names, different on every load',
    async run(p) {
      await p.click(p.page.getByRole('button', { name: /^Buy now/ }));
      await p.click(p.page.getByRole('link', { name: /^Inbox/ }));
    },
  },
  {
    name: 'custom-select', start: 'custom-select.html',
    covers: 'a select built from divs without roles, the same option text in two of them',
    async run(p) {
      await p.click(p.page.getByText('Choose a size'));
      await p.click(p.page.locator('#size').getByText('Large'));
      await p.click(p.page.getByText('Choose a fit'));
      await p.click(p.page.locator('#fit').getByText('Regular'));
    },
  },
  {
    name: 'aria-listbox', start: 'aria-listbox.html',
    covers: 'an ARIA combobox named through aria-labelledby, a listbox focused by a click and driven by arrow keys and Enter',
    async run(p) {
      await p.click(p.page.getByRole('combobox', { name: 'Country Germany' }));
      await p.click(p.page.getByRole('option', { name: 'Spain' }));
      await p.click(p.page.getByRole('listbox', { name: 'Time slot' }).getByRole('option', { name: 'Morning' }));
      await p.press('ArrowDown');
      await p.press('ArrowDown');
      await p.press('Enter');
    },
  },
  {
    name: 'date-picker', start: 'date-picker.html',
    covers: 'a calendar of day buttons named by numbers, month navigation, a native date input typed into',
    async run(p) {
      await p.click(p.page.getByPlaceholder('Pick a date'));
      await p.click(p.page.getByRole('button', { name: 'Next month' }));
      await p.click(p.page.getByRole('button', { name: '14', exact: true }));
      await p.click(p.page.getByLabel('Return date'));
      await p.page.keyboard.type('04202031');
      await p.click(p.page.getByRole('button', { name: 'Book' }));
    },
  },
  {
    name: 'contenteditable', start: 'contenteditable.html',
    covers: 'contenteditable fields named by aria-labelledby, one with a role and one without',
    async run(p) {
      await p.type(p.page.getByRole('textbox', { name: 'Gift message' }), 'Happy birthday, enjoy the hike!');
      await p.type(p.page.locator('#note'), 'Leave at the back door');
      await p.click(p.page.getByRole('button', { name: 'Save gift options' }));
    },
  },
  {
    name: 'modal-toast', start: 'modal-toast.html',
    covers: 'a modal dialog and a toast that goes away by itself',
    async run(p) {
      await p.click(p.page.getByRole('button', { name: 'Have a coupon?' }));
      await p.type(p.page.getByRole('dialog').getByLabel('Coupon code'), 'spring10');
      await p.click(p.page.getByRole('button', { name: 'Apply' }));
      await p.click(p.page.getByRole('status').getByRole('button', { name: 'Undo' }));
    },
  },
  {
    name: 'hover-menu', start: 'hover-menu.html',
    covers: 'menus opened by CSS :hover and by a mouseenter script, the same link text under two menus',
    async run(p) {
      await p.hover(p.page.getByText('Men', { exact: true }));
      await p.click(p.page.locator('.mega').filter({ hasText: 'Men' }).getByRole('link', { name: 'Shoes' }));
      await p.hover(p.page.getByText('Account', { exact: true }));
      await p.click(p.page.getByRole('link', { name: 'Returns' }));
    },
  },
  {
    name: 'select-keyboard', start: 'select-keyboard.html',
    covers: 'native selects chosen with the keyboard, a checkbox through its label',
    async run(p) {
      await p.page.getByLabel('Colour').focus();
      await p.page.keyboard.type('Gr');
      await p.page.keyboard.press('ArrowDown');
      await p.page.keyboard.press('Tab');
      await p.page.keyboard.press('ArrowDown');
      await p.page.keyboard.press('ArrowDown');
      await p.click(p.page.getByLabel('Gift wrap'));
      await p.click(p.page.getByRole('button', { name: 'Add to bag' }));
    },
  },
  {
    name: 'drag-reorder', start: 'drag-reorder.html',
    covers: 'HTML5 drag and drop to reorder a list',
    async run(p) {
      const list = p.page.locator('#list');
      await p.drag(list.getByText('Apples'), list.getByText('Milk'), { targetPosition: { x: 20, y: 4 } });
      await p.page.waitForFunction(() => localStorage.getItem('corpus.order'));
    },
  },
  {
    name: 'drag-pointer', start: 'drag-pointer.html',
    covers: 'reordering with pointer events (a sortable list without HTML5 drag and drop)',
    async run(p) {
      const board = p.page.locator('#board');
      await p.drag(board.getByText('Plan sale'), board.getByText('Answer reviews'), { targetPosition: { x: 30, y: 5 } });
      await p.page.waitForFunction(() => localStorage.getItem('corpus.order'));
    },
  },
  {
    name: 'get-form', start: 'get-form.html',
    covers: 'a form submitted by GET: personal values in the next URL, echoed on the page and in a button name',
    personal: [['NAME', ANN.full], ['ADDRESS', '17 Larkspur Lane'], ['POSTAL_CODE', 'SW1A 2AB'], ['PHONE', '+44 20 7946 0958'], ['BIRTH_DATE', '1987-11-23']],
    async run(p) {
      await p.type(p.page.getByLabel('Full name'), ANN.full);
      await p.type(p.page.getByLabel('Street and number'), '17 Larkspur Lane');
      await p.type(p.page.getByLabel('ZIP code'), 'SW1A 2AB');
      await p.type(p.page.getByLabel('City'), 'Springfield');
      await p.type(p.page.getByLabel('Phone'), '+44 20 7946 0958');
      await p.type(p.page.getByLabel('Date of birth'), '1987-11-23');
      await p.type(p.page.getByLabel('Delivery notes'), 'ring twice');
      await p.click(p.page.getByRole('button', { name: 'Continue' }));
      await p.page.waitForURL(/get-confirm\.html/);
      await p.click(p.page.getByRole('button', { name: /^Deliver to/ }));
    },
  },
  {
    name: 'checkout-echo', start: 'checkout-echo.html',
    covers: 'names and address masked by autocomplete and label, repeated on a review step and a thank-you page',
    personal: [['NAME', ANN.given], ['NAME', ANN.family], ['EMAIL', 'a.quixote@post.example'], ['ADDRESS', '221 Baker Street'], ['POSTAL_CODE', 'NW1 6XE']],
    async run(p) {
      await p.type(p.page.getByLabel('First name'), ANN.given);
      await p.type(p.page.getByLabel('Last name'), ANN.family);
      await p.type(p.page.getByLabel('E-mail'), 'a.quixote@post.example');
      await p.type(p.page.getByLabel('Address line 1'), '221 Baker Street');
      await p.type(p.page.getByLabel('Postcode'), 'NW1 6XE');
      await p.page.getByLabel('Country').focus();
      await p.page.keyboard.type('United K');
      await p.click(p.page.getByRole('button', { name: 'Review order' }));
      await p.page.getByText(/^Shipping to/).waitFor();
      await p.click(p.page.getByRole('button', { name: 'Place order' }));
      await p.page.waitForURL(/checkout-thanks\.html/);
      await p.click(p.page.getByRole('link', { name: /^Track the order/ }));
    },
  },
  {
    name: 'i18n-de', start: 'i18n-de.html',
    covers: 'German names and labels, umlauts and typographic quotes, personal fields named in German',
    personal: [['NAME', 'Annegret'], ['NAME', 'Wäldchen'], ['ADDRESS', 'Lindenstraße 12'], ['POSTAL_CODE', '10117']],
    async run(p) {
      await p.click(p.page.getByRole('button', { name: 'In den Warenkorb' }));
      await p.type(p.page.getByLabel('Vorname'), 'Annegret');
      await p.type(p.page.getByLabel('Nachname'), 'Wäldchen');
      await p.type(p.page.getByLabel('Straße und Hausnummer'), 'Lindenstraße 12');
      await p.type(p.page.getByLabel('PLZ'), '10117');
      await p.type(p.page.getByLabel('Ort'), 'Berlin');
      await p.click(p.page.getByRole('button', { name: 'Weiter zur Zahlung' }));
    },
  },
  {
    name: 'i18n-ja', start: 'i18n-ja.html',
    covers: 'Japanese names and labels',
    personal: [['NAME', '山田花子'], ['POSTAL_CODE', '150-0041'], ['ADDRESS', '渋谷区神南一丁目'], ['PHONE', '03-5555-0123']],
    async run(p) {
      await p.click(p.page.getByRole('button', { name: 'カートに入れる' }));
      await p.type(p.page.getByLabel('氏名'), '山田花子');
      await p.type(p.page.getByLabel('郵便番号'), '150-0041');
      await p.type(p.page.getByLabel('住所'), '渋谷区神南一丁目');
      await p.type(p.page.getByLabel('電話番号'), '03-5555-0123');
      await p.click(p.page.getByRole('button', { name: '注文を確定する' }));
    },
  },
  {
    name: 'i18n-fr', start: 'i18n-fr.html',
    covers: 'French names with accents and guillemets, a quantity typed',
    personal: [['NAME', 'Éloïse'], ['NAME', 'Duchâteau'], ['POSTAL_CODE', '75003']],
    async run(p) {
      await p.click(p.page.getByLabel('Quantité'));
      await p.page.keyboard.press('Control+A');
      await p.page.keyboard.type('3');
      await p.click(p.page.getByRole('button', { name: 'Ajouter au panier' }));
      await p.type(p.page.getByLabel('Prénom'), 'Éloïse');
      await p.type(p.page.getByLabel('Nom', { exact: true }), 'Duchâteau');
      await p.type(p.page.getByLabel('Code postal'), '75003');
      await p.click(p.page.getByRole('button', { name: 'Valider la commande' }));
    },
  },
  {
    name: 'login-otp', start: 'login-otp.html',
    covers: 'username, password and a one-time code, the user name shown back',
    personal: [['USERNAME', 'annabelq'], ['PASSWORD', 'Tr0ub4dor&3'], ['ONE_TIME_CODE', '482913']],
    async run(p) {
      await p.type(p.page.getByLabel('Username'), 'annabelq');
      await p.type(p.page.getByLabel('Password'), 'Tr0ub4dor&3');
      await p.click(p.page.getByRole('button', { name: 'Sign in' }));
      await p.type(p.page.getByLabel('Verification code'), '482913');
      await p.click(p.page.getByRole('button', { name: 'Verify' }));
      await p.page.getByText(/^Welcome back/).waitFor();
    },
  },
  {
    name: 'tabs-accordion', start: 'tabs-accordion.html',
    covers: 'ARIA tabs (a count in a tab name), an accordion, buttons revealed by them',
    async run(p) {
      await p.click(p.page.getByRole('tab', { name: /^Reviews/ }));
      await p.click(p.page.getByRole('button', { name: 'Helpful' }));
      await p.click(p.page.getByRole('button', { name: 'Shipping & returns' }));
      await p.click(p.page.getByRole('button', { name: 'Read the policy' }));
    },
  },
  {
    name: 'names-hard', start: 'names-hard.html',
    covers: 'aria-labelledby chains, wrapping labels, alt text, title, visually hidden and aria-hidden text, no-break spaces, CSS content, inline spans; a gift card code masked',
    personal: [['SECRET', 'GC-2041']],
    async run(p) {
      await p.click(p.page.locator('#b1'));
      await p.type(p.page.locator('#gift'), 'GC-2041');
      await p.click(p.page.locator('#b2'));
      await p.click(p.page.locator('#b3'));
      await p.click(p.page.locator('#b4'));
      await p.click(p.page.locator('#b5'));
      await p.click(p.page.locator('#b6'));
      await p.click(p.page.locator('#b7'));
    },
  },
  {
    name: 'icon-rows', start: 'icon-rows.html',
    covers: 'icon-only buttons with the same aria-label on every row',
    async run(p) {
      const row = (n) => p.page.getByRole('listitem').filter({ hasText: n });
      await p.click(row('Parents').getByRole('button', { name: 'Make default' }));
      await p.click(row('Office').getByRole('button', { name: 'Edit' }));
    },
  },
  {
    name: 'press-state', start: 'press-state.html',
    covers: 'buttons that change their name when pressed, before the click: locators taken at pointerdown',
    async run(p) {
      const card = (n) => p.page.getByRole('listitem').filter({ hasText: n });
      await p.click(card('Canvas Tote').getByRole('button', { name: 'Quick add' }));
      await p.page.getByRole('button', { name: 'Added' }).waitFor();
      await p.click(p.page.getByRole('button', { name: 'Open menu' }));
      await p.click(p.page.getByRole('button', { name: 'Sort by price' }));
    },
  },
  {
    name: 'search-suggest', start: 'search-suggest.html',
    covers: 'a search box whose suggestions arrive late, chosen with the mouse',
    async run(p) {
      await p.type(p.page.getByPlaceholder('Search the shop'), 'trail');
      // A person waits for the list to stop changing: two suggestions for "trail".
      await p.page.waitForFunction(() => document.querySelectorAll('#sugg [role=option]').length === 2);
      await p.click(p.page.getByRole('option', { name: 'Trail Runner GTX' }));
      await p.page.getByText('Showing Trail Runner GTX').waitFor();
    },
  },
];

module.exports = { serveCorpus, pageState, readState, toPlaywright, frameScope, findsExactly, Driver, FLOWS, CORPUS_ROOT: ROOT };
