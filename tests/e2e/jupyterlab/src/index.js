// The app: the core's plugins and each loaded prebuilt extension's plugins
// registered with one JupyterLab, which then starts and restores its layout.
// `window.jupyterapp` is what JupyterLab's own page sets; the test reads it.
import { JupyterLab } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';
import { EXTENSIONS, MIME_EXTENSIONS } from './extensions';
import '../generated/style.js';

/** A module's plugins: its default export, which is one plugin or a list. */
function pluginsOf(mod) {
  const d = mod.default !== undefined ? mod.default : mod;
  return Array.isArray(d) ? d : [d];
}

/** The module a federated extension exposes under `key` ('./extension', './style'). */
async function fromContainer(name, key) {
  const factory = await window._JUPYTERLAB[name].get(key);
  return factory();
}

export async function main(federated) {
  const plugins = [];
  for (const load of Object.values(EXTENSIONS)) plugins.push(...pluginsOf(await load()));
  const mimeExtensions = [];
  for (const load of Object.values(MIME_EXTENSIONS)) mimeExtensions.push(...pluginsOf(await load()));
  for (const data of federated) {
    if (data.extension) plugins.push(...pluginsOf(await fromContainer(data.name, data.extension)));
    if (data.mimeExtension) mimeExtensions.push(...pluginsOf(await fromContainer(data.name, data.mimeExtension)));
    if (data.style) await fromContainer(data.name, data.style);
  }
  const lab = new JupyterLab({ mimeExtensions });
  lab.registerPlugins(plugins);
  window.jupyterapp = lab;
  await lab.start({ ignorePlugins: PageConfig.getOption('ignorePlugins') ? JSON.parse(PageConfig.getOption('ignorePlugins')) : [], bubblingKeydown: true });
  await lab.restored;
}
