/** What the widget module exports to a widget manager: version, model and view classes. */
export { MODULE_NAME, MODULE_VERSION, MODULE_VERSION_RANGE } from './version';
export { ModelsPanelModel } from './model';
export { ModelsPanelView } from './view';
