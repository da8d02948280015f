// Records what the worker does in this frame and hands each event to the
// service worker, which assigns its seq. Only trusted (user) events are
// recorded, only while a session records, and nothing inside
// [data-codesight-ignore].
//
// Nothing runs while no session records but one storage listener: the
// event listeners and observers are attached when recording starts and
// removed when it stops or pauses. A target's locators are computed once,
// at pointerdown (before the page reacts to the press), and reused by the
// click that follows.
import { Engine } from './engine.js';
import { eventTarget, openRoots, parentOf, shadowRootsIn } from './dom.js';
import { answerFrameRequest, fallbackFramePath, frameInfo, isTop } from './frames.js';
import { cssPath, describeTarget, interactiveTarget } from './locators.js';
import { classifyField, isIgnored, maskFieldValue, maskText, maskUrl } from './privacy.js';
import { roleOf } from './accessibility.js';

const INPUT_SETTLE_MS = 500;
const SCROLL_INTERVAL_MS = 200;
const HOVER_MIN_MS = 1000;
const DRAG_MIN_PX = 8;
// Keys that move or confirm; typing itself is recorded as input. Only the
// ones that act on their target get its locators.
const KEYS = new Set(['Enter', 'Escape', 'Tab', 'ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight']);
const TARGETED_KEYS = new Set(['Enter', 'Escape']);
const TEXT_TYPES = new Set(['text', 'search', 'email', 'password', 'tel', 'url', 'number', 'date', 'datetime-local', 'month', 'week', 'time', '']);
const REVEALABLE = 'a[href], button, input, select, textarea, [role=menuitem], [role=option], [role=tab], [role=link], [role=button]';
const DELIVERY_RETRIES = 6;
const ROOTS_MAX_AGE_MS = 5000;

