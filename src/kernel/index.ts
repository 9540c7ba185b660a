/** The notebook side of modeldeck: the models panel over Jupyter comms. */
export { show, isColab, widgetDisplay, COLAB_WIDGET_MANAGER_URL, type Panel, type ShowOptions } from './show';
export { ModelSession, type ModelSessionOptions, type SessionScanOptions, type SessionComm, type SessionCommHost } from './widget';
export * as protocol from './protocol';
export type { PanelState, PanelSettings, ModelCard, PanelRequest, KernelMessage } from './protocol';
