import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { OnboardingPage } from '../OnboardingPage';
import { HomePage } from '../HomePage';
import { fakeFetch } from '../../test/fakeFetch';
import { getSetting } from '../../lib/settings';

afterEach(() => vi.unstubAllGlobals());

describe('OnboardingPage', () => {
  it('registers, shows the token once and keeps it', async () => {
    const f = fakeFetch({ 'POST /api/workers': () => ({ json: { workerId: 7, displayName: 'Ann', token: 'cs_w_abc_secret' } }) });
    const user = userEvent.setup();
    render(<OnboardingPage />);
    const submit = screen.getByRole('button', { name: 'Register' });
    expect(submit).toBeDisabled();
    await user.type(screen.getByLabelText('Your name'), 'Ann');
    // No email or other contact data is asked for.
    expect(screen.queryByLabelText(/email/i)).toBeNull();
    await user.click(submit);
    expect(await screen.findByTestId('worker-token')).toHaveTextContent('cs_w_abc_secret');
    expect(screen.getByRole('button', { name: 'Copy token' })).toBeInTheDocument();
    expect(f.calls[0]!.body).toEqual({ displayName: 'Ann' });
    expect(getSetting('workerToken')).toBe('cs_w_abc_secret');
  });

  it('explains a closed registration and what to do', async () => {
    fakeFetch({ 'POST /api/workers': () => ({ status: 403, json: { error: { code: 'forbidden', message: 'registration is closed' } } }) });
    const user = userEvent.setup();
    render(<OnboardingPage />);
    await user.type(screen.getByLabelText('Your name'), 'Bob{Enter}');
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('registration is closed');
    expect(getSetting('workerToken')).toBeNull();
  });

  it('keeps showing the new token on the home page after registering', async () => {
    fakeFetch({ 'POST /api/workers': () => ({ json: { workerId: 8, displayName: 'Cy', token: 'cs_w_x_y' } }) });
    const user = userEvent.setup();
    render(<HomePage />);
    await user.type(screen.getByLabelText('Your name'), 'Cy{Enter}');
    expect(await screen.findByTestId('worker-token')).toHaveTextContent('cs_w_x_y');
  });
});
