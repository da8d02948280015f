// Records what the worker does in this frame and hands each event to the
// service worker, which assigns its seq. Only trusted (user) events are
// recorded, only while a session records, and nothing inside
// [data-codesight-ignore]. A classic script, see privacy.js.
(function () {
  'use strict';
  const cs = globalThis.codesight;
  if (cs.recorder) return;

  const { privacy, locators } = cs;
  const INPUT_SETTLE_MS = 500;
  const SCROLL_INTERVAL_MS = 200;
  const HOVER_MIN_MS = 1000;
  const KEYS = new Set(['Enter', 'Escape', 'Tab', 'ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight']);
  const TEXT_TYPES = new Set(['text', 'search', 'email', 'password', 'tel', 'url', 'number', '']);
  const DELIVERY_RETRIES = 6;

  let recording = null; // {sessionId, paused} from chrome.storage.local
  let stateKnown = false;
  const early = []; // events seen before the state was read
  let contextGone = false;

  // ---- delivery: each event is sent at once, because a page that is
  // unloading may not live to send a queued one; messages from one frame
  // reach the service worker in the order they were sent.
  const pendingDeliveries = new Set();

  async function sendWithRetry(event) {
    for (let attempt = 0; attempt < DELIVERY_RETRIES && !contextGone; attempt++) {
      try {
        await chrome.runtime.sendMessage({ type: 'record', event });
        return;
      } catch (err) {
        // The extension was reloaded or removed: this script is orphaned.
        if (/context invalidated/i.test(String(err && err.message))) { contextGone = true; return; }
        // The service worker is starting up: try again shortly.
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }

  function deliver(event) {
    const p = sendWithRetry(event);
    pendingDeliveries.add(p);
    p.finally(() => pendingDeliveries.delete(p));
  }

  function active() { return !!recording && !recording.paused; }
  function wanted() { return !contextGone && (!stateKnown || active()); }

  function emit(type, data) {
    const event = {
      type,
      timestamp: Date.now(),
      data: { ...data, url: privacy.maskUrl(location.href), framePath: framePath() },
    };
    if (!stateKnown) early.push(event);
    else if (active()) deliver(event);
  }

  chrome.storage.local.get('recording').then((v) => {
    recording = v.recording || null;
    stateKnown = true;
    for (const e of early.splice(0)) if (active()) deliver(e);
  }, () => { contextGone = true; });

  chrome.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && changes.recording) recording = changes.recording.newValue || null;
  });

  // ---- where this frame sits: CSS selectors of the iframes from the top.
  let cachedFramePath = null;
  function framePath() {
    if (cachedFramePath) return cachedFramePath;
    const path = [];
    for (let w = window; w !== w.parent; w = w.parent) {
      let frame = null;
      try { frame = w.frameElement; } catch { /* cross-origin parent */ }
      if (!frame) {
        // A cross-origin parent cannot be read; its iframe is named by URL.
        path.unshift(`iframe[src=${JSON.stringify(privacy.maskUrl(w.location.href))}]`);
        break;
      }
      path.unshift(locators.cssSelector(frame) || frame.localName);
    }
    cachedFramePath = path;
    return path;
  }

  function targetOf(ev) {
    const path = ev.composedPath ? ev.composedPath() : [];
    let t = path.length ? path[0] : ev.target;
    if (t && t.nodeType === 3) t = t.parentElement;
    return t && t.nodeType === 1 ? t : null;
  }

  function describe(el) { return locators.describeTarget(el); }

  function viewport() { return { width: window.innerWidth, height: window.innerHeight }; }

  // ---- typing: one input event per field edit, once typing settles.
  const pendingInputs = new Map(); // element -> timer
  const lastValues = new WeakMap();

  function isTextField(el) {
    if (el.isContentEditable) return true;
    if (el.localName === 'textarea') return true;
    return el.localName === 'input' && TEXT_TYPES.has((el.getAttribute('type') || '').toLowerCase());
  }

  function fieldValue(el) {
    const raw = el.isContentEditable ? el.textContent : el.value;
    return privacy.maskFieldValue(el, raw == null ? '' : String(raw));
  }

  function emitInput(el) {
    clearTimeout(pendingInputs.get(el));
    pendingInputs.delete(el);
    const { value, masked } = fieldValue(el);
    if (lastValues.get(el) === value) return;
    lastValues.set(el, value);
    emit('input', { ...describe(el), value, masked, inputType: el.isContentEditable ? 'contenteditable' : el.type || 'text' });
  }

  function flushInputs(scope) {
    for (const el of [...pendingInputs.keys()]) if (!scope || scope === el || scope.contains(el)) emitInput(el);
  }

  addEventListener('input', (ev) => {
    const el = targetOf(ev);
    if (!ev.isTrusted || !el || !wanted() || !isTextField(el) || privacy.isIgnored(el)) return;
    clearTimeout(pendingInputs.get(el));
    pendingInputs.set(el, setTimeout(() => emitInput(el), INPUT_SETTLE_MS));
  }, true);

  addEventListener('change', (ev) => {
    const el = targetOf(ev);
    if (!ev.isTrusted || !el || !wanted() || privacy.isIgnored(el)) return;
    if (isTextField(el)) { if (pendingInputs.has(el)) emitInput(el); return; }
    if (el.localName === 'select') {
      const option = el.options[el.selectedIndex];
      const { value, masked } = fieldValue(el);
      emit('select', {
        ...describe(el), value, masked, selectedIndex: el.selectedIndex,
        optionText: masked ? value : privacy.maskText(option ? option.text.trim() : ''),
      });
      return;
    }
    const type = (el.getAttribute('type') || '').toLowerCase();
    const data = { ...describe(el), inputType: type || el.localName };
    if (type === 'checkbox' || type === 'radio') data.checked = el.checked;
    // A file input's value is a fake path: keep the file's name only.
    const { value, masked } = type === 'file'
      ? { value: privacy.maskText(String(el.value).split(/[\\/]/).pop()), masked: null }
      : fieldValue(el);
    emit('change', { ...data, value, masked });
  }, true);

  addEventListener('focusout', (ev) => {
    const el = targetOf(ev);
    if (el && pendingInputs.has(el)) emitInput(el);
  }, true);

  addEventListener('submit', (ev) => {
    const form = targetOf(ev);
    if (!ev.isTrusted || !form || !wanted() || privacy.isIgnored(form)) return;
    flushInputs(form);
    const d = describe(form);
    emit('submit', { ...d, formSelector: d.selectors.css || d.selector, fieldCount: form.elements ? form.elements.length : 0 });
  }, true);

  // ---- keys that move or confirm; typing itself is recorded as input.
  addEventListener('keydown', (ev) => {
    if (!ev.isTrusted || !KEYS.has(ev.key) || !wanted()) return;
    const el = targetOf(ev);
    if (el && privacy.isIgnored(el)) return;
    if (ev.key === 'Enter' || ev.key === 'Tab') flushInputs();
    emit('keypress', { ...(el ? describe(el) : {}), key: ev.key });
  }, true);

  // ---- clicks, retargeted to the interactive element a user means.
  let lastLabelClick = null;
  function onClick(ev) {
    const raw = targetOf(ev);
    if (!ev.isTrusted || !raw || !wanted() || privacy.isIgnored(raw)) return;
    const el = locators.interactiveTarget(raw);
    // A click on a <label> makes the browser click its control too, and
    // Enter in a form clicks its submit button (with focus elsewhere): both
    // repeat an action already recorded.
    if (ev.type === 'click' && lastLabelClick && lastLabelClick.control === el && ev.timeStamp - lastLabelClick.time < 100) return;
    if (ev.type === 'click' && ev.detail === 0 && el.type === 'submit' && el.form && document.activeElement !== el) return;
    lastLabelClick = el.localName === 'label' && el.control ? { control: el.control, time: ev.timeStamp } : null;
    flushHover();
    flushInputs();
    emit(ev.type, {
      ...describe(el),
      coordinates: { x: Math.round(ev.clientX), y: Math.round(ev.clientY) },
      pageCoordinates: { x: Math.round(ev.pageX), y: Math.round(ev.pageY) },
      viewport: viewport(),
      scroll: { x: Math.round(window.scrollX), y: Math.round(window.scrollY) },
      button: ev.button,
    });
  }
  addEventListener('click', onClick, true);
  addEventListener('dblclick', onClick, true);

  // ---- scrolling: at most one event per 200 ms per scroller, the last
  // position always recorded.
  const scrollers = new Map(); // scroller -> {last, timer, x, y}

  function scrollPosition(target) {
    if (target === document || target === document.documentElement || target === window) {
      return { x: Math.round(window.scrollX), y: Math.round(window.scrollY) };
    }
    return { x: Math.round(target.scrollLeft), y: Math.round(target.scrollTop) };
  }

  function emitScroll(target, state) {
    state.timer = null;
    state.last = Date.now();
    const pos = scrollPosition(target);
    const dx = pos.x - state.x;
    const dy = pos.y - state.y;
    if (!dx && !dy) return;
    const direction = Math.abs(dy) >= Math.abs(dx) ? (dy > 0 ? 'down' : 'up') : (dx > 0 ? 'right' : 'left');
    state.x = pos.x;
    state.y = pos.y;
    const data = { scroll: pos, direction, viewport: viewport(), documentHeight: document.documentElement.scrollHeight };
    if (target.nodeType === 1) data.container = locators.cssSelector(target);
    emit('scroll', data);
  }

  addEventListener('scroll', (ev) => {
    if (!ev.isTrusted || !wanted()) return;
    const target = ev.target;
    if (target.nodeType === 1 && privacy.isIgnored(target)) return;
    let state = scrollers.get(target);
    if (!state) {
      state = { last: 0, timer: null, x: 0, y: 0 };
      scrollers.set(target, state);
    }
    if (state.timer) return;
    const wait = Math.max(0, state.last + SCROLL_INTERVAL_MS - Date.now());
    state.timer = setTimeout(() => emitScroll(target, state), wait);
  }, true);

  // ---- hovering: a pointer resting >= 1 s on an element, at most one
  // event per second. `revealed` counts elements that became visible
  // meanwhile: added or shown by script (seen by a MutationObserver), or
  // shown by CSS :hover (controls near the hovered element that were hidden
  // when the page was scanned at rest).
  const REVEALABLE = 'a[href], button, input, select, textarea, [role=menuitem], [role=option], [role=tab], [role=link], [role=button]';
  const hiddenAtRest = new WeakSet();
  let hover = null; // {el, start, revealed, emitted}
  let lastHoverEmit = 0;
  let lastScan = 0;
  let scanTimer = null;

  function isVisible(el) {
    if (!el.getClientRects || !el.getClientRects().length) return false;
    return getComputedStyle(el).visibility !== 'hidden';
  }

  function scanHidden() {
    scanTimer = null;
    lastScan = Date.now();
    for (const el of document.querySelectorAll(REVEALABLE)) if (!isVisible(el)) hiddenAtRest.add(el);
  }

  function scheduleScan() {
    if (!scanTimer) scanTimer = setTimeout(scanHidden, Math.max(0, lastScan + 1000 - Date.now()));
  }

  const observer = new MutationObserver((records) => {
    if (!wanted()) return;
    scheduleScan();
    if (!hover) return;
    const seen = new Set();
    for (const r of records) {
      const nodes = r.type === 'childList' ? [...r.addedNodes] : [r.target];
      for (const n of nodes) if (n.nodeType === 1) seen.add(n);
    }
    for (const n of seen) if (!privacy.isIgnored(n) && isVisible(n)) hover.revealed++;
  });
  observer.observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ['style', 'class', 'hidden', 'open', 'aria-expanded'],
  });
  addEventListener('DOMContentLoaded', scanHidden, { once: true });

  function revealedByCss(el) {
    let scope = el;
    for (let i = 0; i < 2 && locators.parentOf(scope); i++) scope = locators.parentOf(scope);
    let n = 0;
    for (const c of scope.querySelectorAll(REVEALABLE)) if (hiddenAtRest.has(c) && isVisible(c)) n++;
    return n;
  }

  function flushHover() {
    if (!hover || hover.emitted) return;
    const now = Date.now();
    const durationMs = now - hover.start;
    if (durationMs < HOVER_MIN_MS || now - lastHoverEmit < HOVER_MIN_MS || !wanted()) return;
    hover.emitted = true;
    lastHoverEmit = now;
    const revealedCount = hover.revealed + revealedByCss(hover.el);
    emit('hover', { ...describe(hover.el), durationMs, revealed: revealedCount > 0, revealedCount });
  }

  addEventListener('mouseover', (ev) => {
    const raw = targetOf(ev);
    if (!ev.isTrusted || !raw) return;
    const el = locators.interactiveTarget(raw);
    if (hover && hover.el === el) return;
    flushHover();
    hover = privacy.isIgnored(el) ? null : { el, start: Date.now(), revealed: 0, emitted: false };
  }, true);

  // ---- the page itself. A prerendered page loads before anyone sees it:
  // its load is recorded when it is activated. A page restored from the
  // back/forward cache was frozen meanwhile, so the recording state is read
  // again before its return is recorded.
  function pageEvent(action, extra) {
    emit('page', { action, title: privacy.maskText(document.title), viewport: viewport(), ...extra });
  }
  function loaded() {
    if (document.prerendering) {
      document.addEventListener('prerenderingchange', () => pageEvent('load', { prerendered: true }), { once: true });
    } else pageEvent('load');
  }
  if (window === window.top) {
    if (document.readyState === 'complete') loaded();
    else addEventListener('load', loaded, { once: true });
    document.addEventListener('visibilitychange', () => {
      if (!document.prerendering) pageEvent(document.visibilityState === 'hidden' ? 'hidden' : 'visible');
    });
  }
  addEventListener('pageshow', (ev) => {
    if (!ev.persisted) return;
    chrome.storage.local.get('recording').then((v) => {
      recording = v.recording || null;
      if (window === window.top) pageEvent('restored');
    }, () => { contextGone = true; });
  });

  // Typing in progress when the page goes away is recorded before it goes.
  addEventListener('pagehide', () => { flushHover(); flushInputs(); }, true);

  // The service worker asks before Stop, so a debounced input is not lost.
  chrome.runtime.onMessage.addListener((msg, _sender, sendResponse) => {
    if (!msg || msg.type !== 'flush') return false;
    flushHover();
    flushInputs();
    Promise.all([...pendingDeliveries]).then(() => sendResponse({ ok: true }));
    return true;
  });

  cs.recorder = { flushInputs, framePath };
})();
