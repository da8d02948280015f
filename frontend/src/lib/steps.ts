// A session's events as steps a person reads: "Opened Trail Runner – Shop"
// instead of a navigation, a page load and a tab switch; "Typed “trail”
// into Search products" once per field edit; a submit named by the fields
// filled in before it.  Every event belongs to exactly one step, so
// deleting a step deletes all of its events.  The event shapes are those
// of docs/events.md.
import type { EventData, SessionEvent } from '../api/types';
import { eventTimeMs } from './events';

export type StepKind =
  | 'page' | 'click' | 'type' | 'select' | 'check' | 'key' | 'scroll' | 'hover' | 'submit'
  | 'pause' | 'other';

export interface Step {
  kind: StepKind;
  text: string;
  seqs: number[];
  events: SessionEvent[];
  url: string | null;
  // On the recorder page itself (the CodeSight page), not the shop.
  own: boolean;
}

export interface PageVisit {
  url: string;
  title: string | null;
}

const MAX_QUOTE = 60;

interface Element {
  tag?: string;
  role?: string;
  name?: string;
  text?: string;
  attributes?: Record<string, string | undefined>;
}

interface Selectors {
  label?: string;
  placeholder?: string;
  text?: string;
  role?: { role?: string; name?: string };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

function shorten(s: string, max = MAX_QUOTE): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

const quote = (s: string) => `“${shorten(s)}”`;

function element(d: EventData): Element {
  return (d.element && typeof d.element === 'object' ? d.element : {}) as Element;
}

function selectors(d: EventData): Selectors {
  return (d.selectors && typeof d.selectors === 'object' ? d.selectors : {}) as Selectors;
}

// The URL an event happened on, for a page event the page's own.
function urlOf(e: SessionEvent): string | null {
  return str(e.data?.url) ?? str(e.url) ?? null;
}

// The page a page event is about; a new tab's blank page is none (it goes
// with the page the tab opens next).
function pageUrlOf(e: SessionEvent): string | null {
  const url = urlOf(e);
  return url && !/^(about:blank|chrome:\/\/newtab)/i.test(url) ? url : null;
}

// The same page: equal up to the fragment.
function samePage(a: string, b: string): boolean {
  return a.split('#')[0] === b.split('#')[0];
}

function isWeb(url: string): boolean {
  return /^https?:\/\//i.test(url);
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

// "shop.test/product.html" for a URL without a known title.
function shortUrl(url: string): string {
  try {
    const u = new URL(url);
    return shorten(u.host + (u.pathname === '/' ? '' : u.pathname), 70);
  } catch {
    return shorten(url, 70);
  }
}

// How a field or a control is called: its accessible name, label,
// placeholder, then attributes; never the whole text of a container.
function labelOf(e: SessionEvent): string | undefined {
  const d = e.data ?? {};
  const el = element(d);
  const sel = selectors(d);
  const attrs = el.attributes ?? {};
  return str(el.name) ?? str(sel.label) ?? str(sel.role?.name) ?? str(attrs.placeholder) ?? str(sel.placeholder)
    ?? str(attrs['aria-label']) ?? str(attrs.title) ?? str(attrs.name) ?? str(attrs.id);
}

// What a click hit: its name or its (short) text, else what kind of thing it is.
function targetOf(e: SessionEvent): string {
  const el = element(e.data ?? {});
  const name = labelOf(e) ?? str(el.text) ?? str(selectors(e.data ?? {}).text);
  if (name) return quote(name);
  const role = str(el.role) ?? str(el.tag);
  if (role === 'a' || role === 'link') return 'a link';
  if (role) return `a ${role}`;
  return 'the page';
}

// A typed value as shown: placeholders the masking left (<EMAIL>) read as
// what they hide.
function valueText(v: unknown): string {
  const s = typeof v === 'string' ? v : v == null ? '' : String(v);
  const masked = /^<([A-Z][A-Z0-9_]*)>$/.exec(s);
  if (masked) return `a hidden ${masked[1]!.toLowerCase().replace(/_/g, ' ')}`;
  return quote(s.replace(/<([A-Z][A-Z0-9_]*)>/g, (_, k: string) => `(${k.toLowerCase().replace(/_/g, ' ')})`));
}

const PAGE_TYPES = new Set(['navigation', 'page', 'tab']);
// Events that only accompany another step; they never stand alone.
const QUIET_TYPES = new Set(['focus', 'blur', 'visibility']);
const FIELD_TYPES = new Set(['input', 'change', 'select']);

function inSubframe(e: SessionEvent): boolean {
  const d = e.data ?? {};
  const frameId = d.frameId;
  if (typeof frameId === 'number' && frameId !== 0) return true;
  return Array.isArray(d.framePath) && d.framePath.length > 0;
}

function isCheckable(e: SessionEvent): boolean {
  const d = e.data ?? {};
  return d.inputType === 'checkbox' || d.inputType === 'radio' || typeof d.checked === 'boolean';
}

function fieldKey(e: SessionEvent): string {
  const d = e.data ?? {};
  return `${JSON.stringify(d.framePath ?? [])} ${e.selector ?? str(d.selector) ?? labelOf(e) ?? ''}`;
}

// The titles pages had when they loaded, by URL without fragment.
function pageTitles(events: SessionEvent[]): Map<string, string> {
  const titles = new Map<string, string>();
  for (const e of events) {
    const url = urlOf(e);
    const title = str(e.data?.title);
    if (e.type === 'page' && url && title && !inSubframe(e)) titles.set(url.split('#')[0]!, title);
  }
  return titles;
}

function pageName(url: string | null, titles: Map<string, string>, own: boolean): string {
  if (own) return 'the CodeSight page';
  if (!url) return 'a new tab';
  const title = titles.get(url.split('#')[0]!);
  return title ? quote(title) : shortUrl(url);
}

// The sentence for a run of page events (navigations, loads, tab
// switches) that all concern one page.
function describePage(events: SessionEvent[], url: string | null, titles: Map<string, string>, own: boolean): string {
  const opened = events.some((e) => e.type === 'navigation' || (e.type === 'page' && e.data?.action === 'load')
    || (e.type === 'tab' && e.data?.action === 'opened'));
  const switched = events.some((e) => (e.type === 'tab' && e.data?.action === 'activated')
    || (e.type === 'page' && e.data?.action === 'visible'));
  if (opened) return `Opened ${pageName(url, titles, own)}`;
  if (switched) return `Switched to ${pageName(url, titles, own)}`;
  if (events.some((e) => e.type === 'tab' && e.data?.action === 'closed')) return 'Closed a tab';
  const left = pageUrlOf(events[0]!);
  return left ? `Left ${pageName(left, titles, own)}` : 'Left the page';
}

function describeScroll(events: SessionEvent[]): string {
  const last = events[events.length - 1]!;
  const d = last.data ?? {};
  const scroll = d.scroll as { y?: number } | undefined;
  const viewport = d.viewport as { height?: number } | undefined;
  const height = typeof d.documentHeight === 'number' ? d.documentHeight : undefined;
  if (scroll?.y != null && viewport?.height && height && scroll.y + viewport.height >= height - 100) {
    return 'Scrolled to the bottom of the page';
  }
  if (scroll?.y === 0) return 'Scrolled to the top of the page';
  const dirs = new Set(events.map((e) => str(e.data?.direction)).filter(Boolean));
  return dirs.size === 1 ? `Scrolled ${[...dirs][0]}` : 'Scrolled';
}

// "Email address, Full name and Card number".
function listOf(names: string[]): string {
  const unique = [...new Set(names)];
  if (unique.length <= 1) return unique.join('');
  const shown = unique.slice(0, 4);
  const rest = unique.length - shown.length;
  if (rest > 0) return `${shown.join(', ')} and ${rest} more`;
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
}

// "the form with Email address and Full name": what a submit sent, by the
// form's short name and the labels of the fields filled in before it.
function describeForm(e: SessionEvent, fields: string[]): string {
  const name = str(element(e.data ?? {}).name);
  const form = name && name.length <= 40 ? quote(name) : 'the form';
  return fields.length ? `${form} with ${listOf(fields)}` : form;
}

// A submit the click or key just before it caused (the same page, within
// two seconds) belongs to that step.
function causedBy(prev: Step | undefined, e: SessionEvent): boolean {
  if (!prev || (prev.kind !== 'click' && prev.kind !== 'key')) return false;
  const cause = prev.events[prev.events.length - 1]!;
  return urlOf(cause) === urlOf(e) && eventTimeMs(e) - eventTimeMs(cause) < 2000;
}

function describeOne(e: SessionEvent): { kind: StepKind; text: string } {
  const d = e.data ?? {};
  switch (e.type) {
    case 'click':
      return { kind: 'click', text: `Clicked ${targetOf(e)}` };
    case 'dblclick':
      return { kind: 'click', text: `Double-clicked ${targetOf(e)}` };
    case 'input':
    case 'change':
      if (isCheckable(e)) {
        const name = labelOf(e) ?? str(d.value) ?? 'an option';
        if (d.inputType === 'radio') return { kind: 'check', text: `Chose ${quote(name)}` };
        return { kind: 'check', text: `${d.checked === false ? 'Unchecked' : 'Checked'} ${quote(name)}` };
      }
      return { kind: 'type', text: `Typed ${valueText(d.value)}${labelOf(e) ? ` into ${quote(labelOf(e)!)}` : ''}` };
    case 'select':
      return { kind: 'select', text: `Selected ${valueText(d.optionText ?? d.value)}${labelOf(e) ? ` in ${quote(labelOf(e)!)}` : ''}` };
    case 'keypress':
      return { kind: 'key', text: `Pressed ${str(d.key) ?? 'a key'}${labelOf(e) ? ` in ${quote(labelOf(e)!)}` : ''}` };
    case 'hover':
      return { kind: 'hover', text: `Hovered over ${targetOf(e)}${d.revealed ? ', which showed more' : ''}` };
    case 'pause':
      return { kind: 'pause', text: 'Paused the recording' };
    case 'resume':
      return { kind: 'pause', text: 'Resumed the recording' };
    default: {
      const name = e.type.charAt(0).toUpperCase() + e.type.slice(1);
      const target = labelOf(e);
      return { kind: 'other', text: target ? `${name} on ${quote(target)}` : name };
    }
  }
}

// Turns a session's events (in seq order) into steps.  ownOrigin is the
// recorder page's origin: its steps are marked, not hidden.
export function readableSteps(events: SessionEvent[], ownOrigin?: string): Step[] {
  const titles = pageTitles(events);
  const steps: Step[] = [];
  // Page events not yet turned into a step: they all concern one page.
  let page: { events: SessionEvent[]; url: string | null } | null = null;
  // A click that may turn out to be the focus of the field typed into next.
  let pendingClick: SessionEvent | null = null;
  // Events that go with the next step (focus, blur, ...).
  let held: SessionEvent[] = [];
  // Fields filled in since the last submit or page, for the next submit.
  let filled: string[] = [];

  const attach = (step: Step, e: SessionEvent) => {
    step.events.push(e);
    step.seqs.push(e.seq);
  };
  const isOwn = (url: string | null) => !!(url && ownOrigin && originOf(url) === ownOrigin);
  const push = (kind: StepKind, text: string, evs: SessionEvent[], url: string | null) => {
    const all = [...evs, ...held];
    held = [];
    steps.push({ kind, text, events: all, seqs: all.map((e) => e.seq), url, own: isOwn(url) });
  };
  const flushPage = () => {
    if (!page) return;
    const p = page;
    page = null;
    push('page', describePage(p.events, p.url, titles, isOwn(p.url)), p.events, p.url);
    filled = [];
  };
  const flushClick = () => {
    if (!pendingClick) return;
    const c = pendingClick;
    pendingClick = null;
    push('click', describeOne(c).text, [c], urlOf(c));
  };

  for (const e of events) {
    const prev = steps[steps.length - 1];
    if (QUIET_TYPES.has(e.type)) {
      if (page) page.events.push(e);
      else held.push(e);
      continue;
    }
    if (PAGE_TYPES.has(e.type)) {
      flushClick();
      const url = pageUrlOf(e);
      if (inSubframe(e)) {
        // A frame loading inside the page goes with what is happening.
        if (page) page.events.push(e);
        else if (prev) attach(prev, e);
        else page = { events: [e], url: null };
        continue;
      }
      // Leaving a page goes with where the worker went next.
      const hidden = e.type === 'page' && e.data?.action === 'hidden';
      if (page && (hidden || !url || !page.url || samePage(page.url, url))) {
        page.events.push(e);
        if (!hidden && url) page.url = url;
        continue;
      }
      flushPage();
      page = { events: [e], url: hidden ? null : url };
      continue;
    }
    flushPage();

    const key = fieldKey(e);
    if (FIELD_TYPES.has(e.type) || e.type === 'keypress') {
      // One step per field edit, with the click that focused the field.
      const focus = pendingClick && fieldKey(pendingClick) === key ? pendingClick : null;
      if (focus) pendingClick = null;
      else flushClick();
      const { kind, text } = describeOne(e);
      const latest = steps[steps.length - 1];
      if (!focus && FIELD_TYPES.has(e.type) && !isCheckable(e) && latest?.kind === kind
          && latest.events.some((x) => FIELD_TYPES.has(x.type) && fieldKey(x) === key)) {
        attach(latest, e);
        latest.text = text;
        continue;
      }
      push(kind, text, focus ? [focus, e] : [e], urlOf(e));
      if (FIELD_TYPES.has(e.type) && labelOf(e)) filled.push(labelOf(e)!);
      continue;
    }
    if (e.type === 'click') {
      flushClick();
      pendingClick = e;
      continue;
    }
    if (e.type === 'dblclick' && pendingClick && fieldKey(pendingClick) === key) {
      // The two clicks of a double click and the dblclick are one step.
      const second = pendingClick;
      pendingClick = null;
      const first = prev && prev.kind === 'click' && prev.events.length === 1 && fieldKey(prev.events[0]!) === key
        && eventTimeMs(e) - eventTimeMs(prev.events[0]!) < 1000 ? prev : null;
      if (first) steps.pop();
      push('click', describeOne(e).text, [...(first ? first.events : []), second, e], urlOf(e));
      continue;
    }
    flushClick();
    const latest = steps[steps.length - 1];
    if (e.type === 'scroll' && latest?.kind === 'scroll') {
      attach(latest, e);
      latest.text = describeScroll(latest.events.filter((x) => x.type === 'scroll'));
    } else if (e.type === 'scroll') {
      push('scroll', describeScroll([e]), [e], urlOf(e));
    } else if (e.type === 'submit' && causedBy(latest, e)) {
      attach(latest!, e);
      latest!.text = `${latest!.text}, which sent ${describeForm(e, filled)}`;
      filled = [];
    } else if (e.type === 'submit') {
      push('submit', `Submitted ${describeForm(e, filled)}`, [e], urlOf(e));
      filled = [];
    } else {
      const { kind, text } = describeOne(e);
      push(kind, text, [e], urlOf(e));
    }
  }
  flushClick();
  flushPage();
  const tail = steps[steps.length - 1];
  if (held.length && tail) held.forEach((e) => attach(tail, e));
  else if (held.length) push('other', describeOne(held[0]!).text, [], urlOf(held[0]!));
  return steps;
}

// The first and last page of the demonstration, on the shop: web pages
// that are not the recorder page.
export function shopPages(steps: Step[]): { first: PageVisit | null; last: PageVisit | null } {
  const titles = pageTitles(steps.flatMap((s) => s.events));
  const visit = (s: Step | undefined): PageVisit | null =>
    (s?.url ? { url: s.url, title: titles.get(s.url.split('#')[0]!) ?? null } : null);
  const shop = steps.filter((s) => s.url && !s.own && isWeb(s.url));
  return { first: visit(shop[0]), last: visit(shop[shop.length - 1]) };
}
