"""The kernel's one Node session and the comms it relays.

Node opens a comm (``comm_open`` frame) → the kernel opens a ``jupyter.widget``
comm with the same id, its state adjusted for the chosen front end; every
message either way is passed on with its buffers; a close on either side
closes the other. When the Node process ends, each open panel is told in its
error banner.
"""
import atexit
import threading
import time

from ._process import NodeProcess, log

_lock = threading.Lock()
_relay = None


def relay():
    """This kernel's relay, with a live Node process (started, or restarted after it died)."""
    global _relay
    with _lock:
        if _relay is None or not _relay.process.alive:
            _relay = Relay()
        return _relay


class Relay:
    def __init__(self):
        self.comms = {}
        self.overrides = {}
        # What crossed from Node to the front end as binary buffers (the benchmark counts preview bytes).
        self.stats = {"buffers": 0, "buffer_bytes": 0}
        self.process = NodeProcess(self._on_frame, self._on_exit)
        # Shutdown and restart end the kernel process: atexit stops Node cleanly, and if the
        # kernel is killed instead, Node sees its stdin close and exits by itself.
        atexit.register(self.stop)

    def expect(self, overrides):
        """State keys for the next comm Node opens (set before asking it to open)."""
        self._next_overrides = overrides

    def _on_frame(self, header, buffers):
        op = header.get("op")
        if op == "comm_open":
            self._open(header, buffers)
        elif op == "comm_msg":
            comm = self.comms.get(header.get("comm_id"))
            if comm is None:
                return
            data = header.get("data")
            over = self.overrides.get(comm.comm_id)
            if over and isinstance(data, dict) and isinstance(data.get("state"), dict):
                # A full-state answer carries the session's own module names: keep the front end's.
                data["state"].update({k: v for k, v in over.items() if k in data["state"]})
            if buffers:
                self.stats["buffers"] += len(buffers)
                self.stats["buffer_bytes"] += sum(len(b) for b in buffers)
            comm.send(data=data, metadata=header.get("metadata") or {}, buffers=buffers or None)
        elif op == "comm_close":
            comm = self.comms.pop(header.get("comm_id"), None)
            if comm is not None:
                comm._modeldeck_closed_by_node = True
                comm.close()
        elif op == "hello":
            pass
        else:
            log("frame with unknown op %r from the session dropped" % str(op)[:40])

    def _open(self, header, buffers):
        from ipykernel.comm import Comm

        data = header.get("data") if isinstance(header.get("data"), dict) else {}
        overrides = getattr(self, "_next_overrides", {}) or {}
        self._next_overrides = {}
        state = data.get("state") if isinstance(data.get("state"), dict) else {}
        state.update(overrides)
        data["state"] = state
        comm_id = str(header.get("comm_id"))
        self.overrides[comm_id] = {k: v for k, v in overrides.items() if k.startswith(("_model_", "_view_"))}
        # ipywidgets 7.7.1 (Colab's) sends 2.0.0; the session speaks the 2.x protocol of both.
        comm = Comm(target_name=header.get("target") or "jupyter.widget", data=data, metadata=header.get("metadata") or {"version": "2.0.0"}, buffers=buffers or None, comm_id=comm_id)
        comm.on_msg(lambda msg, c=comm: self._from_frontend(c, msg))
        comm.on_close(lambda msg, c=comm: self._frontend_closed(c))
        self.comms[comm_id] = comm

    def _from_frontend(self, comm, msg):
        # Whatever the front end sent, the kernel goes on: bad data is dropped here or by the session.
        try:
            content = msg.get("content") or {}
            buffers = [bytes(b) for b in (msg.get("buffers") or [])]
            self.process.send({"op": "comm_msg", "comm_id": comm.comm_id, "data": content.get("data")}, buffers)
        except Exception as err:
            log("message from the front end dropped: %s" % err)

    def _frontend_closed(self, comm):
        if getattr(comm, "_modeldeck_closed_by_node", False):
            return
        self.comms.pop(comm.comm_id, None)
        self.process.send({"op": "comm_close", "comm_id": comm.comm_id})

    def _on_exit(self, process):
        tail = [l for l in process.stderr_tail if l.strip()][-1:] if process.stderr_tail else []
        why = (" (%s)" % tail[0][:300]) if tail else ""
        error = {"id": 1_000_000, "code": "session_ended", "message": "the modeldeck Node process ended%s; run modeldeck.show() again" % why, "at": int(time.time() * 1000)}
        for comm in list(self.comms.values()):
            try:
                comm.send(data={"method": "update", "state": {"errors": [error]}, "buffer_paths": []})
            except Exception:
                pass

    def stop(self):
        try:
            self.process.stop()
        except Exception:
            pass

