import { afterEach, describe, expect, it, vi } from 'vitest';
import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { DatasetExport, dayStart } from '../DatasetExport';
import { fakeFetch } from '../../test/fakeFetch';
import { renderWithQuery } from '../../test/render';
import { setSetting } from '../../lib/settings';

const anchorClick = HTMLAnchorElement.prototype.click;
afterEach(() => { vi.unstubAllGlobals(); HTMLAnchorElement.prototype.click = anchorClick; });

describe('DatasetExport', () => {
  it('downloads the dataset with the filters chosen', async () => {
    setSetting('adminToken', 'cs_a_1_s');
    const f = fakeFetch({
      'GET /api/admin/tasks': () => ({ json: { tasks: [{ taskId: 4, instruction: 'Buy shoes', tags: [] }], allowCustom: true } }),
      'GET /api/export/dataset.jsonl': () => ({ text: '{"step":1}\n{"step":2}\n' }),
    });
    const saved: string[] = [];
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL: () => 'blob:x', revokeObjectURL: () => {} }));
    HTMLAnchorElement.prototype.click = function click(this: HTMLAnchorElement) { saved.push(this.download); };
    const user = userEvent.setup();
    renderWithQuery(<DatasetExport />);
    await user.selectOptions(await screen.findByLabelText('Task'), await screen.findByRole('option', { name: 'Buy shoes' }));
    await user.type(screen.getByLabelText('From'), '2026-01-02');
    await user.type(screen.getByLabelText('To'), '2026-01-03');
    await user.selectOptions(screen.getByLabelText('Lowest score'), '4');
    await user.click(screen.getByRole('button', { name: 'Download dataset (JSONL)' }));
    expect(await screen.findByText(/Saved codesight-dataset-.*\.jsonl: 2 actions/)).toBeInTheDocument();
    const call = f.calls.find((c) => c.path.startsWith('/api/export/dataset.jsonl'))!;
    const q = new URL(call.path, 'http://x').searchParams;
    expect(Object.fromEntries(q)).toEqual({
      status: 'submitted', task: '4', since: dayStart('2026-01-02'), until: dayStart('2026-01-04'), minScore: '4',
    });
    expect(call.auth).toBe('Bearer cs_a_1_s');
    expect(saved).toEqual([expect.stringMatching(/^codesight-dataset-\d{4}-\d\d-\d\d\.jsonl$/)]);
  });

  it('turns a local calendar day into the instant it starts', () => {
    expect(new Date(dayStart('2026-03-01')!).getDate()).toBe(1);
    expect(new Date(dayStart('2026-02-28', 1)!).getDate()).toBe(1);
    expect(dayStart('')).toBeUndefined();
  });
});
