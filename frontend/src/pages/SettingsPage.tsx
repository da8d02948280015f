// Tokens and the extension id, kept in localStorage.
import { useState, type FormEvent } from 'react';
import { ApiClient, ApiError } from '../api/client';
import { endpoints } from '../api/endpoints';
import { asApiError } from '../api/hooks';
import { Button, Card, ErrorBox, Field, Notice } from '../components/ui';
import { getSetting, setSetting, type SettingKey } from '../lib/settings';
import { connectExtension } from '../recording/useExtension';

function TokenForm({ setting, label, hint, check, onSaved }: {
  setting: SettingKey; label: string; hint: string; check?: (token: string) => Promise<string>;
  onSaved?: (value: string) => Promise<void>;
}) {
  const [value, setValue] = useState(getSetting(setting) ?? '');
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(null);
    setError(null);
    const v = value.trim();
    try {
      const who = v && check ? await check(v) : '';
      setSetting(setting, v || null);
      if (v) await onSaved?.(v);
      setSaved(v ? `Saved.${who ? ` ${who}` : ''}` : 'Removed.');
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <form onSubmit={save} className="flex max-w-xl flex-col gap-3">
      <Field label={label} hint={hint} value={value} onChange={(e) => setValue(e.target.value)} autoComplete="off" spellCheck={false} />
      <div><Button type="submit">Save {label.toLowerCase()}</Button></div>
      {saved && <Notice tone="ok">{saved}</Notice>}
      {error && <ErrorBox title="Not saved" error={error} />}
    </form>
  );
}

// Asks the server who the token belongs to, so a typo is caught now.
async function whoami(token: string, kind: 'worker' | 'admin'): Promise<string> {
  const me = await endpoints(new ApiClient({ token: () => token })).me();
  if (kind === 'admin' && me.kind !== 'admin') throw new ApiError(403, 'forbidden', 'This is a worker token, not an admin token.');
  return me.displayName ? `Signed in as ${me.displayName}.` : `Accepted as ${me.kind}.`;
}

export function SettingsPage() {
  return (
    <>
      <h1 className="text-2xl font-bold">Settings</h1>
      <Card title="Worker">
        <TokenForm setting="workerToken" label="Worker token" hint="Starts with cs_w_. Shown once when you registered. The extension gets it too."
          check={(t) => whoami(t, 'worker')} onSaved={connectExtension} />
      </Card>
      <Card title="Administrator">
        <TokenForm setting="adminToken" label="Admin token" hint="Starts with cs_a_. Unlocks the session list and health pages."
          check={(t) => whoami(t, 'admin')} />
      </Card>
      <Card title="Extension">
        <TokenForm setting="extensionId" label="Extension id" hint="The id shown on chrome://extensions for CodeSight." />
      </Card>
    </>
  );
}
