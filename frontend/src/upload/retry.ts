// Retries with exponential backoff: attempt n waits baseDelayMs * 2^(n-1),
// capped at maxDelayMs, plus up to 20% jitter so parallel tabs spread out.

export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  isRetryable?: (e: unknown) => boolean;
  onRetry?: (e: unknown, attempt: number, delayMs: number) => void;
}

export const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function backoffDelay(attempt: number, base: number, max: number, random: () => number): number {
  const exp = Math.min(max, base * 2 ** (attempt - 1));
  return Math.round(exp * (1 + 0.2 * random()));
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 5;
  const base = opts.baseDelayMs ?? 500;
  const max = opts.maxDelayMs ?? 15000;
  const sleep = opts.sleep ?? realSleep;
  const random = opts.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= attempts || (opts.isRetryable && !opts.isRetryable(e))) throw e;
      const delay = backoffDelay(attempt, base, max, random);
      opts.onRetry?.(e, attempt, delay);
      await sleep(delay);
    }
  }
}
