/**
 * `modeldeck updates ROOT --download`: each update fetched through `get`, into
 * the folder of the version it updates (not the layout's default folder: a
 * user who keeps `Lora/styles/` keeps the new version there too).
 */
import { dirname } from 'node:path';
import { getOne } from '../../core/download';
import type { Library, UpdatesReport } from '../../core/library';
import { formatBytes, printable, printJsonLine, reportError } from '../output';

export async function downloadUpdates(lib: Library, report: UpdatesReport, opts: { json?: boolean; signal: AbortSignal }): Promise<void> {
  for (const u of report.updates) {
    if (opts.signal.aborted) return;
    const beside = u.current.files[0];
    if (!beside) continue;
    try {
      const r = await getOne(lib, String(u.latest.versionId), { root: beside.root, folder: dirname(beside.absolute), signal: opts.signal });
      if (opts.json) printJsonLine({ event: 'update-downloaded', modelId: u.modelId, versionId: u.latest.versionId, status: r.status, path: r.path });
      else if (r.status === 'downloaded') process.stdout.write(`downloaded ${printable(u.modelName)} — ${printable(u.latest.name)}: ${printable(r.path)} (${formatBytes(r.size)}, verified)\n`);
      else if (r.status === 'exists') process.stdout.write(`${printable(u.modelName)} — ${printable(u.latest.name)}: already in the library at ${printable(r.path)}\n`);
      else process.stdout.write(`${printable(u.modelName)} — ${printable(u.latest.name)}: skipped (${printable(r.reason)})\n`);
    } catch (err) {
      if (opts.signal.aborted) return;
      reportError(err, `${u.modelName} — ${u.latest.name}`);
    }
  }
}
