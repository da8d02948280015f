import { afterEach, describe, expect, it, vi } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { AdminTasksPage } from '../AdminTasksPage';
import { fakeFetch } from '../../test/fakeFetch';
import { renderWithQuery } from '../../test/render';
import { setSetting } from '../../lib/settings';
import type { Task } from '../../api/types';

afterEach(() => vi.unstubAllGlobals());

// A fake server keeping the tasks and the option.
function server() {
  const tasks: Task[] = [];
  let allowCustom = true;
  const task = (id: number, f: Partial<Task>): Task => ({
    taskId: id, instruction: '', site: null, tags: [], targetCount: null, active: true, sessionCount: 0, submittedCount: 0,
    createdAt: '', updatedAt: '', ...f,
  });
  return fakeFetch({
    'GET /api/admin/tasks': () => ({ json: { tasks, allowCustom } }),
    'POST /api/admin/tasks': (c) => {
      const t = task(tasks.length + 1, c.body as Partial<Task>);
      tasks.push(t);
      return { json: t };
    },
    'POST /api/admin/tasks/1': (c) => {
      Object.assign(tasks[0]!, c.body);
      return { json: tasks[0] };
    },
    'POST /api/admin/task-options': (c) => {
      allowCustom = (c.body as { allowCustom: boolean }).allowCustom;
      return { json: { allowCustom } };
    },
  });
}

describe('AdminTasksPage', () => {
  it('adds, edits and archives tasks, and turns workers\' own tasks off', async () => {
    setSetting('adminToken', 'cs_a_1_s');
    const f = server();
    const user = userEvent.setup();
    renderWithQuery(<AdminTasksPage />);
    await screen.findByText('No tasks yet.');
    const form = screen.getByRole('form', { name: 'New task' });
    await user.type(within(form).getByLabelText('Instruction'), 'Buy trail shoes in size 42');
    await user.type(within(form).getByLabelText('Site (optional)'), 'http://shop.test/');
    await user.type(within(form).getByLabelText('Tags (comma-separated)'), 'shoes, checkout,');
    await user.type(within(form).getByLabelText('Target count (optional)'), '5');
    await user.click(within(form).getByRole('button', { name: 'Add task' }));
    expect(f.calls.find((c) => c.method === 'POST')).toMatchObject({
      path: '/api/admin/tasks', auth: 'Bearer cs_a_1_s',
      body: { instruction: 'Buy trail shoes in size 42', site: 'http://shop.test/', tags: ['shoes', 'checkout'], targetCount: 5 },
    });
    const row = await screen.findByTestId('task-row');
    expect(row).toHaveTextContent('0 of 5 submitted, 0 recorded');
    expect(within(form).getByLabelText('Instruction')).toHaveValue('');

    await user.click(within(row).getByRole('button', { name: 'Edit' }));
    const edit = screen.getByRole('form', { name: 'Edit task 1' });
    await user.clear(within(edit).getByLabelText('Target count (optional)'));
    await user.click(within(edit).getByRole('button', { name: 'Save task' }));
    expect(f.calls.at(-2)).toMatchObject({ path: '/api/admin/tasks/1', body: { instruction: 'Buy trail shoes in size 42', targetCount: null } });
    await user.click(within(await screen.findByTestId('task-row')).getByRole('button', { name: 'Archive' }));
    expect(f.calls.find((c) => c.body && (c.body as { active?: boolean }).active === false)).toBeTruthy();
    await waitFor(() => expect(screen.getByTestId('task-row')).toHaveTextContent('archived'));

    const option = screen.getByRole('checkbox', { name: /Workers may write their own task/ });
    expect(option).toBeChecked();
    await user.click(option);
    await waitFor(() => expect(option).not.toBeChecked());
    expect(f.calls.find((c) => c.path === '/api/admin/task-options')).toMatchObject({ body: { allowCustom: false } });
  });
});
