// What a page that failed while rendering shows instead of a blank screen:
// the error, a retry, and the way home. The boundary resets when the path
// changes, so navigating away always works.
import type { ReactNode } from 'react';
import { ErrorBoundary, type FallbackProps } from 'react-error-boundary';
import { Link } from '../lib/router';
import { Button, Card } from './ui';

function Fallback({ error, resetErrorBoundary }: FallbackProps) {
  const message = error instanceof Error ? error.message : String(error);
  return (
    <Card title="This page failed">
      <div role="alert" className="flex flex-col gap-3 text-sm">
        <p>Something went wrong while showing this page: <code className="break-all">{message}</code></p>
        <p>Try again, or go back to the <Link href="/" className="text-indigo-700 underline">start page</Link>. If it keeps failing, tell the CodeSight administrator.</p>
        <div><Button variant="secondary" onClick={resetErrorBoundary}>Try again</Button></div>
      </div>
    </Card>
  );
}

export function PageErrorBoundary({ path, children }: { path: string; children: ReactNode }) {
  return <ErrorBoundary FallbackComponent={Fallback} resetKeys={[path]}>{children}</ErrorBoundary>;
}
