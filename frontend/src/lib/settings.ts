// Tokens and preferences kept in localStorage, observable from React.
import { useSyncExternalStore } from 'react';

export type SettingKey = 'workerToken' | 'adminToken' | 'extensionId' | 'workerName';

const PREFIX = 'codesight.';
const listeners = new Set<() => void>();

export function getSetting(key: SettingKey): string | null {
  const v = localStorage.getItem(PREFIX + key);
  if (v) return v;
  if (key === 'extensionId') return defaultExtensionId();
  return null;
}

export function setSetting(key: SettingKey, value: string | null): void {
  if (value) localStorage.setItem(PREFIX + key, value);
  else localStorage.removeItem(PREFIX + key);
  listeners.forEach((l) => l());
}

function defaultExtensionId(): string | null {
  return typeof __EXTENSION_ID__ === 'string' && __EXTENSION_ID__ ? __EXTENSION_ID__ : null;
}

function subscribe(l: () => void): () => void {
  listeners.add(l);
  // Another tab changing a token updates this one too.
  const onStorage = (e: StorageEvent) => { if (e.key?.startsWith(PREFIX)) l(); };
  window.addEventListener('storage', onStorage);
  return () => { listeners.delete(l); window.removeEventListener('storage', onStorage); };
}

export function useSetting(key: SettingKey): string | null {
  return useSyncExternalStore(subscribe, () => getSetting(key));
}
