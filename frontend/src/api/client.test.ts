import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError } from './client';
import { allEvents, endpoints } from './endpoints';
import { fakeFetch } from '../test/fakeFetch';

afterEach(() => vi.unstubAllGlobals());

describe('ApiClient', () => {
  it('sends the bearer token and JSON body, and parses JSON', async () => {
    const f = fakeFetch({ 'POST /api/sessions': () => ({ json: { sessionId: 'cs_a_b', status: 'active', startTime: 'x' } }) });
    const ep = endpoints(new ApiClient({ token: () => 'cs_w_1_s' }));
    expect((await ep.createSession()).sessionId).toBe('cs_a_b');
    expect(f.calls[0]).toMatchObject({ method: 'POST', path: '/api/sessions', body: {}, auth: 'Bearer cs_w_1_s' });
  });

  it('turns {"error":{code,message}} into an ApiError with advice', async () => {
    fakeFetch({ 'GET /api/me': () => ({ status: 401, json: { error: { code: 'unauthorized', message: 'token revoked' } } }) });
    const err = await endpoints(new ApiClient()).me().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 401, code: 'unauthorized', message: 'token revoked' });
    expect((err as ApiError).advice).toMatch(/Settings/);
  });

  it('names a non-JSON error after its status', async () => {
    fakeFetch({ 'GET /api/health': () => ({ status: 503, text: '<html>busy</html>' }) });
    await expect(endpoints(new ApiClient()).health()).rejects.toMatchObject({ code: 'unavailable', status: 503 });
  });

  it('reports a server that cannot be reached', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => { throw new TypeError('Failed to fetch'); }));
    const err = (await endpoints(new ApiClient()).health().catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe('network_error');
    expect(err.advice).toMatch(/running/);
  });

  it('pages through events with nextAfter and drops empty query values', async () => {
    const f = fakeFetch({
      'GET /api/extension/sessions/s1/events': (c) => ({
        json: c.path.includes('after=0') ? { events: [{ seq: 1 }], nextAfter: 1 } : { events: [{ seq: 2 }], nextAfter: null },
      }),
      'GET /api/extension/sessions': () => ({ json: { sessions: [], limit: 5, offset: 0, total: 0 } }),
    });
    const ep = endpoints(new ApiClient());
    expect((await allEvents(ep, 's1')).map((e) => e.seq)).toEqual([1, 2]);
    await ep.allSessions({ status: '', limit: 5, offset: 0 });
    expect(f.calls.at(-1)!.path).toBe('/api/extension/sessions?limit=5&offset=0');
  });
});
