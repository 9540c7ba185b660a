// Entry of the AMD bundle (dist/index.js) that Colab, html-manager and classic
// pages load: the module's exports. The stylesheet is added by webpack (see
// webpack.config.js), so the JupyterLab extension, which loads css/widget.css
// through package.json "style", does not get it twice.
export * from './widget';
