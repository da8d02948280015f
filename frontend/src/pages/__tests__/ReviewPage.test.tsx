import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ReviewPage } from '../ReviewPage';
import { fakeFetch } from '../../test/fakeFetch';
import { setSetting } from '../../lib/settings';

afterEach(() => vi.unstubAllGlobals());

function server() {
  let events = [
    { seq: 1, type: 'click', timestamp: 1700000000000, selector: '#a', data: { element: { text: 'Shoes' } } },
    { seq: 2, type: 'input', timestamp: 1700000001000, selector: '#q', data: { value: 'my secret', element: { name: 'Search' } } },
    { seq: 3, type: 'keypress', timestamp: 1700000002000, data: { key: 'Enter' } },
  ];
  return fakeFetch({
    'GET /api/extension/sessions/cs_x/events': () => ({ json: { events, nextAfter: null } }),
    'GET /api/sessions/cs_x/media': () => ({ json: { uploads: [] } }),
    'POST /api/sessions/cs_x/events/delete': (c) => {
      const seqs = (c.body as { seqs: number[] }).seqs;
      events = events.filter((e) => !seqs.includes(e.seq));
      return { json: { deleted: seqs.length } };
    },
    'DELETE /api/sessions/cs_x': () => ({ json: { deleted: true } }),
  });
}

describe('ReviewPage', () => {
  it('deletes the selected steps and shows what is left', async () => {
    setSetting('workerToken', 'cs_w_1_s');
    const f = server();
    const user = userEvent.setup();
    render(<ReviewPage sessionId="cs_x" />);
    const box = await screen.findByRole('checkbox', { name: /Typed “my secret” into Search/ });
    const del = screen.getByRole('button', { name: /Delete .*selected step/ });
    expect(del).toBeDisabled();
    await user.click(box);
    await user.click(del);
    expect(f.calls.find((c) => c.method === 'POST')).toMatchObject({ body: { seqs: [2] }, auth: 'Bearer cs_w_1_s' });
    expect(await screen.findByText('Deleted 1 step(s).')).toBeInTheDocument();
    await waitFor(() => expect(screen.getAllByTestId('event')).toHaveLength(2));
  });

  it('asks before deleting the whole session', async () => {
    setSetting('workerToken', 'cs_w_1_s');
    const f = server();
    const user = userEvent.setup();
    render(<ReviewPage sessionId="cs_x" />);
    await user.click(await screen.findByRole('button', { name: 'Delete session…' }));
    expect(f.calls.some((c) => c.method === 'DELETE')).toBe(false);
    await user.click(screen.getByRole('button', { name: 'Yes, delete it' }));
    await waitFor(() => expect(window.location.pathname).toBe('/sessions'));
    expect(f.calls.some((c) => c.method === 'DELETE' && c.path === '/api/sessions/cs_x')).toBe(true);
  });
});