export function startRecorder() {
  let recording = null; // {sessionId, paused} from chrome.storage.local
  let attached = false;
  let contextGone = false;

  // ---- delivery: each event is sent at once, because a page that is
  // unloading may not live to send a queued one; a subframe's events wait
  // for where the frame sits (asked of the parent), one after another. The
  // eventId lets the service worker drop a retried event it already has.
  const pendingDeliveries = new Set();
  let frameChain = Promise.resolve();
  let framePathCache = null;

  async function sendWithRetry(message) {
    for (let attempt = 0; attempt < DELIVERY_RETRIES && !contextGone; attempt++) {
      try {
        await chrome.runtime.sendMessage(message);
        return;
      } catch (err) {
        // The extension was reloaded or removed: this script is orphaned.
        if (/context invalidated/i.test(String(err && err.message))) { contextGone = true; return; }
        // The service worker is starting up: try again shortly.
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }

  function deliver(message) {
    const p = sendWithRetry(message);
    pendingDeliveries.add(p);
    p.finally(() => pendingDeliveries.delete(p));
  }

  // Fills the frame fields of a subframe event: framePath, and for events
  // with coordinates the frame's offset in the tab and the tab's viewport.
  function placeInFrame(data, info) {
    if (info) framePathCache = info.path;
    data.framePath = info ? info.path : framePathCache || fallbackFramePath();
    if (info && data.coordinates) {
      data.frameOffset = info.offset;
      data.topViewport = info.viewport;
    }
  }

  // `frame`: this frame's place as asked when the action began (clicks ask
  // at pointerdown, as the frame may scroll before the click).
  function emit(type, data, { personal = null, frame = null } = {}) {
    if (!active() || contextGone) return;
    const event = {
      type,
      timestamp: Date.now(),
      data: { ...data, url: maskUrl(location.href), eventId: crypto.randomUUID() },
    };
    const message = { type: 'record', event };
    if (personal && personal.length) message.personal = personal;
    if (isTop()) {
      event.data.framePath = [];
      deliver(message);
      return;
    }
    const info = frame || (data.coordinates || !framePathCache ? frameInfo() : Promise.resolve(null));
    const p = frameChain.then(() => info).then((i) => { placeInFrame(event.data, i); deliver(message); });
    frameChain = p;
    pendingDeliveries.add(p);
    p.finally(() => pendingDeliveries.delete(p));
  }

  function active() { return !!recording && !recording.paused; }

  // The open shadow roots of this document. Finding them means looking at
  // every element, the costliest part of describing a target: they are
  // found once, then kept up to date from the DOM changes domChanges sees
  // (the subtrees added are looked into, roots of removed hosts dropped),
  // and looked for again in idle time every few seconds (a custom element
  // defined late gets its shadow root without a DOM change).
  let roots = null;
  let rootsAt = 0;
  let rootsRescan = null;
  function currentRoots() {
    if (!roots) {
      roots = openRoots(document);
      rootsAt = Date.now();
      for (const r of roots) if (r !== document) domChanges.observe(r, { subtree: true, childList: true });
    } else if (Date.now() - rootsAt > ROOTS_MAX_AGE_MS && !rootsRescan) {
      rootsRescan = requestIdleCallback(() => { rootsRescan = null; roots = null; currentRoots(); }, { timeout: ROOTS_MAX_AGE_MS });
    }
    return roots;
  }

  function noteDomChanges(records) {
    if (!roots) return;
    let removed = false;
    for (const r of records) {
      if (r.removedNodes.length) removed = true;
      for (const n of r.addedNodes) {
        if (n.nodeType !== 1) continue;
        for (const root of shadowRootsIn(n)) {
          if (roots.includes(root)) continue;
          roots.push(root);
          domChanges.observe(root, { subtree: true, childList: true });
        }
      }
    }
    if (removed) roots = roots.filter((r) => r === document || r.host.isConnected);
  }

  function describe(el) {
    const doc = el.ownerDocument;
    return describeTarget(el, new Engine(doc, doc === document ? currentRoots() : null));
  }
  function viewport() { return { width: window.innerWidth, height: window.innerHeight }; }

  // ---- typing: one input event per field edit, once typing settles.
  const pendingInputs = new Map(); // element -> timer
  const lastValues = new WeakMap();

  function isTextField(el) {
    if (el.isContentEditable) return true;
    if (el.localName === 'textarea') return true;
    return el.localName === 'input' && TEXT_TYPES.has((el.getAttribute('type') || '').toLowerCase());
  }

  // The recorded value of a field and, when it was masked by meaning, the
  // value itself for the service worker to mask wherever else it appears.
  function fieldValue(el) {
    const raw = String((el.isContentEditable ? el.textContent : el.value) ?? '');
    const { value, masked } = maskFieldValue(el, raw);
    const personal = masked && classifyField(el) && raw ? [{ kind: masked, value: raw }] : null;
    return { value, masked, personal };
  }

  function emitInput(el) {
    clearTimeout(pendingInputs.get(el));
    pendingInputs.delete(el);
    const { value, masked, personal } = fieldValue(el);
    if (lastValues.get(el) === value) return;
    lastValues.set(el, value);
    emit('input', { ...describe(el), value, masked, inputType: el.isContentEditable ? 'contenteditable' : el.type || 'text' }, { personal });
  }

  function flushInputs(scope) {
    for (const el of [...pendingInputs.keys()]) if (!scope || scope === el || scope.contains(el)) emitInput(el);
  }

  function onInput(ev) {
    const el = eventTarget(ev);
    if (!ev.isTrusted || !el || !isTextField(el) || isIgnored(el)) return;
    clearTimeout(pendingInputs.get(el));
    pendingInputs.set(el, setTimeout(() => emitInput(el), INPUT_SETTLE_MS));
  }

  function onChange(ev) {
    const el = eventTarget(ev);
    if (!ev.isTrusted || !el || isIgnored(el)) return;
    if (isTextField(el)) { if (pendingInputs.has(el)) emitInput(el); return; }
    if (el.localName === 'select') {
      const option = el.options[el.selectedIndex];
      const { value, masked, personal } = fieldValue(el);
      const data = { ...describe(el), value, masked };
      // The option chosen in a masked select is as personal as its value.
      if (!masked) Object.assign(data, { selectedIndex: el.selectedIndex, optionText: maskText(option ? option.text.trim() : '') });
      emit('select', data, { personal });
      return;
    }
    const type = (el.getAttribute('type') || '').toLowerCase();
    const data = { ...describe(el), inputType: type || el.localName };
    if (type === 'checkbox' || type === 'radio') data.checked = el.checked;
    // A file input's value is a fake path: keep the file's name only.
    const { value, masked, personal } = type === 'file'
      ? { value: maskText(String(el.value).split(/[\\/]/).pop()), masked: null, personal: null }
      : fieldValue(el);
    emit('change', { ...data, value, masked }, { personal });
  }

  function onFocusOut(ev) {
    const el = eventTarget(ev);
    if (el && pendingInputs.has(el)) emitInput(el);
  }

  function onSubmit(ev) {
    const form = eventTarget(ev);
    if (!ev.isTrusted || !form || isIgnored(form)) return;
    flushInputs(form);
    // Values the browser filled in or the page prefilled were never typed:
    // a GET form still puts them in the next URL.
    const personal = [];
    for (const f of form.elements || []) {
      const kind = f.value && classifyField(f);
      if (kind) personal.push({ kind, value: String(f.value) });
    }
    const d = describe(form);
    emit('submit', { ...d, formSelector: d.selectors.css || d.selector, fieldCount: form.elements ? form.elements.length : 0 }, { personal });
  }

  function onKeyDown(ev) {
    if (!ev.isTrusted || !KEYS.has(ev.key)) return;
    const el = eventTarget(ev);
    if (el && isIgnored(el)) return;
    flushScrolls();
    if (ev.key === 'Enter' || ev.key === 'Tab') flushInputs();
    let target = {};
    if (el && TARGETED_KEYS.has(ev.key)) target = describe(el);
    else if (el) target = { element: { tag: el.localName, role: roleOf(el) } };
    emit('keypress', { ...target, key: ev.key });
  }

  // ---- pointer: locators at pointerdown, a click or a drag when it ends.
  let press = null; // {el, x, y, described, frame, moved}
  let suppressClickUntil = 0;
  let lastLabelClick = null;

  function onPointerDown(ev) {
    const raw = eventTarget(ev);
    if (!ev.isTrusted || !raw || isIgnored(raw) || ev.button !== 0) { press = null; return; }
    const el = interactiveTarget(raw);
    press = { el, x: ev.clientX, y: ev.clientY, described: describe(el), frame: isTop() ? null : frameInfo(), moved: false };
  }

  function onPointerMove(ev) {
    if (press && !press.moved && ev.buttons & 1 && Math.hypot(ev.clientX - press.x, ev.clientY - press.y) >= DRAG_MIN_PX) press.moved = true;
  }

  function clickData(ev, el, described) {
    const r = el.getBoundingClientRect();
    const data = {
      ...described,
      coordinates: { x: Math.round(ev.clientX), y: Math.round(ev.clientY) },
      pageCoordinates: { x: Math.round(ev.pageX), y: Math.round(ev.pageY) },
      viewport: viewport(),
      scroll: { x: Math.round(window.scrollX), y: Math.round(window.scrollY) },
      button: ev.button,
    };
    // Where in the element the click landed matters when Playwright cannot
    // see inside it (a closed shadow root) or it draws its own content.
    if (described.element.closedShadowRoot || el.localName === 'canvas') {
      data.position = { x: Math.round(ev.clientX - r.left), y: Math.round(ev.clientY - r.top) };
    }
    return data;
  }

  function onClick(ev) {
    const raw = eventTarget(ev);
    if (!ev.isTrusted || !raw || isIgnored(raw)) return;
    const el = interactiveTarget(raw);
    // A click on a <label> makes the browser click its control too, and
    // Enter in a form clicks its submit button (with focus elsewhere): both
    // repeat an action already recorded; a drag ends with a click too.
    if (ev.type === 'click' && lastLabelClick && lastLabelClick.control === el && ev.timeStamp - lastLabelClick.time < 100) return;
    if (ev.type === 'click' && ev.detail === 0 && el.type === 'submit' && el.form && document.activeElement !== el) return;
    if (ev.type === 'click' && ev.timeStamp < suppressClickUntil) return;
    lastLabelClick = el.localName === 'label' && el.control ? { control: el.control, time: ev.timeStamp } : null;
    const reuse = press && press.el === el && !press.moved;
    const described = reuse ? press.described : describe(el);
    const frame = reuse ? press.frame : null;
    if (ev.type === 'click') press = null;
    flushScrolls();
    flushHover();
    flushInputs();
    emit(ev.type, clickData(ev, el, described), { frame });
  }

  // A drag that ended on another place: HTML5 drag and drop (dragstart,
  // then drop or dragend) or pointer-driven reordering (pointerup after
  // moving with the button down).
  function emitDrag(ev, dropTarget) {
    const from = press;
    press = null;
    if (!from || !dropTarget || isIgnored(dropTarget)) return;
    suppressClickUntil = ev.timeStamp + 50;
    const to = interactiveTarget(dropTarget);
    const fromBox = from.el.getBoundingClientRect();
    const toBox = to.getBoundingClientRect();
    const { selector, selectors, locators, element } = describe(to);
    flushScrolls();
    flushInputs();
    emit('drag', {
      ...from.described,
      coordinates: { x: Math.round(from.x), y: Math.round(from.y) },
      viewport: viewport(),
      sourcePosition: { x: Math.round(from.x - fromBox.left), y: Math.round(from.y - fromBox.top) },
      to: { selector, selectors, locators, element },
      targetPosition: { x: Math.round(ev.clientX - toBox.left), y: Math.round(ev.clientY - toBox.top) },
      endCoordinates: { x: Math.round(ev.clientX), y: Math.round(ev.clientY) },
    }, { frame: from.frame });
  }

  function onDragStart(ev) {
    if (press && ev.isTrusted) press.moved = true;
  }

  function onDrop(ev) {
    if (!ev.isTrusted || !press || !press.moved) return;
    emitDrag(ev, eventTarget(ev));
  }

  function onPointerUp(ev) {
    if (!ev.isTrusted || !press || !press.moved) return;
    // The dragged element may sit under the pointer: the drop target is
    // the first element there that is not it.
    const under = document.elementsFromPoint(ev.clientX, ev.clientY).find((e) => !press.el.contains(e) && !e.contains(press.el));
    emitDrag(ev, under || eventTarget(ev));
  }

  // ---- scrolling: at most one event per 200 ms per scroller, the last
  // position always recorded.
  const scrollers = new Map(); // scroller -> {last, timer, x, y}
  const containerPaths = new WeakMap();

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
    if (target.nodeType === 1) {
      if (!containerPaths.has(target)) containerPaths.set(target, cssPath(target, new Engine(document, currentRoots())));
      data.container = containerPaths.get(target);
      data.containerHeight = target.scrollHeight;
      data.containerViewport = { width: target.clientWidth, height: target.clientHeight };
    }
    emit('scroll', data);
  }

  // A scroll still waiting for its turn is recorded before a click or a
  // key, which may act on what it scrolled into view.
  function flushScrolls() {
    for (const [target, state] of scrollers) {
      if (!state.timer) continue;
      clearTimeout(state.timer);
      emitScroll(target, state);
    }
  }

  function onScroll(ev) {
    if (!ev.isTrusted) return;
    const target = ev.target;
    if (target.nodeType === 1 && isIgnored(target)) return;
    let state = scrollers.get(target);
    if (!state) {
      state = { last: 0, timer: null, x: 0, y: 0 };
      scrollers.set(target, state);
    }
    if (state.timer) return;
    const wait = Math.max(0, state.last + SCROLL_INTERVAL_MS - Date.now());
    state.timer = setTimeout(() => emitScroll(target, state), wait);
  }

  // ---- hovering: a pointer resting >= 1 s on an element, at most one
  // event per second. `revealed` counts elements that became visible
  // meanwhile: added or shown by script (noted by a MutationObserver that
  // watches only while the pointer rests on something, judged when the
  // hover is recorded), or shown by CSS :hover (controls near the hovered
  // element that were hidden when the page was looked at in idle time).
  const MAX_TOUCHED = 64;
  const hiddenAtRest = new WeakSet();
  let hover = null; // {el, start, touched, emitted}
  let lastHoverEmit = 0;
  let restScan = null;

  function isVisible(el) {
    if (!el.getClientRects || !el.getClientRects().length) return false;
    return getComputedStyle(el).visibility !== 'hidden';
  }

  // Notes hidden controls in idle time, a slice at a time.
  function scanAtRest() {
    if (restScan) return;
    const all = [...document.querySelectorAll(REVEALABLE)];
    let i = 0;
    const step = (deadline) => {
      while (i < all.length && deadline.timeRemaining() > 1) {
        const el = all[i++];
        if (!isVisible(el)) hiddenAtRest.add(el);
      }
      restScan = i < all.length && attached ? requestIdleCallback(step, { timeout: 2000 }) : null;
    };
    restScan = requestIdleCallback(step, { timeout: 2000 });
  }

  let rescanTimer = null;
  const domChanges = new MutationObserver((records) => {
    noteDomChanges(records);
    if (!rescanTimer) rescanTimer = setTimeout(() => { rescanTimer = null; scanAtRest(); }, 1000);
  });

  const hoverChanges = new MutationObserver((records) => {
    if (!hover) return;
    for (const r of records) {
      if (hover.touched.size >= MAX_TOUCHED) return;
      if (r.type !== 'childList') hover.touched.add(r.target);
      else for (const n of r.addedNodes) if (n.nodeType === 1) hover.touched.add(n);
    }
  });

  function revealedByCss(el) {
    let scope = el;
    for (let i = 0; i < 2 && parentOf(scope); i++) scope = parentOf(scope);
    let n = 0;
    for (const c of scope.querySelectorAll(REVEALABLE)) if (hiddenAtRest.has(c) && isVisible(c)) n++;
    return n;
  }

  function flushHover() {
    if (!hover || hover.emitted) return;
    const now = Date.now();
    const durationMs = now - hover.start;
    if (durationMs < HOVER_MIN_MS || now - lastHoverEmit < HOVER_MIN_MS || !active()) return;
    hover.emitted = true;
    lastHoverEmit = now;
    let revealedCount = revealedByCss(hover.el);
    for (const n of hover.touched) if (n.isConnected && !isIgnored(n) && isVisible(n)) revealedCount++;
    emit('hover', { ...describe(hover.el), durationMs, revealed: revealedCount > 0, revealedCount });
  }

  function onMouseOver(ev) {
    const raw = eventTarget(ev);
    if (!ev.isTrusted || !raw) return;
    const el = interactiveTarget(raw);
    if (hover && hover.el === el) return;
    flushHover();
    hoverChanges.disconnect();
    hover = isIgnored(el) ? null : { el, start: Date.now(), touched: new Set(), emitted: false };
    if (hover) {
      hoverChanges.observe(document, {
        subtree: true, childList: true, attributes: true, attributeFilter: ['style', 'class', 'hidden', 'open', 'aria-expanded'],
      });
    }
  }

  // ---- the page itself (top frames). A prerendered page loads before
  // anyone sees it: its load is recorded when it is activated.
  function pageEvent(action, extra) {
    emit('page', { action, title: maskText(document.title), viewport: viewport(), ...extra });
  }
  const onLoad = () => pageEvent('load');
  const onActivated = () => pageEvent('load', { prerendered: true });
  const onVisibility = () => {
    if (!document.prerendering) pageEvent(document.visibilityState === 'hidden' ? 'hidden' : 'visible');
  };

  // Typing in progress when the page goes away is recorded before it goes.
  function onPageHide() { flushHover(); flushInputs(); }

  const LISTENERS = [
    ['input', onInput], ['change', onChange], ['focusout', onFocusOut], ['submit', onSubmit],
    ['keydown', onKeyDown], ['pointerdown', onPointerDown], ['pointermove', onPointerMove],
    ['pointerup', onPointerUp], ['dragstart', onDragStart], ['drop', onDrop],
    ['click', onClick], ['dblclick', onClick], ['scroll', onScroll], ['mouseover', onMouseOver],
    ['pagehide', onPageHide], ['message', answerFrameRequest],
  ];

  // The first read of the recording state can come back after a small page
  // has loaded, or after a prerendered page was shown (Chrome holds its
  // extension calls until then): one that loaded, or was shown, after the
  // recording started is still this session's.
  function loadMissedWhileReading() {
    const nav = performance.getEntriesByType('navigation')[0];
    if (!nav || !recording.startedAt) return;
    const prerendered = nav.activationStart > 0;
    const at = performance.timeOrigin + (prerendered ? nav.activationStart : nav.loadEventEnd || performance.now());
    if (at >= recording.startedAt) (prerendered ? onActivated : onLoad)();
  }

  // first: this document's first read of the recording state.
  function attach(first) {
    attached = true;
    for (const [type, fn] of LISTENERS) addEventListener(type, fn, true);
    domChanges.observe(document, { subtree: true, childList: true });
    // The shadow roots are found in idle time, before the first click needs them.
    rootsRescan = requestIdleCallback(() => { rootsRescan = null; currentRoots(); }, { timeout: ROOTS_MAX_AGE_MS });
    if (document.readyState === 'complete') scanAtRest();
    else addEventListener('load', scanAtRest, { once: true });
    if (isTop()) {
      // A page that loads while recording says so; one already open when
      // recording starts does not (the service worker records the tab).
      if (document.prerendering) document.addEventListener('prerenderingchange', onActivated, { once: true });
      else if (document.readyState !== 'complete') addEventListener('load', onLoad, { once: true });
      else if (first) loadMissedWhileReading();
      document.addEventListener('visibilitychange', onVisibility);
    }
  }

  function detach() {
    attached = false;
    for (const [type, fn] of LISTENERS) removeEventListener(type, fn, true);
    removeEventListener('load', onLoad);
    document.removeEventListener('prerenderingchange', onActivated);
    removeEventListener('load', scanAtRest);
    document.removeEventListener('visibilitychange', onVisibility);
    domChanges.disconnect();
    roots = null;
    if (rootsRescan) cancelIdleCallback(rootsRescan);
    rootsRescan = null;
    hoverChanges.disconnect();
    clearTimeout(rescanTimer);
    rescanTimer = null;
    if (restScan) cancelIdleCallback(restScan);
    restScan = null;
    for (const state of scrollers.values()) clearTimeout(state.timer);
    scrollers.clear();
    hover = null;
    press = null;
  }

  function setRecording(value, first = false) {
    recording = value || null;
    if (active() && !attached) attach(first);
    else if (!active() && attached) detach();
  }

  chrome.storage.local.get('recording').then((v) => setRecording(v.recording, true), () => { contextGone = true; });
  // The one listener kept while idle: a page restored from the back/forward
  // cache was frozen and may have missed a change of the recording state,
  // so it reads it again, and says it is back. It fires on navigation only.
  addEventListener('pageshow', (ev) => {
    if (!ev.persisted) return;
    chrome.storage.local.get('recording').then((v) => {
      setRecording(v.recording);
      if (active() && isTop()) pageEvent('restored');
    }, () => { contextGone = true; });
  });
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && changes.recording) setRecording(changes.recording.newValue);
  });

  // The service worker asks before Stop, so a debounced input is not lost.
  chrome.runtime.onMessage.addListener((msg, _sender, sendResponse) => {
    if (!msg || msg.type !== 'flush') return false;
    flushHover();
    flushInputs();
    Promise.all([...pendingDeliveries]).then(() => sendResponse({ ok: true }));
    return true;
  });
}
