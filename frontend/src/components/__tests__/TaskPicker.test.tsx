import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, renderHook, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { TaskPicker, useTaskChoice } from '../TaskPicker';
import { fakeFetch } from '../../test/fakeFetch';
import { renderWithQuery } from '../../test/render';
import { setSetting } from '../../lib/settings';

afterEach(() => vi.unstubAllGlobals());

const tasks = (allowCustom: boolean) => ({
  allowCustom,
  tasks: [{ taskId: 3, instruction: 'Buy trail shoes in size 42', site: 'http://shop.test/', tags: ['shoes'], targetCount: 5, submittedCount: 2, sessionCount: 3, active: true }],
});

function Picker() {
  const state = useTaskChoice();
  return <><TaskPicker state={state} /><output data-testid="choice">{JSON.stringify(state.choice)}</output></>;
}

describe('TaskPicker', () => {
  it('offers the tasks with site, tags and progress, and the worker\'s own words when allowed', async () => {
    setSetting('workerToken', 'cs_w_1_s');
    fakeFetch({ 'GET /api/tasks': () => ({ json: tasks(true) }) });
    const user = userEvent.setup();
    renderWithQuery(<Picker />);
    const radio = await screen.findByRole('radio', { name: /Buy trail shoes in size 42/ });
    expect(screen.getByText('on http://shop.test/')).toBeInTheDocument();
    expect(screen.getByText('2 of 5 done')).toBeInTheDocument();
    await user.click(radio);
    expect(screen.getByTestId('choice')).toHaveTextContent('{"taskId":3}');
    const own = screen.getByRole('radio', { name: 'Something else' });
    await user.click(own);
    expect(own).toBeChecked();
    expect(screen.getByTestId('choice')).toHaveTextContent('null');
    await user.type(screen.getByLabelText('Your own task'), 'Compare two tents');
    expect(screen.getByTestId('choice')).toHaveTextContent('{"task":"Compare two tents"}');
    await user.click(radio);
    expect(own).not.toBeChecked();
    expect(screen.getByTestId('choice')).toHaveTextContent('{"taskId":3}');
  });

  it('has no box for one\'s own task when the admin turned it off', async () => {
    setSetting('workerToken', 'cs_w_1_s');
    fakeFetch({ 'GET /api/tasks': () => ({ json: tasks(false) }) });
    renderWithQuery(<Picker />);
    await screen.findByRole('radio', { name: /Buy trail shoes/ });
    expect(screen.queryByLabelText('Your own task')).toBeNull();
  });

  it('hands the choice on to a new session, and keeps recording when that fails', async () => {
    setSetting('workerToken', 'cs_w_1_s');
    let fail = false;
    const f = fakeFetch({ 'POST /api/sessions/cs_new/task': () => (fail ? { status: 503, json: { error: { code: 'unavailable', message: 'busy' } } } : { json: {} }) });
    const { result } = renderHook(() => useTaskChoice());
    await act(async () => { await result.current.assignTo('cs_new'); });
    expect(f.calls).toHaveLength(0);
    act(() => result.current.setChoice({ taskId: 3 }));
    await act(async () => { await result.current.assignTo('cs_new'); });
    expect(f.calls[0]).toMatchObject({ method: 'POST', path: '/api/sessions/cs_new/task', body: { taskId: 3 } });
    fail = true;
    await act(async () => { await result.current.assignTo('cs_new'); });
    await waitFor(() => expect(result.current.error?.code).toBe('unavailable'));
  });
});
