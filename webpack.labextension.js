// Extra webpack configuration for the JupyterLab extension build
// (package.json "jupyterlab.webpackConfig", merged by @jupyterlab/builder).
//
// The builder exposes the package's "main" as the federated module "./index"
// and shares the package itself under its name. modeldeck's "main" is the Node
// side (lib/index.js: the engine, the kernel, tslab), which has no business in
// a browser bundle: here it resolves to the widget's exports instead.
const path = require('path');

module.exports = {
  resolve: {
    alias: {
      [path.resolve(__dirname, 'lib/index.js')]: path.resolve(__dirname, 'lib/widget/src/widget/widget.js'),
    },
  },
};
