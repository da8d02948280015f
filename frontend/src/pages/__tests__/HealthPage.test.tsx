import { afterEach, describe, expect, it, vi } from 'vitest';
import { screen, within } from '@testing-library/react';
import { HealthPage } from '../HealthPage';
import { fakeFetch } from '../../test/fakeFetch';
import { renderWithQuery } from '../../test/render';
import { setSetting } from '../../lib/settings';
import type { Health } from '../../api/types';

afterEach(() => vi.unstubAllGlobals());

const health = (s3: 'ok' | 'down'): Health => ({
  status: s3 === 'ok' ? 'ok' : 'degraded', time: '2026-01-01T10:00:00.000Z', database: 'postgres',
  extensionVersion: '1.0', serverVersion: '15.20',
  checks: [
    { name: 'postgres', label: 'PostgreSQL', status: 'ok', message: 'PostgreSQL 15.20 answers; 3 of 97 connections in use',
      details: { serverVersion: '15.20', database: 'postgres', connections: 3, maxConnections: 97 } },
    { name: 'worker', label: 'Worker', status: 'ok', message: 'listening on 127.0.0.1:8787, up 5 min',
      details: { listening: true, listenAddress: '127.0.0.1', port: 8787, uptimeSeconds: 300, eventsCommitted: 1234, queueDepth: 0, batches: 10, batchFailures: 0 } },
    s3 === 'ok'
      ? { name: 's3', label: 'Storage (S3)', status: 'ok', message: 'bucket "media" answers in 4 ms',
        details: { endpoint: 'http://127.0.0.1:4568', bucket: 'media', latencyMs: 4, httpStatus: 404, code: 'NoSuchKey' } }
      : { name: 's3', label: 'Storage (S3)', status: 'down', message: 'unreachable: Failed to connect to 127.0.0.1 port 4568',
        details: { endpoint: 'http://127.0.0.1:4568', bucket: 'media', latencyMs: 1, httpStatus: null } },
    { name: 'extensions', label: 'Extension connections', status: 'warn', message: '2 open connections; 1 lost',
      details: { connections: 2, recordingNow: 1, activeSessions: 1, disconnectedSessions: 1 } },
  ],
});

const counts = { workers: 2, tokens: 3, sessions: 5, events: 1200, uploads: 1, activeSessions: 1,
  sessionsByStatus: { active: 1, completed: 4, disconnected: 0, abandoned: 0 } };

describe('HealthPage', () => {
  it('draws a card per check with its status and facts, not a JSON blob', async () => {
    setSetting('adminToken', 'cs_a_1_s');
    fakeFetch({ 'GET /api/health': () => ({ json: health('down') }), 'GET /api/debug/counts': () => ({ json: counts }) });
    renderWithQuery(<HealthPage />);
    const cards = await screen.findAllByTestId('health-check');
    expect(cards.map((c) => [c.dataset.name, c.dataset.status])).toEqual(
      [['postgres', 'ok'], ['worker', 'ok'], ['s3', 'down'], ['extensions', 'warn']]);
    const s3 = within(cards[2]!);
    expect(s3.getByText('Down')).toBeInTheDocument();
    expect(s3.getByText(/unreachable: Failed to connect/)).toBeInTheDocument();
    expect(within(cards[1]!).getByText('1,234')).toBeInTheDocument();
    expect(screen.getByTestId('health-overview')).toHaveTextContent('Not working: Storage (S3).');
    expect(await screen.findByTestId('counts')).toHaveTextContent('Events1,200');
    expect(document.body.textContent).not.toMatch(/[{]"/);
  });

  it('says so when everything works, and when the server does not answer', async () => {
    setSetting('adminToken', 'cs_a_1_s');
    fakeFetch({ 'GET /api/health': () => ({ json: { ...health('ok'), checks: health('ok').checks.slice(0, 3) } }), 'GET /api/debug/counts': () => ({ json: counts }) });
    const { unmount } = renderWithQuery(<HealthPage />);
    expect(await screen.findByTestId('health-overview')).toHaveTextContent('Everything works.');
    unmount();
    vi.stubGlobal('fetch', vi.fn(async () => { throw new TypeError('Failed to fetch'); }));
    renderWithQuery(<HealthPage />);
    expect(await screen.findByTestId('health-unreachable')).toHaveTextContent(/cannot be reached/);
    expect(screen.queryAllByTestId('health-check')).toHaveLength(0);
  });
});
