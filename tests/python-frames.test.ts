/** The Python package's frame reader (python/modeldeck/_frames.py), run by Debian's python3 with unittest. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

test('python/modeldeck/_frames.py passes its unit tests', () => {
  const r = spawnSync('/usr/bin/python3', [join(__dirname, 'python', 'test_frames.py'), join(__dirname, '..', 'python'), '-v'], { encoding: 'utf8' });
  expect(r.stderr).toMatch(/Ran 5 tests/);
  expect(r.stderr).toMatch(/\nOK\s*$/);
  expect(r.status).toBe(0);
});
