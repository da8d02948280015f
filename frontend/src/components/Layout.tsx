import type { ReactNode } from 'react';
import { Link, usePath } from '../lib/router';
import { useSetting } from '../lib/settings';

function NavLink({ href, children }: { href: string; children: ReactNode }) {
  const path = usePath();
  const current = path === href || (href !== '/' && path.startsWith(href + '/'));
  return (
    <Link href={href} aria-current={current ? 'page' : undefined}
      className={`rounded-md px-3 py-2 text-sm font-medium ${current ? 'bg-indigo-700 text-white' : 'text-indigo-100 hover:bg-indigo-500'}`}>
      {children}
    </Link>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const adminToken = useSetting('adminToken');
  return (
    <div className="min-h-screen">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:bg-white focus:p-2">Skip to content</a>
      <header className="bg-indigo-600">
        <nav aria-label="Main" className="mx-auto flex max-w-6xl flex-wrap items-center gap-1 px-4 py-2">
          <Link href="/" className="mr-4 text-lg font-bold text-white">CodeSight</Link>
          <NavLink href="/record">Record</NavLink>
          <NavLink href="/sessions">My sessions</NavLink>
          {adminToken && <NavLink href="/admin/sessions">All sessions</NavLink>}
          {adminToken && <NavLink href="/admin/tasks">Tasks</NavLink>}
          {adminToken && <NavLink href="/admin/health">Health</NavLink>}
          <span className="flex-1" />
          <NavLink href="/settings">Settings</NavLink>
        </nav>
      </header>
      <main id="main" className="mx-auto flex max-w-6xl flex-col gap-6 px-4 py-6">{children}</main>
    </div>
  );
}
