// The extension set of the test's JupyterLab: enough to open and run a notebook
// and render widgets. console, documentsearch, fileeditor, lsp, metadataform and
// toc are here only because notebook and tooltip plugins require their tokens.
// Each package's default export is a plugin or a list of plugins. The loaders
// are literal import()s so the bundler sees every package; the build config
// (in Node) reads only the names.
exports.EXTENSIONS = {
  '@jupyterlab/application-extension': () => import('@jupyterlab/application-extension'),
  '@jupyterlab/apputils-extension': () => import('@jupyterlab/apputils-extension'),
  '@jupyterlab/codemirror-extension': () => import('@jupyterlab/codemirror-extension'),
  '@jupyterlab/completer-extension': () => import('@jupyterlab/completer-extension'),
  '@jupyterlab/console-extension': () => import('@jupyterlab/console-extension'),
  '@jupyterlab/docmanager-extension': () => import('@jupyterlab/docmanager-extension'),
  '@jupyterlab/documentsearch-extension': () => import('@jupyterlab/documentsearch-extension'),
  '@jupyterlab/filebrowser-extension': () => import('@jupyterlab/filebrowser-extension'),
  '@jupyterlab/fileeditor-extension': () => import('@jupyterlab/fileeditor-extension'),
  '@jupyterlab/launcher-extension': () => import('@jupyterlab/launcher-extension'),
  '@jupyterlab/lsp-extension': () => import('@jupyterlab/lsp-extension'),
  '@jupyterlab/mainmenu-extension': () => import('@jupyterlab/mainmenu-extension'),
  '@jupyterlab/metadataform-extension': () => import('@jupyterlab/metadataform-extension'),
  '@jupyterlab/notebook-extension': () => import('@jupyterlab/notebook-extension'),
  '@jupyterlab/rendermime-extension': () => import('@jupyterlab/rendermime-extension'),
  '@jupyterlab/running-extension': () => import('@jupyterlab/running-extension'),
  '@jupyterlab/services-extension': () => import('@jupyterlab/services-extension'),
  '@jupyterlab/shortcuts-extension': () => import('@jupyterlab/shortcuts-extension'),
  '@jupyterlab/statusbar-extension': () => import('@jupyterlab/statusbar-extension'),
  '@jupyterlab/theme-light-extension': () => import('@jupyterlab/theme-light-extension'),
  '@jupyterlab/toc-extension': () => import('@jupyterlab/toc-extension'),
  '@jupyterlab/tooltip-extension': () => import('@jupyterlab/tooltip-extension'),
  '@jupyterlab/translation-extension': () => import('@jupyterlab/translation-extension'),
  '@jupyterlab/ui-components-extension': () => import('@jupyterlab/ui-components-extension'),
  // The widget manager, compiled into the core (pip's jupyterlab_widgets would ship it prebuilt).
  '@jupyter-widgets/jupyterlab-manager': () => import('@jupyter-widgets/jupyterlab-manager'),
};

/** Renderers of output MIME types (IRenderMime.IExtensionModule). */
exports.MIME_EXTENSIONS = {
  '@jupyterlab/javascript-extension': () => import('@jupyterlab/javascript-extension'),
  '@jupyterlab/json-extension': () => import('@jupyterlab/json-extension'),
};
