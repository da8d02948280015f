// Small shared building blocks with consistent, accessible styling.
import { useId, useState, type ButtonHTMLAttributes, type InputHTMLAttributes, type ReactNode } from 'react';
import type { ApiError } from '../api/client';

type Variant = 'primary' | 'secondary' | 'danger';

const variants: Record<Variant, string> = {
  primary: 'bg-indigo-600 text-white hover:bg-indigo-700 disabled:bg-indigo-300',
  secondary: 'bg-white text-slate-800 border border-slate-300 hover:bg-slate-100 disabled:text-slate-400',
  danger: 'bg-red-600 text-white hover:bg-red-700 disabled:bg-red-300',
};

export function Button({ variant = 'primary', className = '', ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant }) {
  return (
    <button
      type="button"
      className={`inline-flex items-center justify-center gap-2 rounded-md px-4 py-2 text-sm font-medium disabled:cursor-not-allowed ${variants[variant]} ${className}`}
      {...rest}
    />
  );
}

export function Field({ label, hint, ...rest }: InputHTMLAttributes<HTMLInputElement> & { label: string; hint?: string }) {
  const id = useId();
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium">{label}</label>
      <input id={id} aria-describedby={hint ? `${id}-hint` : undefined}
        className="rounded-md border border-slate-300 bg-white px-3 py-2 text-sm" {...rest} />
      {hint && <p id={`${id}-hint`} className="text-xs text-slate-600">{hint}</p>}
    </div>
  );
}

export function Card({ title, children, actions }: { title?: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6" aria-label={title}>
      {(title || actions) && (
        <div className="mb-4 flex flex-wrap items-center justify-between gap-2">
          {title && <h2 className="text-lg font-semibold">{title}</h2>}
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}

export function ErrorBox({ error, onRetry, title }: { error: ApiError | Error | string; onRetry?: () => void; title?: string }) {
  const message = typeof error === 'string' ? error : error.message;
  const advice = typeof error === 'object' && 'advice' in error ? error.advice : null;
  return (
    <div role="alert" className="rounded-md border border-red-300 bg-red-50 p-4 text-sm text-red-900">
      <p className="font-semibold">{title ?? 'Something went wrong'}</p>
      <p>{message}</p>
      {advice && <p className="mt-1">{advice}</p>}
      {onRetry && <Button variant="secondary" className="mt-3" onClick={onRetry}>Try again</Button>}
    </div>
  );
}

export function Notice({ children, tone = 'info' }: { children: ReactNode; tone?: 'info' | 'warn' | 'ok' }) {
  const tones = { info: 'border-sky-300 bg-sky-50 text-sky-900', warn: 'border-amber-300 bg-amber-50 text-amber-900', ok: 'border-emerald-300 bg-emerald-50 text-emerald-900' };
  return <div role="status" className={`rounded-md border p-3 text-sm ${tones[tone]}`}>{children}</div>;
}

export function ProgressBar({ value, max, label }: { value: number; max: number; label: string }) {
  const pct = max > 0 ? Math.min(100, Math.round((value / max) * 100)) : 0;
  return (
    <div>
      <div className="mb-1 flex justify-between text-sm"><span>{label}</span><span>{pct}%</span></div>
      <div role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}
        className="h-3 w-full overflow-hidden rounded-full bg-slate-200">
        <div className="h-full bg-indigo-600 transition-[width]" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

const statusColors: Record<string, string> = {
  active: 'bg-emerald-100 text-emerald-900',
  completed: 'bg-slate-200 text-slate-900',
  complete: 'bg-slate-200 text-slate-900',
  disconnected: 'bg-amber-100 text-amber-900',
  abandoned: 'bg-red-100 text-red-900',
  pending: 'bg-amber-100 text-amber-900',
  failed: 'bg-red-100 text-red-900',
  submitted: 'bg-indigo-100 text-indigo-900',
  ok: 'bg-emerald-100 text-emerald-900',
  warn: 'bg-amber-100 text-amber-900',
  down: 'bg-red-100 text-red-900',
};

export function StatusBadge({ status, label }: { status: string; label?: string }) {
  return <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${statusColors[status] ?? 'bg-slate-100'}`}>{label ?? status}</span>;
}

// Saves text or a Blob as a file the browser downloads.
export function saveFile(name: string, content: string | Blob, type: string) {
  const url = URL.createObjectURL(typeof content === 'string' ? new Blob([content], { type }) : content);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied('yes');
    } catch {
      setCopied('no');
    }
  };
  return (
    <span className="inline-flex items-center gap-2">
      <Button variant="secondary" onClick={copy}>{label}</Button>
      <span aria-live="polite" className="text-xs text-slate-600">
        {copied === 'yes' ? 'Copied.' : copied === 'no' ? 'Copy failed: select the text and copy it.' : ''}
      </span>
    </span>
  );
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
