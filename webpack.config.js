// The widget's AMD bundle: dist/index.js, the file that Colab's widget manager
// and @jupyter-widgets/html-manager load from <package>@<version>/dist/index.js.
// @jupyter-widgets/base is provided by the page, never bundled. Input is the tsc
// output in lib/widget (npm run build:widget compiles it first).
//
// The stylesheet is a second entry module: the bundle injects css/widget.css
// with style-loader, while the JupyterLab extension loads the same file through
// package.json "style" (so the TypeScript never imports CSS, and JupyterLab does
// not get it twice). With an array entry the library's exports are those of the
// last module, the widget.
const path = require('path');

const amd = {
  entry: [path.resolve(__dirname, 'css/widget.css'), './lib/widget/src/widget/index.js'],
  output: {
    filename: 'index.js',
    path: path.resolve(__dirname, 'dist'),
    libraryTarget: 'amd',
    library: 'modeldeck',
    // Chunks (there are none today) would load from next to index.js on the CDN.
    publicPath: 'auto',
    // Always written: the e2e tests compare its time with the widget sources', and a source
    // the AMD bundle does not include (the anywidget entry) must not make it look stale.
    compareBeforeEmit: false,
  },
  module: {
    rules: [{ test: /\.css$/, use: ['style-loader', { loader: 'css-loader', options: { sourceMap: false } }] }],
  },
  externals: ['@jupyter-widgets/base'],
  resolve: { extensions: ['.js'] },
  mode: 'production',
  devtool: 'source-map',
  performance: { hints: false },
};

// The anywidget route's ES module: dist/esm/index.js, carried in the widget
// state as `_esm` and imported by anywidget from a blob: URL. So it is one
// self-contained module (Preact and DOMPurify inside, no bare imports, no
// chunks) whose default export is `{ initialize, render }`. The stylesheet
// travels separately as `_css` (css/widget.css).
const esm = {
  entry: './lib/widget/src/widget/esm.js',
  experiments: { outputModule: true },
  output: {
    filename: 'index.js',
    path: path.resolve(__dirname, 'dist/esm'),
    library: { type: 'module' },
    chunkFormat: false,
  },
  optimization: { splitChunks: false, runtimeChunk: false },
  resolve: { extensions: ['.js'] },
  mode: 'production',
  devtool: false,
  performance: { hints: false },
};

// The page of `modeldeck serve`: dist/serve/panel.js, a plain script (no
// inline code: the page's CSP forbids it); css/widget.css is served beside it.
const serve = {
  entry: './lib/widget/src/widget/serve-page.js',
  output: { filename: 'panel.js', path: path.resolve(__dirname, 'dist/serve') },
  resolve: { extensions: ['.js'] },
  mode: 'production',
  devtool: false,
  performance: { hints: false },
};

module.exports = [amd, esm, serve];
