/**
 * What each widget request does. A handler returns the reply's `result` or
 * throws an error with a `code` (the session turns it into an error reply).
 * Models are named by card id and looked up in the session's directory; the
 * library is then called with the path the library itself recorded.
 */
import pLimit from 'p-limit';
import { ModeldeckError } from '../../core/errors';
import type { PanelRequest, PreviewMessage, UpdatesResult } from '../protocol';
import { modelDetails } from './details';
import type { ModelSession } from './model-session';
import { readPreview } from './previews';
import { importDocument } from './validate';
import { handleMaintenance } from './maintenance-requests';
import { handleCleanup } from './cleanup-requests';
import { handleDownload } from './download-requests';

const PREVIEW_READS = 4;

export async function handleRequest(session: ModelSession, request: PanelRequest, buffers: readonly Uint8Array[]): Promise<unknown> {
  // While the library loads, the kept first window answers what it holds (first-window.ts).
  const early = request.type === 'window' ? await session.windowBeforeReady(request) : null;
  if (early) return early;
  const lib = await session.ready;
  switch (request.type) {
    case 'window':
      return session.window(request);
    case 'updates': {
      const result = (await handleMaintenance(session, lib, request)) as UpdatesResult;
      session.noteUpdates(result);
      return result;
    }
    case 'ignore-update':
    case 'duplicates':
    case 'move':
    case 'remove':
    case 'trash':
    case 'restore':
      return handleMaintenance(session, lib, request);
    case 'clean-duplicates':
    case 'cancel-cleanup':
    case 'empty-trash':
      return handleCleanup(session, lib, request);
    case 'scan':
      return session.scanForWidget({ offline: request.offline, refresh: request.refresh, verify: request.verify });
    case 'cancel':
      return { cancelled: session.cancel() };
    case 'refresh': {
      const { model } = session.lookup(request.id);
      const s = session.settings;
      await lib.refresh(model.absolute, { previews: s.previews, nsfwLevel: s.nsfwLevel });
      return changed(session, request.id);
    }
    case 'link': {
      const { model } = session.lookup(request.id);
      await lib.link(model.absolute, request.ref);
      return changed(session, request.id);
    }
    case 'set-hash': {
      const { model } = session.lookup(request.id);
      await lib.setHash(model.absolute, request.name, request.value);
      return changed(session, request.id);
    }
    case 'export': {
      const root = session.rootAt(request.root);
      if (root === undefined) throw new ModeldeckError('which_root', 'this panel has several roots: say which one to export');
      return lib.export(root);
    }
    case 'import': {
      const root = session.rootAt(request.root);
      if (root === undefined) throw new ModeldeckError('which_root', 'this panel has several roots: say which one to import into');
      const doc = importDocument(request.doc, buffers);
      if ('code' in doc) throw new ModeldeckError(doc.code, doc.message);
      const report = await lib.import(doc.doc, root);
      session.sync();
      return report;
    }
    case 'details': {
      const { model, card } = session.lookup(request.id);
      return modelDetails(model, card);
    }
    case 'dismiss':
      return { removed: session.dismiss(request.ids) };
    case 'download':
    case 'download-update':
    case 'download-cancel':
    case 'download-retry':
    case 'download-clear':
      return handleDownload(session, lib, request);
    case 'previews':
      return sendPreviews(session, request.ids);
  }
}

function changed(session: ModelSession, id: string) {
  session.sync();
  return session.cardOf(id);
}

async function sendPreviews(session: ModelSession, ids: string[]): Promise<{ sent: number; missing: string[] }> {
  const limit = pLimit(PREVIEW_READS);
  const missing: string[] = [];
  let sent = 0;
  await Promise.all(
    ids.map((id) =>
      limit(async () => {
        let found;
        try {
          found = await session.previewOf(id);
        } catch {
          missing.push(id);
          session.send({ type: 'preview', id, preview: null, mime: null, size: 0, error: 'no such model' });
          return;
        }
        const read = await readPreview(found, session.previewLimit);
        const base: Omit<PreviewMessage, 'mime' | 'size'> = { type: 'preview', id, preview: found.name };
        if (read.ok) {
          session.send({ ...base, mime: read.mime, size: read.bytes.byteLength }, [read.bytes]);
          sent++;
        } else {
          missing.push(id);
          session.send({ ...base, mime: null, size: 0, error: read.error });
        }
      }),
    ),
  );
  return { sent, missing };
}
