/**
 * The panel as anywidget's ES module (`_esm`, built to dist/esm/index.js):
 * `initialize` makes the client (listeners registered at once: anywidget
 * holds early messages until initialize ends, and drops every later one if it
 * takes over 2 s, so it does nothing slow), `render` mounts the Preact panel.
 */
import { render } from 'preact';
import { AnywidgetClient, type AnyModel } from './anywidget';
import { ModelsPanel } from './components/ModelsPanel';

const clients = new WeakMap<AnyModel, AnywidgetClient>();

/** The client of one anywidget model (made on first use; the tests reach it here). */
export function clientOf(model: AnyModel): AnywidgetClient {
  let client = clients.get(model);
  if (!client) clients.set(model, (client = new AnywidgetClient(model)));
  return client;
}

export default {
  initialize({ model }: { model: AnyModel }) {
    const client = clientOf(model);
    return () => {
      client.dispose();
      clients.delete(model);
    };
  },
  render({ model, el }: { model: AnyModel; el: HTMLElement }) {
    el.classList.add('modeldeck-panel');
    render(<ModelsPanel model={clientOf(model)} />, el);
    // Unmounting runs the components' effect cleanups (listeners, timers, observers).
    return () => render(null, el);
  },
};
