// A problem told in the worker's words, with the technical detail one click
// away (for the administrator, or a bug report).
import type { ReactNode } from 'react';

export function Problem({ tone = 'error', title, children, detail, testId }: {
  tone?: 'error' | 'warn';
  title?: string;
  children: ReactNode;
  detail?: string | null;
  testId?: string;
}) {
  const tones = { error: 'border-red-300 bg-red-50 text-red-900', warn: 'border-amber-300 bg-amber-50 text-amber-900' };
  return (
    <div role={tone === 'error' ? 'alert' : 'status'} data-testid={testId} className={`rounded-md border p-3 text-sm ${tones[tone]}`}>
      {title && <p className="font-semibold">{title}</p>}
      <div>{children}</div>
      {detail && (
        <details className="mt-2 text-xs">
          <summary className="cursor-pointer">Technical details</summary>
          <code className="mt-1 block whitespace-pre-wrap break-all">{detail}</code>
        </details>
      )}
    </div>
  );
}
