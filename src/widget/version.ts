/**
 * The widget module's name and version, as the kernel side announces them in
 * `_model_module` / `_model_module_version`. Both come from package.json so that
 * the kernel and the front end can never disagree.
 */
import pkg from '../../package.json';

export const MODULE_NAME: string = pkg.name;
export const MODULE_VERSION: string = pkg.version;
