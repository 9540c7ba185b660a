// The entry: load every prebuilt extension the server lists (page config
// `federated_extensions`, from the labextensions path), join each container to
// the core's share scope, then import the app. The app is a dynamic import so
// that the shared modules it uses are resolved only after every container has
// registered what it provides: this file itself imports nothing shared.

function pageConfig() {
  return JSON.parse(document.getElementById('jupyter-config-data').textContent);
}

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = url;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`could not load ${url}`));
    document.head.appendChild(script);
  });
}

async function loadContainer(base, data) {
  await loadScript(`${base.replace(/\/$/, '')}/${data.name}/${data.load}`);
  // eslint-disable-next-line no-undef
  await __webpack_init_sharing__('default');
  const container = window._JUPYTERLAB[data.name];
  // eslint-disable-next-line no-undef
  await container.init(__webpack_share_scopes__.default);
}

void (async function bootstrap() {
  const config = pageConfig();
  const federated = config.federated_extensions || [];
  const loaded = await Promise.allSettled(federated.map((data) => loadContainer(config.fullLabextensionsUrl, data)));
  loaded.forEach((r, i) => r.status === 'rejected' && console.error(`extension ${federated[i].name}:`, r.reason));
  // JupyterLab's own bootstrap starts the app on the window's load event; parts of the core
  // (@jupyter/web-components' theme listener) start differently before it.
  if (document.readyState !== 'complete') await new Promise((resolve) => window.addEventListener('load', resolve, { once: true }));
  const { main } = await import('./index');
  await main(federated.filter((_, i) => loaded[i].status === 'fulfilled'));
})();
