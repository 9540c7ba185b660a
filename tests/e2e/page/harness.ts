/**
 * The end-to-end test page: a small notebook front end without JupyterLab.
 *
 * It starts a kernel on the jupyter_server that serves this page (same origin,
 * so the kernel websocket passes the server's origin check), runs cells in it,
 * and renders what they display. Widgets are handled by an
 * `@jupyter-widgets/html-manager` manager whose comms are bridged to the
 * kernel through `@jupyterlab/services`, and third-party widget modules
 * (`modeldeck`) load through requirejs from a folder laid out like the CDN
 * (`<static>/<package>@<version>/dist/index.js`), with html-manager's own AMD
 * loader pointed at it: the path Colab and html-manager take.
 *
 * Driven from the test through `window.e2e` (see `E2E`). Page parameters:
 * `?token=<server token>&kernel=<kernelspec name>`.
 */
import * as base from '@jupyter-widgets/base';
import { HTMLManager } from '@jupyter-widgets/html-manager';
import { requireLoader } from '@jupyter-widgets/html-manager/lib/libembed-amd';
import { Kernel, KernelAPI, KernelConnection, KernelMessage, ServerConnection } from '@jupyterlab/services';

const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';

type Loader = (moduleName: string, moduleVersion: string) => Promise<unknown>;

/** What one cell did. */
export interface CellResult {
  status: string;
  /** Stream output and text/plain results, in order. */
  text: string;
  error: { ename: string; evalue: string } | null;
  /** Model ids of the widgets the cell displayed (their views are attached when `run` resolves). */
  widgets: string[];
  /** performance.now() at execute_request, at the first comm_open and at the first attached view. */
  marks: { start: number; commOpen: number | null; display: number | null; viewAttached: number | null };
}

export interface CommOpenRecord {
  commId: string;
  target: string;
  modelModule: string | null;
  modelName: string | null;
  at: number;
}

export interface E2E {
  /** 'ready' once the kernel is up and the manager exists; 'failed' with `failure` otherwise. */
  state: 'starting' | 'ready' | 'failed';
  failure: string | null;
  /** Uncaught errors and rejections of the page, and widget load failures. */
  errors: string[];
  /** Every comm the kernel opened to this page. */
  commOpens: CommOpenRecord[];
  /** Arrival of every comm_msg from the kernel: method, custom message type, cards in a `models` message, time in transit. */
  commMessages: { at: number; epoch: number; sentEpoch: number | null; commId: string; method: string; type: string | null; cards: number | null; reset: boolean; transitMs: number | null }[];
  /** With `?frames=1`: arrival (epoch ms) and size of every websocket frame from the server. */
  frames: { epoch: number; bytes: number }[];
  /** Widget modules requested from the loader, where requirejs fetched them, and whether they loaded. */
  modules: { name: string; version: string; url: string; ok: boolean | null }[];
  run(code: string): Promise<CellResult>;
  shutdown(): Promise<void>;
  kernel: Kernel.IKernelConnection | null;
  manager: KernelWidgetManager | null;
}

/**
 * An html-manager whose comms are real kernel comms: the pattern of
 * ipywidgets' `examples/web3/src/manager.ts`.
 */
export class KernelWidgetManager extends HTMLManager {
  constructor(
    readonly kernel: Kernel.IKernelConnection,
    loader: Loader,
    private readonly onCommOpen: (msg: KernelMessage.ICommOpenMsg) => void,
  ) {
    super({ loader });
    kernel.registerCommTarget(this.comm_target_name, (comm, msg) => {
      this.onCommOpen(msg);
      // The services comm, wrapped in the interface the manager speaks (IClassicComm).
      return this.handle_comm_open(new base.shims.services.Comm(comm as never), msg as never).then(() => undefined);
    });
  }

  /** A comm the front end opens (models created on this side); none in modeldeck, kept for completeness. */
  async _create_comm(target: string, modelId?: string, data?: unknown, metadata?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): Promise<base.IClassicComm> {
    const comm = this.kernel.createComm(target, modelId);
    if (data || metadata) comm.open(data as never, metadata as never, buffers as never);
    return new base.shims.services.Comm(comm as never);
  }

