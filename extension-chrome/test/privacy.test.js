// @vitest-environment jsdom
import { describe, it, expect, beforeEach } from 'vitest';
import {
  classifyField, isIgnored, knownValuePatterns, maskFieldValue, maskKnownDeep, maskKnownEvent, maskKnownValues, maskText, maskUrl,
} from '../content/privacy.js';

function field(html) {
  document.body.innerHTML = html;
  return document.querySelector('input, textarea, select, [contenteditable]');
}

describe('maskText', () => {
  it('masks emails, phone numbers, Luhn-valid card numbers and IBANs', () => {
    expect(maskText('mail ann.lee+shop@example.co.uk now')).toBe('mail <EMAIL> now');
    expect(maskText('call +1 555 123 4567 or (555) 123-4567')).toBe('call <PHONE> or <PHONE>');
    expect(maskText('+4915112345678')).toBe('<PHONE>');
    expect(maskText('card 4242 4242 4242 4242.')).toBe('card <CARD_NUMBER>.');
    expect(maskText('4111-1111-1111-1111')).toBe('<CARD_NUMBER>');
    expect(maskText('pay to DE89 3704 0044 0532 0130 00 today')).toBe('pay to <IBAN> today');
    expect(maskText('GB82WEST12345698765432')).toBe('<IBAN>');
  });

  it('keeps searches, sizes, quantities, prices, dates, zip codes and look-alikes', () => {
    for (const s of ['iphone 15 pro', '2', '10.5', 'EU 42', '$1299.99', '2024-01-15', '10115', 'order 4242 4242 4242 4241',
      'DE89 3704 0044 0532 0130 01', 'SKU AB12CDEFGHIJKLMN']) {
      expect(maskText(s)).toBe(s);
    }
  });
});

