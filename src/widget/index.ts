// Entry of the AMD bundle (dist/index.js) that Colab and classic notebooks load.
// The panel's model and view arrive with the widget issue; for now the bundle
// carries the module identity only.
export { MODULE_NAME, MODULE_VERSION } from './version';
