#!/usr/bin/python3
"""A FUSE passthrough file system that behaves like Google Drive's mount on Colab.

Test tool for modeldeck (tests/helpers/drive-mount.ts starts it): every
operation is passed to a real source folder, with
  - a latency per open, per stat (getattr) and per readdir,
  - a bandwidth cap shared by all reads of the mount (one network link),
  - injected faults: ENOTCONN, EIO, ESTALE, EAGAIN or a short read at chosen
    byte offsets of chosen files, every N bytes read, or at random with a seed,
  - a whole-mount disconnect for N seconds (every call fails with ENOTCONN),
  - a file that shrinks (is truncated in the source folder) while it is read,
  - a file planted at a path right after a lookup found nothing there (a race),
  - hard links refused (EPERM), as on Drive's mount,
  - write faults: the next N creates, writes or renames whose path ends with a
    given text fail (a write can first store half its bytes, as a connection
    that drops mid-upload leaves a partial file; with `fromByte`, only writes
    reaching that offset fail, the one crossing it stores what fits and
    returns a short count: a disk that fills up, with ENOSPC),
and counters per file (opens, stats, bytes read, writes, renames onto it) and
per folder (readdirs), and of planted files.

Controlled through a Unix socket: one JSON object per line in, one per line out.
Prints "MOUNTED" on stdout once the kernel has called init (the mount is up).

Usage: drive_fuse.py SOURCE MOUNTPOINT CONTROL_SOCKET [JSON_CONFIG]
"""
import errno
import json
import os
import random
import socket
import sys
import threading
import time

from fusepy import FUSE, FuseOSError, Operations

ERRNOS = {'ENOTCONN': errno.ENOTCONN, 'EIO': errno.EIO, 'ESTALE': errno.ESTALE, 'EAGAIN': errno.EAGAIN, 'ENOSPC': errno.ENOSPC}


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.files = {}
        self.dirs = {}
        self.faults = []
        # Writes, creates and renames that failed by a write fault.
        self.write_faults = []
        # Fault specs that fired (a spec fails every read at its spot for a while: several failed reads).
        self.injected = 0
        # Files planted by plantOnMiss.
        self.planted = 0

    def file(self, path):
        return self.files.setdefault(path, {'opens': 0, 'stats': 0, 'bytes': 0, 'reads': 0, 'writes': 0, 'renamesOnto': 0})

    def bump_file(self, path, key, n=1):
        with self.lock:
            self.file(path)[key] += n

    def bump_dir(self, path):
        with self.lock:
            self.dirs[path] = self.dirs.get(path, 0) + 1

    def snapshot(self):
        with self.lock:
            return {'files': {k: dict(v) for k, v in self.files.items()}, 'readdirs': dict(self.dirs), 'faults': list(self.faults),
                    'injected': self.injected, 'planted': self.planted, 'writeFaults': list(self.write_faults)}


