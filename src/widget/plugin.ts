/**
 * The JupyterLab 4 plugin (labextension entry, package.json `jupyterlab.extension`):
 * registers the widget module with the widget manager's registry.
 */
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { MODULE_NAME, MODULE_VERSION } from './version';
import * as widgetExports from './widget';

const plugin: JupyterFrontEndPlugin<void> = {
  id: `${MODULE_NAME}:plugin`,
  description: 'The modeldeck models panel widget.',
  requires: [IJupyterWidgetRegistry],
  autoStart: true,
  activate: (_app: JupyterFrontEnd, registry: IJupyterWidgetRegistry): void => {
    registry.registerWidget({ name: MODULE_NAME, version: MODULE_VERSION, exports: widgetExports as never });
  },
};

export default plugin;
