// Bundles the e2e test page (harness.ts with @jupyterlab/services and
// @jupyter-widgets/html-manager) into a static folder:
//   webpack --config tests/e2e/page/webpack.config.js --env out=<static dir>
// The widget module itself is not bundled here: the page loads dist/index.js
// through requirejs, as Colab and html-manager do (see tests/e2e/helpers/site.ts).
const path = require('path');
const webpack = require('webpack');

const repo = path.resolve(__dirname, '..', '..', '..');

module.exports = (env = {}) => {
  if (!env.out) throw new Error('e2e page: pass --env out=<static dir>');
  return {
    mode: 'development',
    devtool: false,
    entry: path.join(__dirname, 'harness.ts'),
    output: { path: path.resolve(env.out), filename: 'harness.js', publicPath: '' },
    resolve: { extensions: ['.ts', '.js'] },
    module: {
      rules: [
        { test: /\.ts$/, loader: path.join(__dirname, 'ts-transpile-loader.js') },
        { test: /\.css$/i, use: ['style-loader', 'css-loader'] },
        { test: /\.(woff2?|eot|ttf|otf|svg|png|gif)$/i, type: 'asset/resource' },
      ],
    },
    // @jupyterlab/services and its dependencies read a few Node globals.
    plugins: [new webpack.DefinePlugin({ process: { cwd: () => '/', env: {} } })],
    // Rebuilds (every test run) reuse the previous build's work.
    cache: { type: 'filesystem', cacheDirectory: path.join(repo, '.e2e', 'webpack-cache'), buildDependencies: { config: [__filename] } },
    performance: { hints: false },
    stats: 'errors-warnings',
  };
};
