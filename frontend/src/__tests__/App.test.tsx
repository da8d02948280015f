import { afterEach, describe, expect, it, vi } from 'vitest';
import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from '../App';
import { PageErrorBoundary } from '../components/PageError';
import { match, navigate } from '../lib/router';
import { renderWithQuery } from '../test/render';

afterEach(() => { vi.restoreAllMocks(); window.history.pushState(null, '', '/'); });

// A page that fails on /a while `broken` is set.
const state = { broken: true };
function Boom({ path }: { path: string }) {
  if (state.broken && path === '/a') throw new Error('the page broke');
  return <p>fine</p>;
}

describe('routes', () => {
  it('treats a path that is not valid percent-encoding as not found', () => {
    expect(match('/sessions/:sessionId', '/sessions/%E0%A4%A')).toBeNull();
    expect(match('/sessions/:sessionId', '/sessions/cs_a%2Fb')).toEqual({ sessionId: 'cs_a/b' });
    window.history.pushState(null, '', '/sessions/%E0%A4%A');
    renderWithQuery(<App />);
    expect(screen.getByText('Page not found')).toBeInTheDocument();
  });

  it('shows a page that failed with a way on, and recovers on the next path', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    function Page({ path }: { path: string }) { return <PageErrorBoundary path={path}><Boom path={path} /></PageErrorBoundary>; }
    const { rerender } = renderWithQuery(<Page path="/a" />);
    expect(screen.getByRole('alert')).toHaveTextContent('the page broke');
    expect(screen.getByRole('link', { name: 'start page' })).toHaveAttribute('href', '/');
    rerender(<Page path="/b" />);
    expect(screen.getByText('fine')).toBeInTheDocument();
    rerender(<Page path="/a" />);
    expect(screen.getByRole('alert')).toBeInTheDocument();
    state.broken = false;
    await userEvent.setup().click(screen.getByRole('button', { name: 'Try again' }));
    expect(screen.getByText('fine')).toBeInTheDocument();
    navigate('/');
  });
});