describe('classifyField', () => {
  beforeEach(() => { document.body.innerHTML = ''; });

  it('recognises passwords by type, autocomplete and name', () => {
    expect(classifyField(field('<input type="password" name="x">'))).toBe('PASSWORD');
    expect(classifyField(field('<input type="text" autocomplete="current-password">'))).toBe('PASSWORD');
    expect(classifyField(field('<input name="user_password">'))).toBe('PASSWORD');
    expect(classifyField(field('<input name="userPassword">'))).toBe('PASSWORD');
  });

  it('recognises card fields by autocomplete, name, id and label', () => {
    expect(classifyField(field('<input autocomplete="cc-number">'))).toBe('CARD_NUMBER');
    expect(classifyField(field('<input autocomplete="billing cc-csc">'))).toBe('CVC');
    expect(classifyField(field('<input autocomplete="cc-exp">'))).toBe('CARD_EXPIRY');
    expect(classifyField(field('<input autocomplete="cc-type">'))).toBe('CARD_DATA');
    expect(classifyField(field('<input autocomplete="cc-name">'))).toBe('CARD_NAME');
    expect(classifyField(field('<input name="cvv">'))).toBe('CVC');
    expect(classifyField(field('<input id="cardNumber">'))).toBe('CARD_NUMBER');
    expect(classifyField(field('<label for="f">Expiry date (MM/YY)</label><input id="f">'))).toBe('CARD_EXPIRY');
    expect(classifyField(field('<label>Name on card <input name="f2"></label>'))).toBe('CARD_NAME');
    expect(classifyField(field('<label>Social Security Number <input name="f1"></label>'))).toBe('SSN');
    expect(classifyField(field('<input name="iban" placeholder="DE..">'))).toBe('IBAN');
  });

  it('recognises personal fields by what they mean: autocomplete tokens', () => {
    const cases = {
      'name': 'NAME', 'given-name': 'NAME', 'shipping family-name': 'NAME', 'section-a billing street-address': 'ADDRESS',
      'address-line2': 'ADDRESS', 'postal-code': 'POSTAL_CODE', 'tel-national': 'PHONE', 'bday': 'BIRTH_DATE',
      'email': 'EMAIL', 'username': 'USERNAME', 'one-time-code': 'ONE_TIME_CODE', 'new-password': 'PASSWORD',
    };
    for (const [token, kind] of Object.entries(cases)) {
      expect(classifyField(field(`<input autocomplete="${token}">`)), token).toBe(kind);
    }
    // The token is authoritative: a city or country field is kept.
    expect(classifyField(field('<label>Street <input autocomplete="address-level2"></label>'))).toBe(null);
    expect(classifyField(field('<input autocomplete="country" name="address_country">'))).toBe(null);
  });

  it('recognises personal fields by name, id, label and placeholder, in several languages', () => {
    const cases = [
      ['<input name="first_name">', 'NAME'], ['<input name="lastName">', 'NAME'], ['<label>Full name <input></label>', 'NAME'],
      ['<label>Vorname <input></label>', 'NAME'], ['<label>Prénom <input></label>', 'NAME'], ['<label>Apellidos <input></label>', 'NAME'],
      ['<label>氏名 <input></label>', 'NAME'], ['<input placeholder="Your name">', 'NAME'],
      ['<input name="street">', 'ADDRESS'], ['<label>Straße und Hausnummer <input></label>', 'ADDRESS'], ['<input id="addr1">', null],
      ['<label>Address line 1 <input></label>', 'ADDRESS'], ['<label>Dirección <input></label>', 'ADDRESS'],
      ['<input name="zip">', 'POSTAL_CODE'], ['<label>PLZ <input></label>', 'POSTAL_CODE'], ['<label>Code postal <input></label>', 'POSTAL_CODE'],
      ['<input name="phone_number">', 'PHONE'], ['<label>Telefon <input></label>', 'PHONE'], ['<label>Mobile <input></label>', 'PHONE'],
      ['<label>Date of birth <input type="date"></label>', 'BIRTH_DATE'], ['<input name="dob">', 'BIRTH_DATE'], ['<label>Geburtsdatum <input></label>', 'BIRTH_DATE'],
      ['<label>E-mail <input type="text"></label>', 'EMAIL'], ['<input type="email" name="x">', 'EMAIL'], ['<input type="tel" name="x">', 'PHONE'],
      ['<label>Username <input></label>', 'USERNAME'], ['<input name="login">', 'USERNAME'],
      ['<label>Verification code <input></label>', 'ONE_TIME_CODE'], ['<input name="otp">', 'ONE_TIME_CODE'],
      ['<label>Email address <input></label>', 'EMAIL'], ['<label>Gift card code <input></label>', 'SECRET'],
    ];
    for (const [html, kind] of cases) expect(classifyField(field(html)), html).toBe(kind);
  });

  it('leaves search, size, quantity, city, company, coupon and product fields alone', () => {
    for (const html of [
      '<input type="search" name="q" placeholder="Search products">', '<input name="q" placeholder="Search by name">',
      '<label>Quantity <input type="number" name="qty"></label>', '<select name="size"><option>M</option></select>',
      '<input name="passenger_count">', '<label>City <input name="city"></label>', '<label>Company name <input></label>',
      '<label>Coupon code <input></label>', '<label>Product name <input></label>', '<input name="compass">', '<label>Promo code <input></label>',
      '<label>Gift message <textarea></textarea></label>', '<label>Hotel <input></label>',
    ]) {
      expect(classifyField(field(html)), html).toBe(null);
    }
  });
});

describe('maskFieldValue', () => {
  it('replaces sensitive values with typed placeholders and never keeps them', () => {
    expect(maskFieldValue(field('<input type="password">'), 'hunter2')).toEqual({ value: '<PASSWORD>', masked: 'PASSWORD' });
    expect(maskFieldValue(field('<input autocomplete="cc-number">'), '4242424242424242')).toEqual({ value: '<CARD_NUMBER>', masked: 'CARD_NUMBER' });
    expect(maskFieldValue(field('<input type="email">'), 'a@b.co')).toEqual({ value: '<EMAIL>', masked: 'EMAIL' });
    expect(maskFieldValue(field('<label>Full name <input></label>'), 'Ann Buyer')).toEqual({ value: '<NAME>', masked: 'NAME' });
    expect(maskFieldValue(field('<div contenteditable="true" aria-label="Street address"></div>'), '1 Main St'))
      .toEqual({ value: '<ADDRESS>', masked: 'ADDRESS' });
  });

  it('masks emails typed into ordinary fields and keeps the rest', () => {
    expect(maskFieldValue(field('<textarea name="note"></textarea>'), 'ship to bob@example.com'))
      .toEqual({ value: 'ship to <EMAIL>', masked: 'EMAIL' });
    expect(maskFieldValue(field('<input type="search" name="q">'), 'running shoes'))
      .toEqual({ value: 'running shoes', masked: null });
  });
});

