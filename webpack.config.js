// The widget's AMD bundle: dist/index.js, the file that Colab's widget manager
// and @jupyter-widgets/html-manager load from <package>@<version>/dist/index.js.
// @jupyter-widgets/base is provided by the page, never bundled.
const path = require('path');

module.exports = {
  entry: './lib/widget/src/widget/index.js',
  output: {
    filename: 'index.js',
    path: path.resolve(__dirname, 'dist'),
    libraryTarget: 'amd',
    library: 'modeldeck',
  },
  externals: ['@jupyter-widgets/base'],
  mode: 'production',
  devtool: 'source-map',
};
