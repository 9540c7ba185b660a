// Watching roots: real files, in event mode and in polling mode. Waits poll for
// the expected batch (the limit only turns a hang into a failure); no test
// asserts a timing. "Nothing else was reported" is shown with a marker: a file
// written after the others, whose batch comes after any batch they would have
// made, so no sleep stands in for "long enough".
import { appendFileSync, mkdirSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shouldPoll, watchRoots, type WatchBatch, type Watcher } from '../src/core/watch';
import { parseMounts } from '../src/core/watch/poll-mode';
import { useTmpDir } from './helpers/tmpdir';
import { WAIT_MS } from './helpers/wait';

const tmp = useTmpDir('modeldeck-watch-');
let serial = 0;
const watchers: Watcher[] = [];
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.close()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A file last written an hour ago: what a model that is renamed or moved looks like. */
function oldFile(path: string, content = 'x'): void {
  writeFileSync(path, content);
  const hourAgo = new Date(Date.now() - 3600_000);
  utimesSync(path, hourAgo, hourAgo);
}

describe.each([
  ['events', { poll: false }],
  ['polling', { poll: true, pollIntervalMs: 200 }],
] as const)('%s', (_mode, modeOptions) => {
  async function start(files: string[] = []) {
    const root = join(tmp.path, `root-${++serial}`);
    mkdirSync(root, { recursive: true });
    for (const f of files) oldFile(join(root, f));
    const batches: WatchBatch[] = [];
    const errors: Error[] = [];
    /** Size of each added file at the moment its batch was delivered. */
    const sizeAtReport = new Map<string, number>();
    const onBatch = (b: WatchBatch) => {
      batches.push(b);
      for (const f of b.added) sizeAtReport.set(f, statSync(f).size);
    };
    const watcher = watchRoots([root], { ...modeOptions, onBatch, onError: (e) => errors.push(e) });
    watchers.push(watcher);
    await watcher.ready;
    // The one sleep that stays (chokidar gives no event for it):
    // fs.watchFile takes its first look at a file up to one interval after chokidar says ready;
    // a change before that look becomes the baseline (see the report: a scan should follow start).
    if (modeOptions.poll) await sleep(modeOptions.pollIntervalMs * 2);
    const all = (key: keyof WatchBatch) => batches.flatMap((b) => b[key]);
    const p = (rel: string) => join(root, rel);
    /** Writes a new model file and waits for its batch: every batch due for earlier writes has come by then. */
    const marker = async (rel: string) => {
      writeFileSync(p(rel), 'marker');
      await until(rel, () => all('added').includes(p(rel)));
    };
    return { root, batches, errors, watcher, all, sizeAtReport, p, marker };
  }

  test('polling is what was asked for', async () => {
    const { watcher, root } = await start();
    expect(watcher.polledRoots).toEqual(modeOptions.poll ? [root] : []);
  });

  test('a new file is added', async () => {
    const w = await start();
    writeFileSync(w.p('new.safetensors'), 'abc');
    await until('added', () => w.all('added').length > 0);
    expect(w.batches).toEqual([{ added: [w.p('new.safetensors')], changed: [], removed: [] }]);
    expect(w.errors).toEqual([]);
  });

  test('a deleted file is removed', async () => {
    const w = await start(['old.safetensors']);
    unlinkSync(w.p('old.safetensors'));
    await until('removed', () => w.all('removed').length > 0);
    expect(w.batches).toEqual([{ added: [], changed: [], removed: [w.p('old.safetensors')] }]);
  });

  test('a rename is removed + added in one batch', async () => {
    const w = await start(['before.safetensors']);
    mkdirSync(w.p('sub'));
    renameSync(w.p('before.safetensors'), w.p('sub/after.safetensors'));
    await until('rename', () => w.all('added').length > 0 && w.all('removed').length > 0);
    expect(w.batches).toEqual([{ added: [w.p('sub/after.safetensors')], changed: [], removed: [w.p('before.safetensors')] }]);
  });

  test('an appended file is changed', async () => {
    const w = await start(['grow.safetensors']);
    appendFileSync(w.p('grow.safetensors'), 'more');
    await until('changed', () => w.all('changed').length > 0);
    expect(w.batches).toEqual([{ added: [], changed: [w.p('grow.safetensors')], removed: [] }]);
  });

  test('a file written slowly is reported once, after it stops growing', async () => {
    const w = await start();
    const file = w.p('slow.safetensors');
    writeFileSync(file, 'a'.repeat(1000));
    for (let i = 0; i < 5; i++) {
      await sleep(300);
      appendFileSync(file, 'b'.repeat(1000));
    }
    await until('slow file', () => w.all('added').includes(file));
    // A late duplicate would come before the batch of a file written after the report.
    await w.marker('after.safetensors');
    expect(w.batches[0]).toEqual({ added: [file], changed: [], removed: [] });
    expect([w.all('added'), w.all('changed'), w.all('removed')]).toEqual([[file, w.p('after.safetensors')], [], []]);
    // Reported whole, not half-written.
    expect(w.sizeAtReport.get(file)).toBe(6000);
  });

  test('non-model files, hidden and _-prefixed folders are ignored', async () => {
    const w = await start();
    mkdirSync(w.p('.hidden'));
    mkdirSync(w.p('_parked'));
    mkdirSync(w.p('.modeldeck'));
    writeFileSync(w.p('.hidden/a.safetensors'), 'x');
    writeFileSync(w.p('_parked/b.safetensors'), 'x');
    writeFileSync(w.p('.modeldeck/index.json'), '{}');
    writeFileSync(w.p('model.preview.png'), 'x');
    writeFileSync(w.p('notes.txt'), 'x');
    writeFileSync(w.p('.c.safetensors'), 'x');
    // Markers in a new folder, found as late as the ignored folders' files would be; the second one
    // a full watch round later, so a file that was not ignored has been reported by then.
    mkdirSync(w.p('visible'));
    await w.marker('visible/marker-1.safetensors');
    await w.marker('visible/marker-2.safetensors');
    expect(w.batches.flatMap((b) => [...b.added, ...b.changed, ...b.removed])).toEqual([w.p('visible/marker-1.safetensors'), w.p('visible/marker-2.safetensors')]);
  });

  test('close() stops events', async () => {
    const w = await start();
    await w.watcher.close();
    // A second watcher on the same root is the witness: once it has reported the files, and a marker after
    // them, the closed one would have too.
    const witness: WatchBatch[] = [];
    const second = watchRoots([w.root], { ...modeOptions, onBatch: (b) => witness.push(b) });
    watchers.push(second);
    await second.ready;
    if (modeOptions.poll) await sleep(modeOptions.pollIntervalMs * 2);
    const seen = (f: string) => witness.some((b) => b.added.includes(f));
    writeFileSync(w.p('after-close.safetensors'), 'x');
    oldFile(w.p('after-close-old.safetensors'));
    await until('the witness', () => seen(w.p('after-close.safetensors')) && seen(w.p('after-close-old.safetensors')));
    writeFileSync(w.p('marker.safetensors'), 'x');
    await until('the marker', () => seen(w.p('marker.safetensors')));
    expect(w.batches).toEqual([]);
  });
});

describe('when to poll', () => {
  const mounts = parseMounts(
    [
      '/dev/vda / ext4 rw,relatime 0 0',
      'drive /content/drive fuse.drive rw,nosuid 0 0',
      'server:/export /mnt/nas nfs4 rw 0 0',
      '//host/share /mnt/win\\040share cifs rw 0 0',
      '/dev/sdb1 /mnt/usb fuseblk rw 0 0',
      'tmpfs /mnt/nas/cache tmpfs rw 0 0',
    ].join('\n'),
  );

  test.each([
    ['/content/drive/MyDrive/models', true],
    ['/mnt/nas/models', true],
    ['/mnt/win share/Lora', true],
    ['/mnt/usb/models', false],
    ['/mnt/nas/cache/models', false],
    ['/home/me/models', false],
  ])('%s → %s', (root, poll) => {
    expect(shouldPoll(root, mounts)).toBe(poll);
  });

  test('under /content/drive even when the mount table says nothing', () => {
    expect(shouldPoll('/content/drive/MyDrive/sd', [])).toBe(true);
  });
});
