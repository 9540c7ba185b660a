/**
 * The page of `modeldeck serve` (built to dist/serve/panel.js): takes the
 * access token out of the address bar (kept in memory for the requests, so
 * it stays out of history and bookmarks), loads the snapshot, mounts the panel.
 */
import { render } from 'preact';
import { ModelsPanel } from './components/ModelsPanel';
import { HttpClient } from './http';

function takeToken(): string | null {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token');
  if (token !== null) {
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  return token;
}

const client = new HttpClient(takeToken());
(window as unknown as { modeldeck?: HttpClient }).modeldeck = client;
const el = document.getElementById('modeldeck')!;
render(<ModelsPanel model={client} />, el);
void client.start();
