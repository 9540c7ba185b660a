/**
 * Security items 5 and 8: rows of an index, a journal or an import that are
 * not valid entries (a crafted import, a damaged or planted journal line, a
 * path that leaves the root). Each used to break the panel or the CLI for good;
 * now a bad row is dropped with one warning, the rest keeps working, and the
 * files are repaired at the next write.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Library } from '../../src/core/library';
import { show } from '../../src/kernel';
import { ModelSession } from '../../src/kernel/widget/model-session';
import { runCli } from '../helpers/cli';
import { loraBytes, writeModel } from '../helpers/library';
import { MemoryFrontEnd } from '../helpers/memory-comm';
import { useTmpDir } from '../helpers/tmpdir';

const tmp = useTmpDir('mdk-sec-rows-');
let serial = 0;

async function scannedRoot(): Promise<{ root: string; journal: string; entry: Record<string, unknown> }> {
  const root = join(tmp.path, `lib-${++serial}`);
  writeModel(root, 'Lora/good.safetensors', loraBytes());
  const lib = await Library.open([root], { civitai: false });
  try {
    await lib.scan({ offline: true });
    const entry = JSON.parse(JSON.stringify(lib.get('Lora/good.safetensors')));
    return { root, journal: join(root, '.modeldeck', 'journal.jsonl'), entry };
  } finally {
    await lib.close();
  }
}

test('an import with trainedWords: 5 is refused row by row; the panel attaches and shows the library', async () => {
  const { root, entry } = await scannedRoot();
  const hostile = {
    format: 'modeldeck-export',
    version: 1,
    exportedAt: new Date().toISOString(),
    models: [{
      path: 'Lora/good.safetensors', size: entry.size, fingerprint: entry.fingerprint, hashes: entry.hashes, hashSources: {},
      civitai: { status: 'found', link: { modelId: 1, versionId: 2, modelName: 'x', versionName: 'y', type: 'LORA', baseModel: null, trainedWords: 5, nsfwLevel: null, pageUrl: 'https://civitai.com/models/1', matchedBy: 'manual' } },
    }],
  };
  const fe = new MemoryFrontEnd();
  const panel = show(root, { host: fe.host, civitai: false, colab: false });
  try {
    await panel.ready;
    const reply = await fe.request(panel.id, { type: 'import', doc: hostile });
    expect(reply).toMatchObject({ ok: true, result: { matched: 0, rejected: ['models[0]: civitai.link.trainedWords is not a list of strings'] } });
  } finally {
    panel.close();
  }
  // A new panel on the same library (what used to reject forever) opens with its card.
  const fe2 = new MemoryFrontEnd();
  const again = show(root, { host: fe2.host, civitai: false, colab: false });
  try {
    await again.ready;
    const view = await fe2.request(again.id, { type: 'window', query: { search: '', kind: 'any', base: 'any', status: 'any', sort: 'name', desc: false }, offset: 0, limit: 60, seq: 1 });
    expect(view.result.cards.map((c: { path: string }) => c.path)).toEqual(['Lora/good.safetensors']);
    expect(fe2.state(again.id).errors).toEqual([]);
  } finally {
    again.close();
  }
});

test('a journal line without civitai/warnings: ls and scan keep working, one warning, repaired at the next scan', async () => {
  const { root, journal, entry } = await scannedRoot();
  const { civitai: _c, warnings: _w, ...broken } = entry;
  appendFileSync(journal, JSON.stringify({ put: { ...broken, path: 'Lora/other.safetensors' } }) + '\n');

  const ls = await runCli(['ls', root]);
  expect(ls.code).toBe(0);
  expect(ls.stdout).toContain('Lora/good.safetensors');
  expect(ls.stderr).toMatch(/^modeldeck: warning: .*journal\.jsonl: 1 invalid entry dropped \(evidence, conflicts or warnings are not lists of strings\); a rescan restores them\n$/);
  const scan = await runCli(['scan', '--offline', root]);
  expect(scan.code).toBe(0);
  // Repaired: the compaction at the end of the scan wrote a snapshot without it and an empty journal.
  expect(readFileSync(journal, 'utf8')).toBe('');
  expect(readFileSync(join(root, '.modeldeck', 'index.json'), 'utf8')).not.toContain('other.safetensors');
  const clean = await runCli(['ls', root]);
  expect(clean.stderr).toBe('');
});

test('an index path that leaves the root is dropped: its sidecar outside is never read or sent to the widget', async () => {
  const { root, journal, entry } = await scannedRoot();
  const outside = join(tmp.path, 'out9');
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'notes.safetensors'), 'x');
  writeFileSync(join(outside, 'notes.civitai.info'), JSON.stringify({ id: 1, description: 'PRIVATE-NOTES-81c2', model: { name: 'n' } }));
  for (const path of [`../out9/notes.safetensors`, `Lora/../../out9/notes.safetensors`, `/etc/passwd`, `Lora//x.safetensors`]) {
    appendFileSync(journal, JSON.stringify({ put: { ...entry, path } }) + '\n');
  }
  const lib = await Library.open([root], { civitai: false });
  try {
    expect(lib.models().map((m) => m.path)).toEqual(['Lora/good.safetensors']);
    expect(lib.get('../out9/notes.safetensors')).toBeUndefined();
    expect(lib.loadWarnings.join('\n')).toMatch(/4 invalid entries dropped \(path not normalised or leaving the root\)/);
  } finally {
    await lib.close();
  }
  const fe = new MemoryFrontEnd();
  const panel = show(root, { host: fe.host, civitai: false, colab: false });
  try {
    await panel.ready;
    const details = await fe.request(panel.id, { type: 'details', id: '0:../out9/notes.safetensors' });
    expect(details).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(fe.allText()).not.toContain('PRIVATE-NOTES');
  } finally {
    panel.close();
  }
});

test('an error while a panel attaches reaches its banner', async () => {
  const { root } = await scannedRoot();
  const lib = await Library.open([root], { civitai: false });
  // Stands in for any defect met while building the cards; the user must see it, not a silent panel.
  // (The session reads the library through entries().)
  lib.entries = () => {
    throw new Error('cards could not be built: boom');
  };
  const fe = new MemoryFrontEnd();
  const session = ModelSession.open(fe.host, [root], lib);
  try {
    await expect(session.ready).rejects.toThrow(/boom/);
    expect(fe.state(session.id).errors).toEqual([expect.objectContaining({ message: 'cards could not be built: boom' })]);
  } finally {
    session.close();
    await lib.close();
  }
});
