// Registers a worker, shows the token once, and explains the extension setup.
import { useState, type FormEvent } from 'react';
import { asApiError, publicApi } from '../api/hooks';
import type { ApiError } from '../api/client';
import type { Registration } from '../api/types';
import { Button, Card, CopyButton, ErrorBox, Field, Notice } from '../components/ui';
import { Link } from '../lib/router';
import { setSetting, useSetting } from '../lib/settings';
import { ExtensionPanel, InstallSteps } from '../recording/ExtensionPanel';
import { connectExtension, useExtension } from '../recording/useExtension';

export function OnboardingPage() {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [registered, setRegistered] = useState<Registration | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await publicApi.register(name.trim());
      setSetting('workerToken', r.token);
      setSetting('workerName', r.displayName);
      setRegistered(r);
      // The extension gets this server and the token from the page: the
      // worker only confirms it in the extension's popup, never types it.
      await connectExtension(r.token);
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1 className="text-2xl font-bold">Join CodeSight</h1>
      {!registered ? (
        <Card title="1. Register">
          <form onSubmit={submit} className="flex max-w-md flex-col gap-4">
            <Field label="Your name" required value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" maxLength={200}
              hint="Shown to admins beside your sessions. No email or other contact details are asked for or kept." />
            <div><Button type="submit" disabled={busy || !name.trim()}>{busy ? 'Registering…' : 'Register'}</Button></div>
            {error && <ErrorBox title="Registration failed" error={error} />}
          </form>
        </Card>
      ) : (
        <TokenCard token={registered.token} name={registered.displayName} />
      )}
      <ExtensionSetup />
    </>
  );
}

function TokenCard({ token, name }: { token: string; name: string }) {
  return (
    <Card title="1. Your token">
      <p className="mb-2">Welcome, {name}. This is your token: it is shown only once.</p>
      <div className="flex flex-wrap items-center gap-3">
        <code data-testid="worker-token" className="break-all rounded bg-slate-100 px-2 py-1 text-sm">{token}</code>
        <CopyButton text={token} label="Copy token" />
      </div>
      <Notice>This browser remembers it for recording, and hands it to the extension (step 2).</Notice>
    </Card>
  );
}

export function ExtensionSetup() {
  const extensionId = useSetting('extensionId');
  const token = useSetting('workerToken');
  const { view } = useExtension();
  return (
    <Card title="2. The Chrome extension">
      {view.kind === 'missing' ? (
        <>
          <p className="mb-2 text-sm">Install it in this browser:</p>
          <InstallSteps />
          <p className="mt-2 text-xs text-slate-600">Its id is <code data-testid="extension-id">{extensionId ?? '(unknown: ask your administrator, then set it in Settings)'}</code>.</p>
        </>
      ) : (
        <ExtensionPanel view={view} token={token} />
      )}
      {view.kind === 'paired' && view.status.hasToken && !view.status.tokenRejected && (
        <p className="mt-2 text-sm" data-testid="extension-ready">
          The extension records to this server with your token. <Link href="/record" className="text-indigo-700 underline">Record a session</Link>.
        </p>
      )}
    </Card>
  );
}
