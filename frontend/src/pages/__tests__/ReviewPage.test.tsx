import { afterEach, describe, expect, it, vi } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ReviewPage } from '../ReviewPage';
import { fakeFetch } from '../../test/fakeFetch';
import { renderWithQuery } from '../../test/render';
import { setSetting } from '../../lib/settings';

afterEach(() => vi.unstubAllGlobals());

// A fake server holding one session: its events, deleted ones kept for undo, its task and submit.
function server(initial: { status?: string; task?: string | null } = {}) {
  const all = [
    { seq: 1, type: 'click', timestamp: 1700000000000, selector: '#a', data: { url: 'http://shop.test/', element: { text: 'Shoes' } } },
    { seq: 2, type: 'input', timestamp: 1700000001000, selector: '#q', data: { url: 'http://shop.test/', value: 'my secret', element: { name: 'Search' } } },
    { seq: 3, type: 'keypress', timestamp: 1700000002000, data: { url: 'http://shop.test/', key: 'Enter' } },
  ];
  let deleted: number[] = [];
  const session = {
    sessionId: 'cs_x', status: initial.status ?? 'completed', startTime: '2023-11-14T22:13:20.000Z', endTime: null, durationMs: 5000,
    totalEvents: 3, countsByType: {}, summary: {}, firstUrl: null, lastUrl: null, workerId: 1, workerName: 'Ann',
    taskId: null as number | null, task: initial.task === undefined ? 'Buy shoes' : initial.task, confirmedTask: null as string | null,
    submittedAt: null as string | null,
  };
  return fakeFetch({
    'GET /api/extension/sessions/cs_x/events': () => ({ json: { events: all.filter((e) => !deleted.includes(e.seq)), nextAfter: null } }),
    'GET /api/extension/sessions/cs_x/summary': () => ({ json: session }),
    'GET /api/sessions/cs_x/media': () => ({ json: { uploads: [] } }),
    'GET /api/tasks': () => ({ json: { tasks: [{ taskId: 7, instruction: 'Find a tent', site: null, tags: [], targetCount: null, submittedCount: 0 }], allowCustom: true } }),
    'POST /api/sessions/cs_x/events/delete': (c) => {
      const seqs = (c.body as { seqs: number[] }).seqs;
      deleted = [...deleted, ...seqs];
      return { json: { deleted: seqs.length } };
    },
    'POST /api/sessions/cs_x/events/restore': (c) => {
      const seqs = (c.body as { seqs: number[] }).seqs;
      deleted = deleted.filter((s) => !seqs.includes(s));
      return { json: { restored: seqs.length } };
    },
    'POST /api/sessions/cs_x/task': (c) => {
      session.taskId = (c.body as { taskId: number }).taskId;
      session.task = 'Find a tent';
      return { json: { sessionId: 'cs_x', taskId: session.taskId, task: session.task } };
    },
    'POST /api/sessions/cs_x/submit': (c) => {
      session.confirmedTask = (c.body as { confirmedTask: string }).confirmedTask;
      session.submittedAt = '2023-11-14T23:00:00.000Z';
      return { json: session };
    },
    'POST /api/sessions/cs_x/stop': () => ({ json: session }),
    'DELETE /api/sessions/cs_x': () => ({ json: { deleted: true } }),
  });
}

