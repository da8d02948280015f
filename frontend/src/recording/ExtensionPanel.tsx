// The extension as the worker needs to know it before and while recording:
// installed or not (with how to install it), connected to this server or
// waiting for the worker's OK, the server connection and its problem, the
// events still queued, and whether it records, is paused or stopped.
import { Button, Notice } from '../components/ui';
import { Link } from '../lib/router';
import { connectExtension, type ExtensionView } from './useExtension';
import { Problem } from './Problem';

const STOPPED_BY: Record<string, string> = {
  popup: 'from the extension',
  page: 'on this page',
  server: 'by the server',
};

export function InstallSteps() {
  return (
    <ol className="list-decimal space-y-1 pl-6 text-sm">
      <li>Open <code>chrome://extensions</code> and turn on <strong>Developer mode</strong>.</li>
      <li>Click <strong>Load unpacked</strong> and choose the <code>extension-chrome/</code> folder of CodeSight.</li>
      <li>Come back to this page: it connects the extension for you.</li>
    </ol>
  );
}

export function ExtensionPanel({ view, token }: { view: ExtensionView; token: string | null }) {
  switch (view.kind) {
    case 'checking':
      return <div data-testid="extension-status" data-kind="checking"><Notice>Looking for the CodeSight extension…</Notice></div>;
    case 'missing':
      return (
        <div data-testid="extension-status" data-kind="missing">
          <Problem tone="warn" title="The CodeSight extension is not installed in this browser" detail={view.reason}>
            <p className="mb-2">Without it your clicks and typing are not recorded, only the screen and your voice. To install it:</p>
            <InstallSteps />
            <p className="mt-2">More in <Link href="/register" className="underline">Join CodeSight</Link>.</p>
          </Problem>
        </div>
      );
    case 'unpaired':
      return (
        <div data-testid="extension-status" data-kind="unpaired" className="flex flex-col gap-2">
          <Problem tone="warn" title="The extension is not connected to this server yet">
            {view.pending
              ? <p>Click the CodeSight icon in the browser's toolbar and press <strong>Allow</strong> to let it record to this server.</p>
              : <p>Connect it, then confirm in the extension (CodeSight icon in the toolbar).</p>}
          </Problem>
          {!view.pending && token && <div><Button variant="secondary" onClick={() => void connectExtension(token)}>Connect the extension</Button></div>}
        </div>
      );
    case 'paired': {
      const s = view.status;
      const stop = s.lastStop;
      return (
        <div data-testid="extension-status" data-kind="paired" data-state={s.state} data-connection={s.connection} className="flex flex-col gap-2 text-sm">
          <p>
            Extension: <strong data-testid="extension-state">{s.state === 'recording' ? `recording session ${s.sessionId}` : s.state === 'paused' ? `paused (session ${s.sessionId})` : 'not recording'}</strong>
            {' · '}server: <strong data-testid="extension-connection">{s.connection}</strong>
          </p>
          {s.state === 'paused' && <Notice tone="warn">Paused in the extension: clicks and typing are not recorded until you resume there; the screen recording goes on.</Notice>}
          {s.state === 'idle' && stop && <p className="text-slate-600">Session {stop.sessionId} was stopped {STOPPED_BY[stop.by] ?? ''}.</p>}
          {s.problem && (
            <Problem tone={s.problem.severity === 'warn' ? 'warn' : 'error'} detail={s.problem.detail} testId="extension-problem">{s.problem.message}</Problem>
          )}
          {s.queuedTotal > 0 && (
            <p data-testid="extension-queued" className="text-slate-700">{s.queuedTotal} event(s) wait in the extension to be sent; they are kept until the server stores them.</p>
          )}
        </div>
      );
    }
  }
}
