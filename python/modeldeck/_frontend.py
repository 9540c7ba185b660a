"""What the front end needs to find the panel's code.

``frontend="anywidget"`` (the default): the widget is anywidget's
(``AnyModel``/``AnyView``), and the panel's own ES module travels in the
state as ``_esm`` with its stylesheet in ``_css``, so nothing of modeldeck
has to be on a CDN or installed in the front end. Colab, JupyterLab with
anywidget, and VS Code load anywidget's front end themselves.

``frontend="modeldeck"``: the state the Node session makes is kept as is
(modeldeck's own module: the JupyterLab extension or the AMD bundle).
"""
import os
import uuid

from ._errors import ModeldeckError

# The anywidget front end Colab's runtime ships (the npm version the manager fetches).
DEFAULT_ANYWIDGET_VERSION = "0.9.21"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
# Colab's widget manager for third-party widgets (as src/kernel/show.ts names it).
COLAB_WIDGET_MANAGER_URL = "https://ssl.gstatic.com/colaboratory-static/widgets/colab-cdn-widget-manager/2b70e893a8ba7c0f/manager.min.js"

FRONTENDS = ("anywidget", "modeldeck")
_cache = {}


def anywidget_version():
    own = os.environ.get("MODELDECK_ANYWIDGET_VERSION")
    if own:
        return own
    try:  # the anywidget Python package, when there, knows the front end its environment has
        import anywidget  # type: ignore

        return getattr(anywidget, "__version__", None) or DEFAULT_ANYWIDGET_VERSION
    except Exception:
        return DEFAULT_ANYWIDGET_VERSION


def _read(root, *parts):
    path = os.path.join(root, *parts)
    key = (path, os.path.getmtime(path) if os.path.exists(path) else None)
    if key not in _cache:
        try:
            with open(path, "r", encoding="utf-8") as f:
                _cache[key] = f.read()
        except OSError:
            raise ModeldeckError("%s is missing; the npm package is incomplete (run `npm run build` in a checkout)" % os.path.join(*parts))
    return _cache[key]


def state_overrides(frontend, package_root):
    """The state keys the chosen front end needs on top of the session's state."""
    if frontend == "modeldeck":
        return {}
    if frontend != "anywidget":
        raise ModeldeckError("frontend must be one of %s, not %r" % (", ".join(FRONTENDS), frontend))
    version = anywidget_version()
    return {
        "_model_module": "anywidget",
        "_model_name": "AnyModel",
        "_model_module_version": version,
        "_view_module": "anywidget",
        "_view_name": "AnyView",
        "_view_module_version": version,
        "_view_count": None,
        "_dom_classes": [],
        "_esm": _read(package_root, "dist", "esm", "index.js"),
        "_css": _read(package_root, "css", "widget.css"),
        # anywidget applies _css only for a widget with an id.
        "_anywidget_id": "modeldeck.panel." + uuid.uuid4().hex[:8],
    }


def in_colab():
    if os.environ.get("MODELDECK_COLAB") in ("0", "1"):
        return os.environ["MODELDECK_COLAB"] == "1"
    return bool(os.environ.get("COLAB_RELEASE_TAG")) or "COLAB_GPU" in os.environ


def display_bundle(model_id, text):
    """The display data and metadata of one view; Colab's custom-manager metadata under Colab."""
    data = {WIDGET_VIEW_MIME: {"model_id": model_id, "version_major": 2, "version_minor": 0}, "text/plain": text}
    metadata = {}
    if in_colab():
        try:
            from google.colab import output  # type: ignore

            output.enable_custom_widget_manager()
        except Exception:
            pass
        url = os.environ.get("MODELDECK_COLAB_WIDGET_MANAGER_URL") or COLAB_WIDGET_MANAGER_URL
        metadata = {WIDGET_VIEW_MIME: {"colab": {"custom_widget_manager": {"url": url}}}}
    return data, metadata
