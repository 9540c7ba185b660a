/**
 * The JupyterLab 4 prebuilt extension (`labextension/`, built by
 * `npm run build:labextension`), copied to `<data dir>/labextensions/modeldeck/`
 * where JupyterLab looks for federated extensions, as `pip install` of a
 * Python package with a labextension would put it.
 *
 * The copy is made beside the target under a hidden name (JupyterLab lists
 * only `*` and `@*\/*` folders, which a dot-name never matches), then renamed
 * into place: a page loading at that moment sees the old extension, none, or
 * the new one, never half a copy (a half-copied extension breaks the page).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { dataDirOf, type KernelSpecScope } from './kernelspec';
import { isProcessAlive } from '../core/process-alive';

export const LABEXTENSION_NAME = 'modeldeck';

/** The package root (this file is lib/kernel/labextension.js once compiled). */
export function packageRoot(): string {
  return join(__dirname, '..', '..');
}

/** The prebuilt extension that ships in the package. */
export function builtLabextension(root: string = packageRoot()): string {
  return join(root, 'labextension');
}

export function labextensionDir(scope: KernelSpecScope): string {
  return join(dataDirOf(scope), 'labextensions', LABEXTENSION_NAME);
}

/** The `version` in an extension folder's package.json, or null when there is none to read. */
export async function labextensionVersion(dir: string): Promise<string | null> {
  try {
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : null;
  } catch {
    return null;
  }
}

/** Why `dir` is not a built extension JupyterLab can load, or null when it is one. */
export async function notAnExtension(dir: string): Promise<string | null> {
  if (!(await labextensionVersion(dir))) return `${dir} has no package.json with a version`;
  const files = await readdir(join(dir, 'static')).catch(() => [] as string[]);
  if (!files.some((f) => /^remoteEntry\..*\.js$/.test(f))) return `${dir}/static has no remoteEntry.*.js`;
  return null;
}

export interface LabextensionInstall {
  dir: string;
  version: string;
  /** The version of the modeldeck extension it replaced, if there was one. */
  replaced: string | null;
}

export async function installLabextension(scope: KernelSpecScope, source: string = builtLabextension()): Promise<LabextensionInstall> {
  const broken = await notAnExtension(source);
  if (broken) throw new Error(`the prebuilt JupyterLab extension is missing or incomplete (${broken}); build it first: npm run build:labextension`);
  const target = labextensionDir(scope);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true, mode: 0o755 });
  await removeLeftovers(parent);
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const staging = join(parent, `.${LABEXTENSION_NAME}.staging-${tag}`);
  const old = join(parent, `.${LABEXTENSION_NAME}.old-${tag}`);
  let movedAside = false;
  try {
    await cp(source, staging, { recursive: true, errorOnExist: true });
    // JupyterLab shows install.json's packageManager and uninstall instructions; the build copies it, an older build may not have.
    const installJson = join(packageRoot(), 'install.json');
    if (!existsSync(join(staging, 'install.json')) && existsSync(installJson)) await copyFile(installJson, join(staging, 'install.json'));
    const replaced = await labextensionVersion(target);
    if (existsSync(target)) {
      await rename(target, old);
      movedAside = true;
    }
    await rename(staging, target);
    if (movedAside) await rm(old, { recursive: true, force: true });
    return { dir: target, version: (await labextensionVersion(target))!, replaced };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    if (movedAside && !existsSync(target)) await rename(old, target).catch(() => undefined);
    throw err;
  }
}

/** Removes the installed extension; `removed` is false when there was none. */
export async function uninstallLabextension(scope: KernelSpecScope): Promise<{ dir: string; removed: boolean }> {
  const dir = labextensionDir(scope);
  if (!existsSync(dir)) return { dir, removed: false };
  await rm(dir, { recursive: true, force: true });
  return { dir, removed: true };
}

/** Staging and set-aside copies an interrupted install left behind (not those of an install still running). */
async function removeLeftovers(parent: string): Promise<void> {
  const pattern = new RegExp(`^\\.${LABEXTENSION_NAME}\\.(?:staging|old)-(\\d+)-`);
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    const pid = pattern.exec(name)?.[1];
    if (pid && !isProcessAlive(Number(pid))) await rm(join(parent, name), { recursive: true, force: true });
  }
}

