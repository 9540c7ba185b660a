/**
 * The comm manager: the registry of open comms and targets, and the handling
 * of comm messages from the front end. It knows the Jupyter comm protocol
 * (messaging spec "Custom Messages") but not the transport: it publishes
 * through an `Outgoing` and answers requests through a reply function.
 */
import { randomUUID } from 'node:crypto';
import { guarded, isPromiseLike, KernelComm, type CommLink } from './comm';
import { describeError, logComm } from './log';
import type { JupyterMessage, MessageHeader } from './message';
import type { Comm, CommMessageInfo, CommTargetHandler } from './types';
import { checkCommContent, type CommMessageType } from './validate';

export interface PublishOptions {
  /** Header of the request this message belongs to; `null` when nothing fits yet. */
  parent: MessageHeader | null;
  metadata?: object;
  buffers?: Uint8Array[];
}

/** The transport as the manager needs it: publish on iopub. */
export interface Outgoing {
  publish(msgType: string, content: Record<string, unknown>, opts: PublishOptions): void;
}

export interface ManagerOptions {
  /** The header of the cell that is running, if any: the parent for messages sent from a cell. */
  runningCell: () => MessageHeader | null;
  /**
   * How long `idle` may wait for async handlers. The widget front end sends
   * its next update only after `idle`, so a handler that awaits a long job
   * must not hold it back; the job goes on after `idle`.
   */
  handlerGraceMs?: number;
}

export type Reply = (msgType: string, content: Record<string, unknown>) => void;

export class CommManager implements CommLink {
  private readonly comms = new Map<string, KernelComm>();
  private readonly targets = new Map<string, CommTargetHandler>();
  /** The front-end message whose handlers are running synchronously right now. */
  private dispatching: MessageHeader | null = null;
  private readonly graceMs: number;

  constructor(
    private readonly out: Outgoing,
    private readonly options: ManagerOptions,
  ) {
    this.graceMs = options.handlerGraceMs ?? 1000;
  }

  registerTarget(targetName: string, handler: CommTargetHandler): void {
    this.targets.set(targetName, handler);
  }

  open(targetName: string, data: unknown, opts: { metadata?: object; buffers?: Uint8Array[] } = {}): Comm {
    // ipykernel's comm ids: uuid4 hex without dashes.
    const comm = new KernelComm(randomUUID().replace(/-/g, ''), targetName, this, this.dispatching ?? this.options.runningCell());
    this.comms.set(comm.id, comm);
    this.out.publish('comm_open', { comm_id: comm.id, target_name: targetName, data: data ?? {} }, { parent: comm.lastParent, ...opts });
    return comm;
  }

  /** Open comms, as `comm_info_reply` lists them. */
  list(targetName: string | null): Record<string, { target_name: string }> {
    const out: Record<string, { target_name: string }> = {};
    for (const [id, comm] of this.comms) if (targetName === null || comm.targetName === targetName) out[id] = { target_name: comm.targetName };
    return out;
  }

  // CommLink: a comm sends through here so that the parent header is chosen in one place.
  send(comm: KernelComm, msgType: 'comm_msg' | 'comm_close', content: Record<string, unknown>, opts: { buffers?: Uint8Array[]; metadata?: object }): void {
    this.out.publish(msgType, content, { parent: this.parentFor(comm), ...opts });
  }

  forget(comm: KernelComm): void {
    if (this.comms.get(comm.id) === comm) this.comms.delete(comm.id);
  }

  /**
   * The parent for a message on `comm`: the front-end message being handled
   * (so an echo lands on the request that caused it), else the running cell,
   * else the last message seen on the comm. Any of these is delivered: front
   * ends route iopub comm messages by comm id, not by parent.
   */
  private parentFor(comm: KernelComm): MessageHeader | null {
    return this.dispatching ?? comm.pending[comm.pending.length - 1] ?? this.options.runningCell() ?? comm.lastParent;
  }

