/**
 * The widget module's name and version, as the kernel side announces them in
 * `_model_module` / `_model_module_version`. Both come from package.json so that
 * the kernel and the front end can never disagree.
 */
import pkg from '../../package.json';
import { moduleVersionRange } from '../kernel/protocol';

export const MODULE_NAME: string = pkg.name;
export const MODULE_VERSION: string = pkg.version;
/** The range the kernel puts in `_model_module_version` / `_view_module_version` (`^<major>.<minor>.0`). */
export const MODULE_VERSION_RANGE: string = moduleVersionRange(pkg.version);
