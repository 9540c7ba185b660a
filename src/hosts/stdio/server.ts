/**
 * What the Node process does with the frames the Python relay sends: opens
 * panels (one `ModelSession` each), relays comm traffic to them, and answers
 * the calls the Python `Panel` makes (`scan`, `models`, `state`, `close`).
 *
 * Frames in (header `op`):
 *   open {id, roots, settings?, previewMaxBytes?}   → reply {comm_id} after comm_open
 *   comm_msg {comm_id, data} + buffers              → the panel's session
 *   comm_close {comm_id}                            → the session forgets the comm
 *   call {id, comm_id, method, args?}               → reply {id, ok, result|error}
 * Frames out: comm_open, comm_msg, comm_close, reply, progress.
 * Anything else is dropped with a logged reason; nothing a frame holds can
 * throw out of `handle`.
 */
import { resolve } from 'node:path';
import { getManager } from '../../core/library';
import type { ScanProgress } from '../../core/library';
import { ModelSession } from '../../kernel/widget';
import type { PanelSettings } from '../../kernel/protocol';
import type { Frame } from './frames';
import { RelayCommHost, type SendFrame } from './relay-comm';

export type Log = (line: string) => void;

const PROGRESS_EVERY_MS = 250;

export class StdioServer {
  private readonly host: RelayCommHost;
  private readonly sessions = new Map<string, ModelSession>();

  constructor(
    private readonly sendFrame: SendFrame,
    private readonly log: Log,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.host = new RelayCommHost(sendFrame);
  }

  handle(frame: Frame): void {
    try {
      this.dispatch(frame);
    } catch (err) {
      this.log(`frame ${describeOp(frame.header.op)} dropped: ${(err as Error).message}`);
    }
  }

  /** Closes every panel (the kernel went away). */
  closeAll(): void {
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
  }

  private dispatch({ header, buffers }: Frame): void {
    switch (header.op) {
      case 'open':
        return this.open(header);
      case 'comm_msg': {
        const comm = this.host.comms.get(String(header.comm_id));
        if (!comm) return this.log(`comm_msg for unknown comm ${describeOp(header.comm_id)} dropped`);
        return comm.deliver(header.data, buffers);
      }
      case 'comm_close': {
        const id = String(header.comm_id);
        this.host.comms.get(id)?.closed_(header.data ?? {});
        this.sessions.get(id)?.close();
        this.sessions.delete(id);
        return;
      }
      case 'call':
        return void this.call(header);
      default:
        this.log(`frame with unknown op ${describeOp(header.op)} dropped`);
    }
  }

  private open(header: Record<string, unknown>): void {
    const id = header.id;
    const roots = Array.isArray(header.roots) ? header.roots.filter((r): r is string => typeof r === 'string' && r !== '') : [];
    if (roots.length === 0) return this.reply(id, false, undefined, { code: 'no_roots', message: 'show: give at least one library folder' });
    const token = nonEmpty(this.env.CIVITAI_TOKEN);
    const session = ModelSession.open(this.host, roots.map((r) => resolve(r)), (snapshots) => getManager(roots, { snapshots }), {
      settings: isObject(header.settings) ? (header.settings as Partial<PanelSettings>) : undefined,
      civitai: true,
      tokenSet: token !== undefined,
      secrets: token ? [token] : [],
      previewMaxBytes: typeof header.previewMaxBytes === 'number' ? header.previewMaxBytes : undefined,
    });
    this.sessions.set(session.id, session);
    session.comm.onClose(() => this.sessions.delete(session.id));
    this.reply(id, true, { comm_id: session.id });
  }

  private async call(header: Record<string, unknown>): Promise<void> {
    const id = header.id;
    const session = this.sessions.get(String(header.comm_id));
    if (!session) return this.reply(id, false, undefined, { code: 'closed', message: 'this panel is closed; run modeldeck.show() again' });
    const args = isObject(header.args) ? (header.args as Record<string, unknown>) : {};
    try {
      switch (header.method) {
        case 'ready':
          await session.ready;
          return this.reply(id, true, { roots: session.library?.roots ?? [] });
        case 'scan': {
          let last = 0;
          const report = await session.scan({
            offline: typeof args.offline === 'boolean' ? args.offline : undefined,
            refresh: args.refresh === true,
            verify: args.verify === true,
            onProgress: (p: ScanProgress) => {
              const now = Date.now();
              if (now - last < PROGRESS_EVERY_MS) return;
              last = now;
              this.sendFrame({ op: 'progress', id, progress: p });
            },
          });
          return this.reply(id, true, plain(report));
        }
        case 'cancel':
          return this.reply(id, true, session.cancel());
        case 'models':
          await session.ready;
          return this.reply(id, true, plain(session.models()));
        case 'state':
          return this.reply(id, true, session.getState());
        case 'sync':
          session.sync();
          return this.reply(id, true, null);
        case 'close':
          session.close();
          this.sessions.delete(session.id);
          return this.reply(id, true, null);
        default:
          return this.reply(id, false, undefined, { code: 'bad_request', message: `unknown call ${describeOp(header.method)}` });
      }
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      const message = session.scrub(typeof e?.message === 'string' ? e.message : String(err));
      this.reply(id, false, undefined, { code: typeof e?.code === 'string' ? e.code : 'internal', message });
    }
  }

  private reply(id: unknown, ok: boolean, result?: unknown, error?: { code: string; message: string }): void {
    this.sendFrame({ op: 'reply', id: id ?? null, ok, ...(ok ? { result: result ?? null } : { error }) });
  }
}

/** Dates and Maps made into what JSON carries, once, so the frame encoder cannot meet a cycle or a BigInt. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
}

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describeOp(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : typeof v;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s && s.trim() !== '' ? s : undefined;
}