class DriveLike(Operations):
    def __init__(self, source, config):
        self.source = os.path.realpath(source)
        self.counters = Counters()
        self.lock = threading.Lock()
        self.link_free_at = 0.0
        self.bytes_total = 0
        self.disconnected_until = 0.0
        self.configure(config)

    # ---- control ----
    def configure(self, config):
        with self.lock:
            self.open_ms = float(config.get('openMs', self.__dict__.get('open_ms', 0)))
            self.stat_ms = float(config.get('statMs', self.__dict__.get('stat_ms', 0)))
            self.readdir_ms = float(config.get('readdirMs', self.__dict__.get('readdir_ms', 0)))
            self.bandwidth = float(config.get('bandwidthMBps', self.__dict__.get('bandwidth', 0)))
            if 'faults' in config:
                # [{path, offset, errno, forMs}]: reads covering `offset` of `path` fail from the first
                # one for forMs (default 250). One failed read alone would never reach the program: the
                # kernel drops a failed read-ahead and reads that page again, or returns a short read.
                self.faults = [dict(f, forMs=f.get('forMs', 250), until=None) for f in config['faults']]
            elif not hasattr(self, 'faults'):
                self.faults = []
            if 'everyBytes' in config:
                # {bytes, errno}: one fault each time the mount's total read crosses a multiple of `bytes`.
                self.every = config['everyBytes']
                self.every_next = self.bytes_total + (self.every['bytes'] if self.every else 0)
            elif not hasattr(self, 'every'):
                self.every = None
            if 'random' in config:
                # {seed, perRead, errno}: each read fails with probability perRead.
                r = config['random']
                self.random = r
                self.rng = random.Random(r['seed']) if r else None
            elif not hasattr(self, 'random'):
                self.random = None
            if 'shrink' in config:
                # [{path, afterBytes, toSize}]: truncate the source file once afterBytes of it were read.
                self.shrinks = list(config['shrink'])
            elif not hasattr(self, 'shrinks'):
                self.shrinks = []
            if 'plantOnMiss' in config:
                # [{path, afterMisses, content}]: once a getattr of `path` has answered ENOENT `afterMisses`
                # times, the file is written in the source folder (another writer, right after a check).
                self.plants = [dict(p, misses=0, planted=False) for p in config['plantOnMiss']]
            elif not hasattr(self, 'plants'):
                self.plants = []
            if 'refuseLinks' in config:
                # Like Drive's mount: link(2) is refused with EPERM.
                self.refuse_links = bool(config['refuseLinks'])
            elif not hasattr(self, 'refuse_links'):
                self.refuse_links = False
            if 'writeFaults' in config:
                # [{op: 'create'|'write'|'rename', endsWith, errno, times, partial}]: the next `times`
                # (default 1) such operations on a path ending with `endsWith` fail (for a rename: the
                # new name). `partial` (writes): half of the bytes reach the file before the failure.
                # `fromByte` (writes): writes ending at or before it pass (and count no failure); the one
                # crossing it stores the bytes before it and returns that short count, as write(2) does when
                # the disk fills; later ones fail.
                self.write_specs = [dict(w, left=w.get('times', 1)) for w in config['writeFaults']]
            elif not hasattr(self, 'write_specs'):
                self.write_specs = []

    def disconnect(self, seconds):
        with self.lock:
            self.disconnected_until = time.monotonic() + float(seconds)

    # ---- helpers ----
    def _full(self, path):
        return os.path.join(self.source, path.lstrip('/'))

    def _check_connected(self):
        if time.monotonic() < self.disconnected_until:
            raise FuseOSError(errno.ENOTCONN)

    @staticmethod
    def _wait(ms):
        if ms > 0:
            time.sleep(ms / 1000.0)

    def _fault(self, path, offset, size, kind):
        with self.counters.lock:
            self.counters.faults.append({'path': path, 'offset': offset, 'size': size, 'errno': kind})
        if kind == 'SHORT':
            return 'SHORT'
        raise FuseOSError(ERRNOS[kind])

    def _pick_fault(self, path, offset, size):
        with self.lock:
            now = time.monotonic()
            for f in self.faults:
                if f['path'] == path and offset <= f['offset'] < offset + size:
                    if f['until'] is None:
                        f['until'] = now + f['forMs'] / 1000.0
                        self.counters.injected += 1
                    if now < f['until']:
                        return f.get('errno', 'ENOTCONN')
            spot = None
            if self.every and self.bytes_total + size > self.every_next:
                self.every_next += self.every['bytes']
                spot = self.every
            elif self.random and self.rng.random() < self.random['perRead']:
                spot = self.random
            if spot:
                # From here on like a fault placed at this spot: its reads fail for forMs.
                kind = spot.get('errno', 'ENOTCONN')
                self.faults.append({'path': path, 'offset': offset, 'errno': kind, 'forMs': spot.get('forMs', 250), 'until': now + spot.get('forMs', 250) / 1000.0})
                self.counters.injected += 1
                return kind
            for s in self.shrinks:
                if not s.get('done') and s['path'] == path and self.counters.files.get(path, {}).get('bytes', 0) >= s['afterBytes']:
                    s['done'] = True
                    os.truncate(self._full(path), s['toSize'])
        return None

    def _plant_after_miss(self, path):
        with self.lock:
            for p in self.plants:
                if p['path'] == path and not p['planted']:
                    p['misses'] += 1
                    if p['misses'] >= p.get('afterMisses', 1):
                        p['planted'] = True
                        with open(self._full(path), 'w') as f:
                            f.write(p.get('content', 'planted'))
                        with self.counters.lock:
                            self.counters.planted += 1

    def _write_fault(self, op, path, end=None):
        """The spec of a write fault this operation meets (its count used up), or None."""
        with self.lock:
            for w in self.write_specs:
                if 'fromByte' in w and end is not None and end <= w['fromByte']:
                    continue
                if w['op'] == op and w['left'] > 0 and path.endswith(w.get('endsWith', '')):
                    w['left'] -= 1
                    with self.counters.lock:
                        self.counters.write_faults.append({'op': op, 'path': path, 'errno': w.get('errno', 'ENOTCONN')})
                    return w
        return None

    def _throttle(self, n):
        if self.bandwidth <= 0:
            return
        with self.lock:
            start = max(time.monotonic(), self.link_free_at)
            self.link_free_at = start + n / (self.bandwidth * 1e6)
            until = self.link_free_at
        delay = until - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    # ---- file system ----
    def init(self, path):
        print('MOUNTED', flush=True)

    def access(self, path, mode):
        self._check_connected()
        if not os.access(self._full(path), mode):
            raise FuseOSError(errno.EACCES)

    def getattr(self, path, fh=None):
        self._check_connected()
        self.counters.bump_file(path, 'stats')
        self._wait(self.stat_ms)
        try:
            st = os.fstat(fh) if fh is not None else os.lstat(self._full(path))
        except OSError as e:
            if e.errno == errno.ENOENT:
                self._plant_after_miss(path)
            raise FuseOSError(e.errno)
        keys = ('st_atime', 'st_ctime', 'st_gid', 'st_mode', 'st_mtime', 'st_nlink', 'st_size', 'st_uid', 'st_blocks')
        out = {k: getattr(st, k) for k in keys}
        for k in ('st_atime', 'st_mtime', 'st_ctime'):
            out[k] = getattr(st, k + '_ns') / 1e9
        return out

    def readdir(self, path, fh):
        self._check_connected()
        self.counters.bump_dir(path)
        self._wait(self.readdir_ms)
        return ['.', '..'] + os.listdir(self._full(path))

    def readlink(self, path):
        self._check_connected()
        return os.readlink(self._full(path))

    def statfs(self, path):
        self._check_connected()
        st = os.statvfs(self._full(path))
        return {k: getattr(st, k) for k in ('f_bavail', 'f_bfree', 'f_blocks', 'f_bsize', 'f_favail', 'f_ffree', 'f_files', 'f_flag', 'f_frsize', 'f_namemax')}

    def open(self, path, flags):
        self._check_connected()
        self.counters.bump_file(path, 'opens')
        self._wait(self.open_ms)
        return self._os(os.open, self._full(path), flags)

    def create(self, path, mode, fi=None):
        self._check_connected()
        w = self._write_fault('create', path)
        if w:
            raise FuseOSError(ERRNOS[w.get('errno', 'ENOTCONN')])
        self.counters.bump_file(path, 'opens')
        self._wait(self.open_ms)
        return self._os(os.open, self._full(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)

    def read(self, path, size, offset, fh):
        self._check_connected()
        kind = self._pick_fault(path, offset, size)
        if kind:
            if self._fault(path, offset, size, kind) == 'SHORT':
                size = max(0, size // 2)
        self._throttle(size)
        self._check_connected()
        data = self._os(os.pread, fh, size, offset)
        with self.lock:
            self.bytes_total += len(data)
        self.counters.bump_file(path, 'bytes', len(data))
        self.counters.bump_file(path, 'reads')
        return data

    def write(self, path, data, offset, fh):
        self._check_connected()
        w = self._write_fault('write', path, offset + len(data))
        if w:
            if 'fromByte' in w and offset < w['fromByte']:
                # The disk fills inside this write: what fits is stored, the count says so.
                return self._os(os.pwrite, fh, data[: w['fromByte'] - offset], offset)
            if w.get('partial'):
                self._os(os.pwrite, fh, data[: len(data) // 2], offset)
            raise FuseOSError(ERRNOS[w.get('errno', 'ENOTCONN')])
        self.counters.bump_file(path, 'writes')
        return self._os(os.pwrite, fh, data, offset)

    def truncate(self, path, length, fh=None):
        self._check_connected()
        if fh is not None:
            self._os(os.ftruncate, fh, length)
        else:
            self._os(os.truncate, self._full(path), length)

    def flush(self, path, fh):
        self._check_connected()

    def release(self, path, fh):
        os.close(fh)

    def fsync(self, path, datasync, fh):
        self._check_connected()
        self._os(os.fsync, fh)

    def unlink(self, path):
        self._check_connected()
        self._os(os.unlink, self._full(path))

    def rmdir(self, path):
        self._check_connected()
        self._os(os.rmdir, self._full(path))

    def mkdir(self, path, mode):
        self._check_connected()
        self._os(os.mkdir, self._full(path), mode)

    def rename(self, old, new):
        self._check_connected()
        w = self._write_fault('rename', new)
        if w:
            raise FuseOSError(ERRNOS[w.get('errno', 'ENOTCONN')])
        self.counters.bump_file(new, 'renamesOnto')
        self._os(os.rename, self._full(old), self._full(new))

    def link(self, target, source):
        self._check_connected()
        if self.refuse_links:
            raise FuseOSError(errno.EPERM)
        self._os(os.link, self._full(source), self._full(target))

    def symlink(self, target, source):
        self._check_connected()
        self._os(os.symlink, source, self._full(target))

    def chmod(self, path, mode):
        self._check_connected()
        self._os(os.chmod, self._full(path), mode)

    def chown(self, path, uid, gid):
        self._check_connected()
        self._os(os.chown, self._full(path), uid, gid)

    def utimens(self, path, times=None):
        self._check_connected()
        self._os(os.utime, self._full(path), times)

    @staticmethod
    def _os(fn, *args):
        try:
            return fn(*args)
        except OSError as e:
            raise FuseOSError(e.errno)


def serve_control(fs, sock_path):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(8)

    def handle(conn):
        with conn, conn.makefile('rw') as f:
            for line in f:
                try:
                    req = json.loads(line)
                    cmd = req.get('cmd')
                    if cmd == 'counters':
                        out = fs.counters.snapshot()
                    elif cmd == 'reset':
                        fs.counters.reset()
                        out = {}
                    elif cmd == 'configure':
                        fs.configure(req.get('config', {}))
                        out = {}
                    elif cmd == 'disconnect':
                        fs.disconnect(req['seconds'])
                        out = {}
                    elif cmd == 'ping':
                        out = {'pong': True}
                    else:
                        raise ValueError('unknown command %r' % cmd)
                    reply = {'id': req.get('id'), 'ok': True, 'result': out}
                except Exception as e:  # the reply carries the reason; the mount stays up
                    reply = {'id': req.get('id') if isinstance(req, dict) else None, 'ok': False, 'error': str(e)}
                f.write(json.dumps(reply) + '\n')
                f.flush()

    def loop():
        while True:
            conn, _ = server.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


def main():
    source, mountpoint, sock_path = sys.argv[1:4]
    config = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    fs = DriveLike(source, config)
    serve_control(fs, sock_path)
    # Kernel attribute and entry caches as on a real mount (1 s, libfuse's default) unless the test says otherwise.
    cache = float(config.get('attrTimeout', 1.0))
    FUSE(fs, mountpoint, foreground=True, nothreads=False, fsname='modeldeck-drive', subtype='modeldeck-drive',
         attr_timeout=cache, entry_timeout=cache, default_permissions=True)


if __name__ == '__main__':
    main()