  /** Why a model became an error widget, in the manager's own words. */
  async brokenReason(modelId: string): Promise<string> {
    const model = await this.get_model(modelId);
    const error = model.get('error') as Error | undefined;
    return error ? `${model.get('msg')}: ${error.message ?? error}` : 'the view could not be created (see the console)';
  }

  /** The live comms of the widget target, for restoring widgets. */
  async _get_comm_info(): Promise<Record<string, unknown>> {
    const reply = await this.kernel.requestCommInfo({ target_name: this.comm_target_name });
    return reply.content.status === 'ok' ? reply.content.comms : {};
  }
}

function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(s);
  });
}

/**
 * The AMD loader: requirejs on the page, `@jupyter-widgets/base` defined as the
 * host's copy (as widgetsnbextension and Colab's manager do), and
 * html-manager's `requireLoader`, which reads its CDN from this page's
 * `data-jupyter-widgets-cdn` attribute. A CDN resolves the semver range the
 * kernel sends (`^0.1.0`); the local folder holds exact versions, so the
 * range is reduced to its lower bound first, as Colab's manager does with `^`.
 */
async function amdLoader(e2e: E2E): Promise<Loader> {
  await loadScript('vendor/require.js');
  const w = window as unknown as { define: (name: string, deps: string[], f: () => unknown) => void };
  w.define('@jupyter-widgets/base', [], () => base);
  const cdn = document.querySelector('script[data-jupyter-widgets-cdn]')?.getAttribute('data-jupyter-widgets-cdn') ?? '';
  return async (name, range) => {
    const version = range.replace(/^[\^~=v]+/, '');
    const record = { name, version: range, url: `${cdn}${name}@${version}/dist/index.js (expected)`, ok: null as boolean | null };
    e2e.modules.push(record);
    try {
      const mod = await requireLoader(name, version);
      record.ok = true;
      // Where requirejs actually fetched it from (its script tag names the module).
      const script = document.querySelector<HTMLScriptElement>(`script[data-requiremodule="${CSS.escape(name)}"]`);
      if (script) record.url = new URL(script.src).pathname;
      return mod;
    } catch (err) {
      record.ok = false;
      e2e.errors.push(`loading ${name}@${range}: ${describe(err)}`);
      throw err;
    }
  };
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

function element(tag: string, className: string, text?: string): HTMLElement {
  const el = document.createElement(tag);
  el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

async function main(e2e: E2E): Promise<void> {
  const params = new URLSearchParams(location.search);
  let WebSocketClass = WebSocket;
  if (params.get('frames')) {
    // Timestamps frames as they arrive, before @jupyterlab/services parses them (for the benchmark's breakdown).
    WebSocketClass = class TimedWebSocket extends WebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        this.addEventListener('message', (ev: MessageEvent) => {
          const d = ev.data as ArrayBuffer | string;
          e2e.frames.push({ epoch: Date.now(), bytes: typeof d === 'string' ? d.length : d.byteLength });
        });
      }
    };
  }
  const serverSettings = ServerConnection.makeSettings({ token: params.get('token') ?? '', WebSocket: WebSocketClass });
  // Started and connected without a KernelManager: a manager polls GET /api/kernels every 10 s, which the page
  // does not need, and Debian's jupyter_server answers that poll with a 500 when it lands while a kernel is still
  // starting ('AsyncIOLoopKernelManager' object has no attribute 'last_activity'; seen once under load).
  const model = await KernelAPI.startNew({ name: params.get('kernel') ?? 'modeldeck' }, serverSettings);
  const kernel: Kernel.IKernelConnection = new KernelConnection({ model, serverSettings, handleComms: true });
  e2e.kernel = kernel;
  kernel.iopubMessage.connect((_, msg) => {
    if (msg.header.msg_type !== 'comm_msg') return;
    const content = msg.content as KernelMessage.ICommMsgMsg['content'];
    const data = content.data as { method?: string; content?: { type?: string; upsert?: unknown[]; reset?: boolean } };
    e2e.commMessages.push({
      at: performance.now(),
      commId: content.comm_id,
      method: data?.method ?? '',
      type: data?.content?.type ?? null,
      cards: Array.isArray(data?.content?.upsert) ? data.content.upsert.length : null,
      reset: data?.content?.reset === true,
      // The kernel dates its messages when it sends them: kernel -> jupyter_server -> websocket -> here (same machine clock).
      transitMs: msg.header.date ? Date.now() - Date.parse(msg.header.date) : null,
      sentEpoch: msg.header.date ? Date.parse(msg.header.date) : null,
      epoch: Date.now(),
    });
  });
  const loader = await amdLoader(e2e);
  let current: CellResult | null = null;
  const manager = new KernelWidgetManager(kernel, loader, (msg) => {
    const state = (msg.content.data as { state?: Record<string, unknown> })?.state ?? {};
    e2e.commOpens.push({
      commId: msg.content.comm_id,
      target: msg.content.target_name,
      modelModule: typeof state._model_module === 'string' ? state._model_module : null,
      modelName: typeof state._model_name === 'string' ? state._model_name : null,
      at: performance.now(),
    });
    if (current && current.marks.commOpen === null) current.marks.commOpen = performance.now();
  });
  e2e.manager = manager;
  const notebook = document.getElementById('notebook')!;
  let count = 0;

  e2e.run = async (code: string): Promise<CellResult> => {
    const n = ++count;
    const cell = element('section', 'cell');
    cell.dataset.cell = String(n);
    cell.appendChild(element('pre', 'cell-input', code));
    const output = element('div', 'cell-output');
    cell.appendChild(output);
    notebook.appendChild(cell);
    const result: CellResult = { status: 'pending', text: '', error: null, widgets: [], marks: { start: performance.now(), commOpen: null, display: null, viewAttached: null } };
    current = result;
    const views: Promise<void>[] = [];
    const future = kernel.requestExecute({ code, stop_on_error: true });
    future.onIOPub = (msg) => {
      if (KernelMessage.isStreamMsg(msg)) {
        result.text += msg.content.text;
        output.appendChild(element('pre', `stream ${msg.content.name}`, msg.content.text));
      } else if (KernelMessage.isErrorMsg(msg)) {
        result.error = { ename: msg.content.ename, evalue: msg.content.evalue };
        output.appendChild(element('pre', 'error', `${msg.content.ename}: ${msg.content.evalue}`));
      } else if (KernelMessage.isDisplayDataMsg(msg) || KernelMessage.isExecuteResultMsg(msg)) {
        const view = msg.content.data[WIDGET_VIEW_MIME] as { model_id?: string } | undefined;
        const modelId = view?.model_id;
        if (modelId) {
          result.marks.display ??= performance.now();
          result.widgets.push(modelId);
          const area = element('div', 'widget-area');
          area.dataset.modelId = modelId;
          output.appendChild(area);
          views.push(
            manager
              .get_model(modelId)
              .then((model) => manager.display_view(manager.create_view(model), area))
              .then(async () => {
                result.marks.viewAttached ??= performance.now();
                // The manager turns a model or view it could not create into an error widget instead of throwing.
                if (area.querySelector('.jupyter-widgets-error-widget')) {
                  e2e.errors.push(`widget ${modelId} is an error widget: ${await manager.brokenReason(modelId)}`);
                }
              })
              .catch((err) => {
                e2e.errors.push(`displaying widget ${modelId}: ${describe(err)}`);
              }),
          );
        } else if (typeof msg.content.data['text/plain'] === 'string') {
          result.text += msg.content.data['text/plain'] + '\n';
          output.appendChild(element('pre', 'result', msg.content.data['text/plain'] as string));
        }
      }
    };
    const reply = await future.done;
    result.status = reply.content.status;
    await Promise.all(views);
    if (current === result) current = null;
    return result;
  };
  e2e.shutdown = async () => {
    if (!kernel.isDisposed) await kernel.shutdown();
  };
  e2e.state = 'ready';
}

const e2e: E2E = {
  state: 'starting',
  failure: null,
  errors: [],
  commOpens: [],
  commMessages: [],
  frames: [],
  modules: [],
  run: () => Promise.reject(new Error('the page is not ready')),
  shutdown: async () => undefined,
  kernel: null,
  manager: null,
};
(window as unknown as { e2e: E2E }).e2e = e2e;
window.addEventListener('error', (ev) => e2e.errors.push(`error: ${ev.message}`));
window.addEventListener('unhandledrejection', (ev) => e2e.errors.push(`unhandled rejection: ${describe(ev.reason)}`));
main(e2e).catch((err) => {
  e2e.state = 'failed';
  e2e.failure = describe(err);
});
