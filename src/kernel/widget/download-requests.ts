/**
 * The panel's download requests, on the library's DownloadQueue. A link goes
 * where `modeldeck get --to ROOT` puts it; a "download update" goes into the
 * folder of the card's file, as `modeldeck updates --download` does, and only
 * for a version the updates check offered for that card's model.
 */
import { ModeldeckError } from '../../core/errors';
import type { Library } from '../../core/library';
import type { DownloadRequest } from '../protocol';
import { DownloadQueue, updateFolder } from './downloads';
import type { ModelSession } from './model-session';

export async function handleDownload(session: ModelSession, lib: Library, request: DownloadRequest): Promise<unknown> {
  const queue = DownloadQueue.of(lib);
  const { previews, nsfwLevel } = session.settings;
  switch (request.type) {
    case 'download': {
      const root = session.rootAt(request.root);
      if (root === undefined) throw new ModeldeckError('which_root', 'this panel has several roots: say which one to download into');
      const item = queue.add({ input: request.ref, origin: 'link', root, previews, nsfwLevel });
      return { downloadId: item.downloadId };
    }
    case 'download-update': {
      const { model } = session.lookup(request.id);
      const offered = await session.updateFor(request.id);
      if (!offered || offered.latest.versionId !== request.versionId) {
        throw new ModeldeckError('no_update', `no update to version ${request.versionId} is known for this model: check for updates first`);
      }
      const item = queue.add({ input: String(request.versionId), origin: 'update', root: model.root, folder: updateFolder(model.absolute), previews, nsfwLevel });
      return { downloadId: item.downloadId };
    }
    case 'download-cancel':
      return { cancelled: queue.cancel(request.downloadId) };
    case 'download-retry':
      return { downloadId: queue.retry(request.downloadId).downloadId };
    case 'download-clear':
      return { removed: queue.clear(request.downloadId) };
  }
}
