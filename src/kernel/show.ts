/**
 * `show(roots)`: the models panel in a notebook cell.
 *
 *   import { show } from "modeldeck";
 *   const panel = show("/content/drive/MyDrive/models");
 *   await panel.scan();
 *
 * The widget's comm opens and its display goes out while the cell runs, so the
 * panel lands in the cell that called `show`; the library opens meanwhile
 * (`panel.ready`), and the widget fills in when it has.
 */
import { inspect } from 'node:util';
import { resolve } from 'node:path';
import type { CivitaiOptions } from '../core/civitai';
import { ModeldeckError } from '../core/errors';
import { getManager, type Library, type LibraryModel, type ScanReport } from '../core/library';
import { installComms } from './comm';
import { QUIET_RESULT } from './comm/executor-output';
import { WIDGET_VIEW_MIME, type PanelSettings, type PanelState } from './protocol';
import { ModelSession, type SessionCommHost, type SessionScanOptions } from './widget';

/**
 * The Colab widget manager that loads third-party widget modules from
 * jsdelivr (`modeldeck@<version>/dist/index.js`). Colab's own Python helper
 * (`google.colab.output._widgets`) names this URL; the hash is the one in
 * googlecolab/colabtools at its 2026-04 head (set on 2024-01-22). Override with
 * `show(..., { colabWidgetManagerUrl })` or `MODELDECK_COLAB_WIDGET_MANAGER_URL`.
 */
export const COLAB_WIDGET_MANAGER_URL = 'https://ssl.gstatic.com/colaboratory-static/widgets/colab-cdn-widget-manager/2b70e893a8ba7c0f/manager.min.js';

export interface ShowOptions {
  /** Civitai client settings, or false for none. Used when this set of roots is first opened in the kernel. */
  civitai?: CivitaiOptions | false;
  /** Starting panel settings (NSFW level, previews, offline); the widget can change them. */
  settings?: Partial<PanelSettings>;
  /** Start a scan as soon as the library is open. */
  scan?: boolean;
  /** Add Colab's custom widget manager metadata to the display. Default: detected (see `isColab`). */
  colab?: boolean;
  colabWidgetManagerUrl?: string;
  /** Largest preview image sent to the widget, in bytes. Default 2 MiB. */
  previewMaxBytes?: number;
  /** Where to open the comm and display: default, this kernel's comm support (installed if needed). */
  host?: SessionCommHost;
}

export interface Panel {
  /** The widget model id (the comm id). */
  readonly id: string;
  /** Resolves when the library is open (rejects if a root cannot be opened). */
  readonly ready: Promise<Library>;
  /** The open library; throws until `ready` has resolved. */
  readonly library: Library;
  /** Every model of the library, sorted by name ([] until ready). */
  readonly models: LibraryModel[];
  /** A copy of the widget's state (roots, progress, errors, summary, settings). */
  readonly state: PanelState;
  /** Scans; the widget shows the progress. One scan at a time per panel. */
  scan(options?: SessionScanOptions): Promise<ScanReport>;
  /** Cancels the running scan; false when none runs. */
  cancel(): boolean;
  /** Sends the widget what changed after library calls made from code (link, setHash...). */
  sync(): void;
  /** Removes the widget and cancels its scan; the shared library stays open. */
  close(): void;
}

/**
 * Colab, told by the environment its runtime sets: `COLAB_RELEASE_TAG`
 * (what anywidget and others test) or `COLAB_GPU`. `MODELDECK_COLAB=1` / `=0`
 * forces the answer either way.
 */
export function isColab(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.MODELDECK_COLAB === '1') return true;
  if (env.MODELDECK_COLAB === '0') return false;
  return Boolean(env.COLAB_RELEASE_TAG) || env.COLAB_GPU !== undefined;
}

/** The display bundle and metadata for a widget view. */
export function widgetDisplay(modelId: string, text: string, colabManagerUrl: string | null): { bundle: Record<string, unknown>; metadata: Record<string, unknown> } {
  const bundle = { [WIDGET_VIEW_MIME]: { model_id: modelId, version_major: 2, version_minor: 1 }, 'text/plain': text };
  const metadata = colabManagerUrl ? { [WIDGET_VIEW_MIME]: { colab: { custom_widget_manager: { url: colabManagerUrl } } } } : {};
  return { bundle, metadata };
}

/** Displays the models panel for one or more library folders, and returns it for use from code. */
export function show(roots: string | string[], options: ShowOptions = {}): Panel {
  const list = (Array.isArray(roots) ? roots : [roots]).filter((r) => typeof r === 'string' && r !== '');
  if (list.length === 0) throw new ModeldeckError('no_roots', 'show: give at least one library folder');
  const host = options.host ?? installComms();
  const civitai = options.civitai;
  const token = civitai === false ? undefined : (civitai?.token ?? nonEmpty(process.env.CIVITAI_TOKEN));
  const session = ModelSession.open(host, list.map((r) => resolve(r)), (snapshots) => getManager(list, { civitai, snapshots }), {
    settings: options.settings,
    civitai: civitai !== false,
    tokenSet: token !== undefined,
    secrets: token ? [token] : [],
    previewMaxBytes: options.previewMaxBytes,
  });
  const colab = options.colab ?? isColab();
  const managerUrl = colab ? (options.colabWidgetManagerUrl ?? nonEmpty(process.env.MODELDECK_COLAB_WIDGET_MANAGER_URL) ?? COLAB_WIDGET_MANAGER_URL) : null;
  const { bundle, metadata } = widgetDisplay(session.id, `modeldeck panel: ${list.join(', ')}`, managerUrl);
  host.display(bundle, metadata);
  const panel = new ModelsPanel(session);
  if (options.scan) void session.ready.then(() => session.scan()).catch(() => undefined);
  return panel;
}

class ModelsPanel implements Panel {
  constructor(private readonly session: ModelSession) {
    // What console.log(panel) prints: one line, not the object's insides.
    Object.defineProperty(this, inspect.custom, { value: () => `[modeldeck panel ${session.id}]`, enumerable: false });
    // As a cell's last expression it prints nothing: the panel is already displayed in that cell.
    Object.defineProperty(this, QUIET_RESULT, { value: true, enumerable: false });
  }

  get id(): string {
    return this.session.id;
  }

  get ready(): Promise<Library> {
    return this.session.ready;
  }

  get library(): Library {
    const lib = this.session.library;
    if (!lib) throw new ModeldeckError('not_ready', 'the library is still opening: `await panel.ready` first');
    return lib;
  }

  get models(): LibraryModel[] {
    return this.session.models();
  }

  get state(): PanelState {
    return this.session.getState();
  }

  scan(options?: SessionScanOptions): Promise<ScanReport> {
    return this.session.scan(options);
  }

  cancel(): boolean {
    return this.session.cancel();
  }

  sync(): void {
    this.session.sync();
  }

  close(): void {
    this.session.close();
  }
}

function nonEmpty(s: string | undefined): string | undefined {
  return s && s.trim() !== '' ? s : undefined;
}
