"""`show()` and the Panel that code drives: scan(), models, state, close()."""
import os

from ._errors import ModeldeckError
from ._frontend import display_bundle, state_overrides
from ._node import package_dir
from ._relay import relay

_CALL_TIMEOUT = 120.0
_SETTINGS = ("nsfwLevel", "previews", "offline")


def show(roots, frontend="anywidget", display=True, **settings):
    """Displays the models panel for one or more library folders and returns it.

    ``settings``: nsfwLevel (1-5), previews (bool), offline (bool); the panel can change them.
    ``frontend``: "anywidget" (default; Colab, JupyterLab with anywidget, VS Code) or
    "modeldeck" (modeldeck's own labextension / AMD bundle).
    """
    if isinstance(roots, (str, os.PathLike)):
        roots = [roots]
    roots = [os.fspath(r) for r in (roots or []) if r not in (None, "")]
    if not roots:
        raise ModeldeckError("show: give at least one library folder")
    unknown = sorted(set(settings) - set(_SETTINGS))
    if unknown:
        raise ModeldeckError("show: unknown setting %s (known: %s)" % (", ".join(unknown), ", ".join(_SETTINGS)))
    overrides = state_overrides(frontend, package_dir())
    r = relay()
    r.expect(overrides)
    reply = r.process.call({"op": "open", "roots": roots, "settings": settings}, timeout=_CALL_TIMEOUT)
    if not reply.get("ok"):
        raise ModeldeckError(_message(reply))
    panel = Panel(r, reply["result"]["comm_id"], roots)
    if display:
        panel.display()
    return panel


def _message(reply):
    err = reply.get("error") or {}
    return str(err.get("message") or err.get("code") or "the session refused")


class Panel:
    def __init__(self, relay_, comm_id, roots):
        self._relay = relay_
        self.id = comm_id
        self.roots = list(roots)

    def __repr__(self):
        return "<modeldeck panel %s: %s>" % (self.id[:8], ", ".join(self.roots))

    def display(self):
        """Shows (another view of) the panel in the current cell's output."""
        from IPython.display import display as ipy_display

        data, metadata = display_bundle(self.id, "modeldeck panel: " + ", ".join(self.roots))
        ipy_display(data, raw=True, metadata=metadata)

    def _call(self, method, timeout=_CALL_TIMEOUT, on_progress=None, **args):
        reply = self._relay.process.call({"op": "call", "comm_id": self.id, "method": method, "args": args}, timeout=timeout, on_progress=on_progress)
        if not reply.get("ok"):
            raise ModeldeckError(_message(reply))
        return reply.get("result")

    def scan(self, offline=None, refresh=False, verify=False, progress=True):
        """Scans to the end (the panel updates meanwhile) and returns the report as a dict.

        Progress shows in this cell's output; interrupting the kernel cancels the scan.
        """
        line = _ProgressLine() if progress else None
        args = {"refresh": bool(refresh), "verify": bool(verify)}
        if offline is not None:
            args["offline"] = bool(offline)
        try:
            report = self._call("scan", timeout=None, on_progress=line.update if line else None, **args)
        except KeyboardInterrupt:
            try:
                self._call("cancel", timeout=10)
            except Exception:
                pass
            raise
        if line:
            line.finish(report)
        return report

    def cancel(self):
        """Cancels a scan the panel runs (one started from the panel's own button)."""
        return bool(self._call("cancel"))

    @property
    def models(self):
        """Every model of the library as plain dicts."""
        return self._call("models")

    @property
    def state(self):
        """A copy of the panel's state (roots, progress, errors, summary, settings)."""
        return self._call("state")

    def sync(self):
        self._call("sync")

    def close(self):
        """Closes the panel; the Node process ends with the kernel's last panel."""
        try:
            if self._relay.process.alive:
                self._call("close", timeout=30)
        finally:
            comm = self._relay.comms.pop(self.id, None)
            if comm is not None:
                comm._modeldeck_closed_by_node = True
                try:
                    comm.close()
                except Exception:
                    pass
            if not self._relay.comms:
                self._relay.stop()


class _ProgressLine:
    """One line in the cell's output, replaced as the scan goes."""

    def __init__(self):
        from IPython.display import display

        self._handle = display({"text/plain": "scan: starting"}, raw=True, display_id=True)

    def update(self, p):
        if not isinstance(p, dict):
            return
        text = "scan: %s, %s files found, %s of %s hashed, %s lookups" % (
            p.get("phase"), p.get("filesFound", 0), p.get("filesHashed", 0), p.get("filesToHash", 0), p.get("lookups", 0))
        self._set(text)

    def finish(self, report):
        if isinstance(report, dict):
            self._set("scan: done, %s files, %s identified, %s not on Civitai, %.1f s" % (
                report.get("files", 0), report.get("identified", 0), report.get("notOnCivitai", 0), (report.get("elapsedMs") or 0) / 1000))

    def _set(self, text):
        if self._handle is not None:
            try:
                self._handle.update({"text/plain": text}, raw=True)
            except Exception:
                pass