describe('ReviewPage', () => {
  it('deletes the selected steps, and undoes it', async () => {
    setSetting('workerToken', 'cs_w_1_s');
    const f = server();
    const user = userEvent.setup();
    renderWithQuery(<ReviewPage sessionId="cs_x" />);
    const box = await screen.findByRole('checkbox', { name: /Typed “my secret” into “Search”/ });
    const del = screen.getByRole('button', { name: /Delete .*selected step/ });
    expect(del).toBeDisabled();
    await user.click(box);
    await user.click(del);
    expect(f.calls.find((c) => c.path.endsWith('/events/delete'))).toMatchObject({ body: { seqs: [2] }, auth: 'Bearer cs_w_1_s' });
    expect(await screen.findByText('Deleted 1 step.')).toBeInTheDocument();
    await waitFor(() => expect(screen.getAllByTestId('step')).toHaveLength(2));
    await user.click(screen.getByRole('button', { name: 'Undo: restore 1 step' }));
    expect(f.calls.find((c) => c.path.endsWith('/events/restore'))).toMatchObject({ body: { seqs: [2] } });
    expect(await screen.findByText('Restored 1 step.')).toBeInTheDocument();
    await waitFor(() => expect(screen.getAllByTestId('step')).toHaveLength(3));
    expect(screen.queryByRole('button', { name: /Undo/ })).toBeNull();
    expect(screen.queryByText('Deleted 1 step.')).toBeNull();
  });

  it('submits with the task confirmed or corrected, then locks the session', async () => {
    setSetting('workerToken', 'cs_w_1_s');
    const f = server();
    const user = userEvent.setup();
    renderWithQuery(<ReviewPage sessionId="cs_x" />);
    expect(await screen.findByTestId('session-task')).toHaveTextContent('Buy shoes');
    await user.click(await screen.findByRole('checkbox', { name: /Pressed Enter/ }));
    await user.click(screen.getByRole('button', { name: /Delete .*selected step/ }));
    await screen.findByRole('button', { name: 'Undo: restore 1 step' });
    const done = screen.getByLabelText('What did you actually do?');
    expect(done).toHaveValue('Buy shoes');
    await user.clear(done);
    const submit = screen.getByRole('button', { name: 'Submit for review' });
    expect(submit).toBeDisabled();
    await user.type(done, 'Bought shoes in size 43');
    await user.click(submit);
    expect(f.calls.find((c) => c.path.endsWith('/submit'))).toMatchObject({ body: { confirmedTask: 'Bought shoes in size 43' } });
    expect(await screen.findByText(/Submitted for review on/)).toHaveTextContent('What you did: Bought shoes in size 43');
    await waitFor(() => expect(screen.queryByRole('checkbox')).toBeNull());
    expect(screen.queryByRole('button', { name: /Delete .*selected step/ })).toBeNull();
    expect(screen.queryByRole('button', { name: /Undo/ })).toBeNull();
    expect(screen.queryByText('Deleted 1 step.')).toBeNull();
  });

  it('gives a session the extension started alone its task', async () => {
    setSetting('workerToken', 'cs_w_1_s');
    const f = server({ task: null });
    const user = userEvent.setup();
    renderWithQuery(<ReviewPage sessionId="cs_x" />);
    expect(await screen.findByText('This session has no task yet. What was it for?')).toBeInTheDocument();
    await user.click(await screen.findByRole('radio', { name: /Find a tent/ }));
    await user.click(screen.getByRole('button', { name: 'Save the task' }));
    expect(f.calls.find((c) => c.path.endsWith('/task'))).toMatchObject({ body: { taskId: 7 } });
    expect(await screen.findByTestId('session-task')).toHaveTextContent('Find a tent');
    expect(screen.getByLabelText('What did you actually do?')).toHaveValue('Find a tent');
  });

  it('does not submit a session that is still recording', async () => {
    setSetting('workerToken', 'cs_w_1_s');
    const f = server({ status: 'active' });
    const user = userEvent.setup();
    renderWithQuery(<ReviewPage sessionId="cs_x" />);
    expect(await screen.findByText(/This session is still recording/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Submit for review' })).toBeNull();
    await user.click(screen.getByRole('button', { name: 'End the recording' }));
    await waitFor(() => expect(f.calls.some((c) => c.path.endsWith('/stop'))).toBe(true));
  });

  it('asks before deleting the whole session', async () => {
    setSetting('workerToken', 'cs_w_1_s');
    const f = server();
    const user = userEvent.setup();
    renderWithQuery(<ReviewPage sessionId="cs_x" />);
    await user.click(await screen.findByRole('button', { name: 'Delete session…' }));
    expect(f.calls.some((c) => c.method === 'DELETE')).toBe(false);
    await user.click(within(screen.getByRole('group', { name: 'Confirm deletion' })).getByRole('button', { name: 'Yes, delete it' }));
    await waitFor(() => expect(window.location.pathname).toBe('/sessions'));
    expect(f.calls.some((c) => c.method === 'DELETE' && c.path === '/api/sessions/cs_x')).toBe(true);
  });
});
