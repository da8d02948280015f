// @vitest-environment jsdom
import { describe, it, expect, beforeEach } from 'vitest';
import { privacy } from './load-content.js';

function field(html) {
  document.body.innerHTML = html;
  return document.querySelector('input, textarea, select');
}

describe('maskText', () => {
  it('masks emails, phone numbers and Luhn-valid card numbers', () => {
    expect(privacy.maskText('mail ann.lee+shop@example.co.uk now')).toBe('mail <EMAIL> now');
    expect(privacy.maskText('call +1 555 123 4567 or (555) 123-4567')).toBe('call <PHONE> or <PHONE>');
    expect(privacy.maskText('+4915112345678')).toBe('<PHONE>');
    expect(privacy.maskText('card 4242 4242 4242 4242.')).toBe('card <CARD_NUMBER>.');
    expect(privacy.maskText('4111-1111-1111-1111')).toBe('<CARD_NUMBER>');
  });

  it('keeps searches, sizes, quantities, prices, dates and zip codes', () => {
    for (const s of ['iphone 15 pro', '2', '10.5', 'EU 42', '$1299.99', '2024-01-15', '10115', 'order 4242 4242 4242 4241']) {
      expect(privacy.maskText(s)).toBe(s);
    }
  });
});

describe('classifyField', () => {
  beforeEach(() => { document.body.innerHTML = ''; });

  it('recognises passwords by type, autocomplete and name', () => {
    expect(privacy.classifyField(field('<input type="password" name="x">'))).toBe('PASSWORD');
    expect(privacy.classifyField(field('<input type="text" autocomplete="current-password">'))).toBe('PASSWORD');
    expect(privacy.classifyField(field('<input name="user_password">'))).toBe('PASSWORD');
  });

  it('recognises card fields by autocomplete, name, id and label', () => {
    expect(privacy.classifyField(field('<input autocomplete="cc-number">'))).toBe('CARD_NUMBER');
    expect(privacy.classifyField(field('<input autocomplete="billing cc-csc">'))).toBe('CVC');
    expect(privacy.classifyField(field('<input autocomplete="cc-exp">'))).toBe('CARD_EXPIRY');
    expect(privacy.classifyField(field('<input autocomplete="cc-type">'))).toBe('CARD_DATA');
    expect(privacy.classifyField(field('<input name="cvv">'))).toBe('CVC');
    expect(privacy.classifyField(field('<input id="cardNumber">'))).toBe('CARD_NUMBER');
    expect(privacy.classifyField(field('<label for="f">Expiry date (MM/YY)</label><input id="f">'))).toBe('CARD_EXPIRY');
    expect(privacy.classifyField(field('<label>Social Security Number <input name="f1"></label>'))).toBe('SSN');
  });

  it('leaves search, size and quantity fields alone', () => {
    expect(privacy.classifyField(field('<input type="search" name="q" placeholder="Search products">'))).toBe(null);
    expect(privacy.classifyField(field('<label>Quantity <input type="number" name="qty"></label>'))).toBe(null);
    expect(privacy.classifyField(field('<select name="size"><option>M</option></select>'))).toBe(null);
    expect(privacy.classifyField(field('<input name="passenger_count">'))).toBe(null);
  });
});

describe('maskFieldValue', () => {
  it('replaces sensitive values with typed placeholders and never keeps them', () => {
    expect(privacy.maskFieldValue(field('<input type="password">'), 'hunter2')).toEqual({ value: '<PASSWORD>', masked: 'PASSWORD' });
    expect(privacy.maskFieldValue(field('<input autocomplete="cc-number">'), '4242424242424242')).toEqual({ value: '<CARD_NUMBER>', masked: 'CARD_NUMBER' });
    expect(privacy.maskFieldValue(field('<input type="email">'), 'a@b.co')).toEqual({ value: '<EMAIL>', masked: 'EMAIL' });
  });

  it('masks emails typed into ordinary fields and keeps the rest', () => {
    expect(privacy.maskFieldValue(field('<textarea name="note"></textarea>'), 'ship to bob@example.com'))
      .toEqual({ value: 'ship to <EMAIL>', masked: 'EMAIL' });
    expect(privacy.maskFieldValue(field('<input type="search" name="q">'), 'running shoes'))
      .toEqual({ value: 'running shoes', masked: null });
  });
});

describe('maskUrl', () => {
  it('masks sensitive query parameters and emails, keeps searches', () => {
    const u = privacy.maskUrl('https://shop.test/search?q=red+shoes&email=a%40b.co&token=abc&size=42');
    expect(u).toBe('https://shop.test/search?q=red+shoes&email=<EMAIL>&token=<PASSWORD>&size=42');
    expect(privacy.maskUrl('https://shop.test/u/ann@example.com/orders')).toBe('https://shop.test/u/<EMAIL>/orders');
    expect(privacy.maskUrl('https://shop.test/?keyword=boots')).toBe('https://shop.test/?keyword=boots');
  });
});

describe('isIgnored', () => {
  it('covers the element, its subtree and shadow trees inside it', () => {
    document.body.innerHTML = '<div data-codesight-ignore><p><b id="in">x</b></p><span id="host"></span></div><b id="out">y</b>';
    const root = document.getElementById('host').attachShadow({ mode: 'open' });
    root.innerHTML = '<button>z</button>';
    expect(privacy.isIgnored(document.getElementById('in'))).toBe(true);
    expect(privacy.isIgnored(root.querySelector('button'))).toBe(true);
    expect(privacy.isIgnored(document.getElementById('out'))).toBe(false);
  });
});