  /**
   * Handles one comm message from the front end, with `busy` before and
   * `idle` after, whatever happens in between. Never rejects.
   */
  async handle(type: CommMessageType, msg: JupyterMessage, reply: Reply): Promise<void> {
    const parent = msg.header;
    this.out.publish('status', { execution_state: 'busy' }, { parent });
    try {
      const checked = checkCommContent(type, msg.content);
      if (!checked.ok) {
        logComm(`dropped ${type} ${parent.msg_id}: ${checked.reason}`);
        if (type === 'comm_info_request') reply('comm_info_reply', { status: 'error', ename: 'InvalidRequest', evalue: checked.reason, traceback: [] });
        return;
      }
      const info: CommMessageInfo = { metadata: msg.metadata, msgId: parent.msg_id };
      const c = checked.value;
      switch (c.type) {
        case 'comm_info_request':
          reply('comm_info_reply', { status: 'ok', comms: this.list(c.targetName) });
          break;
        case 'comm_open':
          await this.settle(this.openFromFrontEnd(c.commId, c.targetName, c.data, msg, info));
          break;
        case 'comm_msg':
          await this.settle(this.messageFromFrontEnd(c.commId, c.data, msg, info));
          break;
        case 'comm_close': {
          const comm = this.comms.get(c.commId);
          if (comm) this.withDispatch(parent, () => comm.closedBy(c.data));
          break;
        }
      }
    } catch (err) {
      logComm(`${type} ${parent.msg_id} failed: ${describeError(err)}`);
    } finally {
      this.out.publish('status', { execution_state: 'idle' }, { parent });
    }
  }

  private openFromFrontEnd(commId: string, targetName: string, data: Record<string, unknown>, msg: JupyterMessage, info: CommMessageInfo): Promise<unknown>[] {
    if (this.comms.has(commId)) {
      logComm(`dropped comm_open for ${commId}: a comm with that id is already open`);
      return [];
    }
    const comm = new KernelComm(commId, targetName, this, msg.header);
    const handler = this.targets.get(targetName);
    if (!handler) {
      // As ipykernel does: close at once, so a front end waiting for an
      // answer (ipywidgets' jupyter.widget.control) falls back right away.
      logComm(`comm_open to unknown target ${JSON.stringify(targetName)}: closing ${commId}`);
      this.withDispatch(msg.header, () => comm.close());
      return [];
    }
    this.comms.set(commId, comm);
    let result: unknown;
    let threw = false;
    this.withDispatch(msg.header, () => {
      try {
        result = handler(comm, data, msg.buffers, info);
      } catch (err) {
        threw = true;
        logComm(`target ${JSON.stringify(targetName)} failed to open comm ${commId}: ${describeError(err)}`);
        comm.close();
      }
    });
    if (threw || !isPromiseLike(result)) return [];
    return [
      Promise.resolve(result).catch((err) => {
        logComm(`target ${JSON.stringify(targetName)} failed to open comm ${commId}: ${describeError(err)}`);
        comm.close();
      }),
    ];
  }

  private messageFromFrontEnd(commId: string, data: Record<string, unknown>, msg: JupyterMessage, info: CommMessageInfo): Promise<unknown>[] {
    const comm = this.comms.get(commId);
    if (!comm) {
      logComm(`dropped comm_msg ${msg.header.msg_id}: no open comm ${commId}`);
      return [];
    }
    comm.lastParent = msg.header;
    const results = this.withDispatch(msg.header, () => comm.deliver(data, msg.buffers, info)) ?? [];
    if (results.length > 0) {
      comm.pending.push(msg.header);
      void Promise.allSettled(results).then(() => {
        const i = comm.pending.indexOf(msg.header);
        if (i >= 0) comm.pending.splice(i, 1);
      });
    }
    return results;
  }

  private withDispatch<T>(header: MessageHeader, fn: () => T): T | undefined {
    const outer = this.dispatching;
    this.dispatching = header;
    try {
      return guarded(fn, 'comm handler');
    } finally {
      this.dispatching = outer;
    }
  }

  /** Waits for async handlers, but no longer than the grace period. */
  private async settle(results: Promise<unknown>[]): Promise<void> {
    if (results.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.graceMs);
      timer.unref?.();
    });
    await Promise.race([Promise.allSettled(results), grace]);
    clearTimeout(timer);
  }
}
