import { describe, expect, it } from 'vitest';
import { backoffDelay, withRetry } from './retry';

describe('withRetry', () => {
  it('waits exponentially longer between attempts and returns the first success', async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await withRetry(async () => {
      calls++;
      if (calls < 4) throw new Error('flaky');
      return 'ok';
    }, { baseDelayMs: 100, sleep: async (ms) => { waits.push(ms); }, random: () => 0 });
    expect(result).toBe('ok');
    expect(waits).toEqual([100, 200, 400]);
  });

  it('gives up after the last attempt with the last error', async () => {
    let calls = 0;
    await expect(withRetry(async () => { calls++; throw new Error(`fail ${calls}`); },
      { attempts: 3, sleep: async () => {} })).rejects.toThrow('fail 3');
    expect(calls).toBe(3);
  });

  it('does not retry errors that cannot pass', async () => {
    let calls = 0;
    await expect(withRetry(async () => { calls++; throw new Error('403'); },
      { isRetryable: () => false, sleep: async () => {} })).rejects.toThrow('403');
    expect(calls).toBe(1);
  });

  it('caps the delay and adds bounded jitter', () => {
    expect(backoffDelay(10, 500, 8000, () => 0)).toBe(8000);
    expect(backoffDelay(1, 500, 8000, () => 1)).toBe(600);
  });
});
