// The dashboard's few addresses without a router library: the path is the state, links push it,
// Back and Forward (popstate) restore it. Every address under /dashboard serves the same page.
import { useSyncExternalStore, type MouseEvent, type ReactNode } from 'react';

const changeEvent = 'payflow:navigate';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(changeEvent, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(changeEvent, onChange);
  };
}

/** The current path and query, e.g. `/dashboard/payments?status=CAPTURED`. */
export function useLocation(): { readonly path: string; readonly search: string } {
  const href = useSyncExternalStore(subscribe, () => `${window.location.pathname}${window.location.search}`);
  const [path = '', search = ''] = href.split('?');
  return { path, search };
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(changeEvent));
  if (!options.replace) window.scrollTo(0, 0);
}

export function Link(props: {
  readonly to: string;
  readonly children: ReactNode;
  readonly className?: string;
  readonly current?: boolean;
}) {
  function click(event: MouseEvent<HTMLAnchorElement>) {
    // Let the browser open new tabs and windows itself.
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(props.to);
  }
  return (
    <a
      href={props.to}
      onClick={click}
      className={props.className}
      aria-current={props.current ? 'page' : undefined}
    >
      {props.children}
    </a>
  );
}
