// The CodeSight server as the page sees it; nothing when all is well.
import { Link } from '../lib/router';
import { Problem } from './Problem';
import type { ServerView } from './useServerStatus';

export function ServerPanel({ view }: { view: ServerView }) {
  if (view.kind === 'unreachable') {
    return (
      <Problem title="The CodeSight server is not reachable" detail={view.detail} testId="server-problem">
        A recording still works: the video waits in this browser and the extension keeps your events until the server is back.
      </Problem>
    );
  }
  if (view.kind === 'unauthorized') {
    return (
      <Problem title="The server did not accept your worker token" detail={view.detail} testId="server-problem">
        Paste a valid token in <Link href="/settings" className="underline">Settings</Link> or <Link href="/register" className="underline">register again</Link>.
      </Problem>
    );
  }
  return null;
}
