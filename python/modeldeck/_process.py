"""The Node session process and the frames to and from it.

One process per kernel. Writing to it never blocks the kernel: frames go
through a bounded queue to a writer thread, and when the queue is full (Node
stopped reading) a frame is dropped with a logged reason. Reading happens in
a thread; what Node sends is handed to the callbacks registered here. When
the process ends, every waiting call gets an error and `on_exit` runs.
"""
import itertools
import os
import queue
import subprocess
import sys
import threading

from . import _frames
from ._errors import ModeldeckError
from ._node import child_environment, node_binary, package_dir

_QUEUE_FRAMES = 2000
_STDERR_KEEP = 40


def log(line):
    # The kernel's own stderr (the server's log), not a cell's output.
    try:
        sys.__stderr__.write("modeldeck: %s\n" % line)
        sys.__stderr__.flush()
    except Exception:
        pass


class _Call:
    def __init__(self):
        self.done = threading.Event()
        self.reply = None
        self.progress = queue.Queue()


class NodeProcess:
    def __init__(self, on_frame, on_exit):
        node = node_binary()
        script = os.path.join(package_dir(), "lib", "hosts", "stdio", "main.js")
        self._on_frame = on_frame
        self._on_exit = on_exit
        self._calls = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._out = queue.Queue(maxsize=_QUEUE_FRAMES)
        self.stderr_tail = []
        self.alive = True
        self.proc = subprocess.Popen(
            [node, script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_environment(),
            close_fds=True,
        )
        for target, name in ((self._read, "reader"), (self._write, "writer"), (self._read_stderr, "stderr")):
            threading.Thread(target=target, name="modeldeck-" + name, daemon=True).start()

    @property
    def pid(self):
        return self.proc.pid

    def send(self, header, buffers=()):
        """Queues a frame; False (and a log line) when it cannot go."""
        if not self.alive:
            return False
        try:
            data = _frames.encode(header, buffers)
        except _frames.FrameError as err:
            log("frame %s to the session dropped: %s" % (header.get("op"), err))
            return False
        try:
            self._out.put_nowait(data)
        except queue.Full:
            log("frame %s dropped: the session is not reading" % header.get("op"))
            return False
        return True

    def call(self, header, timeout=None, on_progress=None):
        """Sends a request and waits for its reply (a dict with ok / result / error)."""
        call = _Call()
        with self._lock:
            cid = next(self._ids)
            self._calls[cid] = call
        header = dict(header, id=cid)
        try:
            if not self.send(header):
                raise ModeldeckError("the modeldeck session is not running; run modeldeck.show() again")
            while not call.done.wait(0.1):
                self._drain_progress(call, on_progress)
                if timeout is not None:
                    timeout -= 0.1
                    if timeout <= 0:
                        raise ModeldeckError("the modeldeck session did not answer %s in time" % header.get("method", header.get("op")))
            self._drain_progress(call, on_progress)
            return call.reply
        finally:
            with self._lock:
                self._calls.pop(cid, None)

    @staticmethod
    def _drain_progress(call, on_progress):
        while True:
            try:
                p = call.progress.get_nowait()
            except queue.Empty:
                return
            if on_progress:
                try:
                    on_progress(p)
                except Exception:
                    pass

    def stop(self):
        """Ends the process: EOF on its stdin first, then SIGTERM, then SIGKILL."""
        if self.proc.poll() is None:
            self.send({"op": "shutdown"})
            try:
                self._out.put_nowait(None)
            except queue.Full:
                pass
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=3)
        self.alive = False

    # -- threads ------------------------------------------------------------

    def _write(self):
        stdin = self.proc.stdin
        try:
            while True:
                data = self._out.get()
                if data is None:
                    break
                stdin.write(data)
                stdin.flush()
        except (OSError, ValueError):
            pass
        finally:
            try:
                stdin.close()
            except Exception:
                pass

    def _read(self):
        try:
            for header, buffers in _frames.read_frames(self.proc.stdout, lambda why: log("frame from the session dropped: " + why)):
                op = header.get("op")
                if op in ("reply", "progress"):
                    with self._lock:
                        call = self._calls.get(header.get("id"))
                    if call is None:
                        continue
                    if op == "progress":
                        call.progress.put(header.get("progress"))
                    else:
                        call.reply = header
                        call.done.set()
                    continue
                try:
                    self._on_frame(header, buffers)
                except Exception as err:  # a bad frame must not stop the reader
                    log("frame %r from the session not handled: %s" % (str(op)[:40], err))
        except _frames.StreamBroken as err:
            log("the session's output is broken (%s); stopping it" % err)
            try:
                self.proc.kill()
            except Exception:
                pass
        except Exception as err:
            log("reading from the session failed: %s" % err)
        finally:
            self._ended()

    def _read_stderr(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            self.stderr_tail = (self.stderr_tail + [line])[-_STDERR_KEEP:]
            log("[node] " + line)

    def _ended(self):
        self.alive = False
        # Reap it: a zombie child still counts as a child, and ipykernel's shutdown keeps
        # signalling its children (for seconds) until none is left.
        try:
            self.proc.wait(timeout=5)
        except Exception:
            pass
        try:
            self._out.put_nowait(None)
        except queue.Full:
            pass
        with self._lock:
            calls = list(self._calls.values())
        for call in calls:
            call.reply = {"ok": False, "error": {"code": "session_ended", "message": "the modeldeck Node process ended; run modeldeck.show() again"}}
            call.done.set()
        try:
            self._on_exit(self)
        except Exception:
            pass
