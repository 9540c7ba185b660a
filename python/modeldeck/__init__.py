"""modeldeck's models panel in a Python notebook (Colab, JupyterLab, VS Code).

    import modeldeck
    panel = modeldeck.show("/content/drive/MyDrive/models")
    report = panel.scan()
    panel.models       # list of dicts
    panel.close()

The panel runs in a Node.js process (modeldeck's session) that the kernel
starts once and talks to over its stdin/stdout; the widget shown is
anywidget's, carrying the panel's code, so nothing needs installing in the
front end. Needs Node.js >= 20.18 and the modeldeck npm package.
"""
from ._errors import ModeldeckError
from ._panel import Panel, show

__all__ = ["show", "Panel", "ModeldeckError"]
__version__ = "0.1.0"


def _prestart():
    """In a kernel, starts its Node session now, in the background, so show() does not wait for Node to load.

    Anything wrong (no Node, no package) is left for show() to say in one line.
    MODELDECK_PRESTART=0 turns this off.
    """
    import os

    if os.environ.get("MODELDECK_PRESTART") == "0":
        return
    try:
        from IPython import get_ipython

        if getattr(get_ipython(), "kernel", None) is None:
            return  # not in a notebook kernel (a script, a test): nothing to show a panel in
        from ._relay import relay

        relay()
    except Exception:
        pass


_prestart()