describe('maskUrl', () => {
  it('masks sensitive query parameters and emails, keeps searches', () => {
    const u = maskUrl('https://shop.test/search?q=red+shoes&email=a%40b.co&token=abc&size=42');
    expect(u).toBe('https://shop.test/search?q=red+shoes&email=<EMAIL>&token=<TOKEN>&size=42');
    expect(maskUrl('https://shop.test/u/ann@example.com/orders')).toBe('https://shop.test/u/<EMAIL>/orders');
    expect(maskUrl('https://shop.test/?keyword=boots')).toBe('https://shop.test/?keyword=boots');
  });

  it('masks the parameters of a GET form by what they are named', () => {
    expect(maskUrl('https://shop.test/confirm?first_name=Ann&lastName=Buyer&street=1+Main+St&zip=12345&city=Springfield&phone=555&api_key=k&qty=2'))
      .toBe('https://shop.test/confirm?first_name=<NAME>&lastName=<NAME>&street=<ADDRESS>&zip=<POSTAL_CODE>&city=Springfield&phone=<PHONE>&api_key=<SECRET>&qty=2');
    expect(maskUrl('https://shop.test/cb#access_token=eyJ.x.y&state=1')).toBe('https://shop.test/cb#access_token=<TOKEN>&state=1');
    expect(maskUrl('https://shop.test/app#/checkout?email=a%40b.co&step=2')).toBe('https://shop.test/app#/checkout?email=<EMAIL>&step=2');
  });
});

describe('known values', () => {
  const patterns = knownValuePatterns([
    { kind: 'NAME', value: 'Ann Buyer' }, { kind: 'ADDRESS', value: '1 Main St' }, { kind: 'POSTAL_CODE', value: '12' },
    { kind: 'NAME', value: 'José Müller' },
  ]);

  it('masks a typed value wherever it shows again, whole words only', () => {
    expect(maskKnownValues('Thanks, Ann Buyer! Ships to 1 Main St.', patterns)).toBe('Thanks, <NAME>! Ships to <ADDRESS>.');
    expect(maskKnownValues('Hi ann, annual sale on buyers', patterns)).toBe('Hi <NAME>, annual sale on buyers');
    expect(maskKnownValues('https://shop.test/t?n=Ann+Buyer&a=1%20Main%20St&s=Jos%C3%A9+M%C3%BCller', patterns))
      .toBe('https://shop.test/t?n=<NAME>&a=<ADDRESS>&s=<NAME>');
    // Values too short to look for are only masked where they were typed.
    expect(maskKnownValues('size 12', patterns)).toBe('size 12');
  });

  it('masks every string of an event', () => {
    const data = { element: { name: 'Ship to Ann Buyer' }, locators: [{ by: 'role', name: 'Ann Buyer' }], n: 3 };
    expect(maskKnownDeep(data, patterns)).toEqual({ element: { name: 'Ship to <NAME>' }, locators: [{ by: 'role', name: '<NAME>' }], n: 3 });
  });

  it('moves locators that now hold a placeholder last, and picks the selector again', () => {
    const data = {
      selector: 'role=button[name="Deliver to Ann Buyer"s]',
      locators: [{ by: 'role', role: 'button', name: 'Deliver to Ann Buyer' }, { by: 'css', selector: '#ok' }],
      to: { locators: [{ by: 'text', text: 'Ann Buyer' }] },
    };
    expect(maskKnownEvent(data, patterns)).toEqual({
      selector: '#ok',
      locators: [{ by: 'css', selector: '#ok' }, { by: 'role', role: 'button', name: 'Deliver to <NAME>' }],
      to: { locators: [{ by: 'text', text: '<NAME>' }] },
    });
  });
});

describe('isIgnored', () => {
  it('covers the element, its subtree and shadow trees inside it', () => {
    document.body.innerHTML = '<div data-codesight-ignore><p><b id="in">x</b></p><span id="host"></span></div><b id="out">y</b>';
    const root = document.getElementById('host').attachShadow({ mode: 'open' });
    root.innerHTML = '<button>z</button>';
    expect(isIgnored(document.getElementById('in'))).toBe(true);
    expect(isIgnored(root.querySelector('button'))).toBe(true);
    expect(isIgnored(document.getElementById('out'))).toBe(false);
  });
});
