// The JupyterLab core bundle: the trimmed extension set of src/extensions.js,
// compiled into one module-federation host that prebuilt extensions (modeldeck's
// labextension/) load into at run time, as JupyterLab's own staging build does.
//
// Run from the cache folder the test setup copies this folder to (next to its
// node_modules): `node build.js <out>` (build.js loads this file).
const fs = require('fs');
const path = require('path');
const { merge } = require('webpack-merge');
const rspack = require('@rspack/core');
const baseConfig = require('@jupyter/builder/lib/webpack.config.base');
const { Build } = require('@jupyter/builder');
const { EXTENSIONS, MIME_EXTENSIONS } = require('./src/extensions');
const PACKAGES = [...Object.keys(EXTENSIONS), ...Object.keys(MIME_EXTENSIONS)];

const core = require('@jupyterlab/core-meta/core.package.json');

/** The package.json of an installed package, or null when it is not installed here. */
function pkgOf(name) {
  try {
    return JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`, { paths: [__dirname] }), 'utf8'));
  } catch {
    return null;
  }
}

/**
 * What the core shares with prebuilt extensions: the core release's pinned
 * packages that are installed, the extension packages, and what they depend on
 * (each package's `jupyterlab.sharedPackages` can turn an entry off or mark it
 * a singleton). An extension built against core-meta expects exactly these to be
 * provided: modeldeck's labextension takes `@jupyter-widgets/base` from here
 * (bundled: false), which the widget manager's package brings.
 */
function sharedPackages() {
  const shared = {};
  for (const [name, range] of Object.entries(core.resolutions)) {
    const pkg = pkgOf(name);
    if (pkg) shared[name] = { requiredVersion: range };
  }
  const packages = [...PACKAGES, '@jupyterlab/application', '@jupyterlab/coreutils'];
  for (const name of packages) {
    const pkg = pkgOf(name);
    shared[name] = { ...(shared[name] || {}), requiredVersion: `~${pkg.version}` };
    for (const [dep, range] of Object.entries(pkg.dependencies || {})) {
      if (!shared[dep] && pkgOf(dep)) shared[dep] = { requiredVersion: range };
    }
    for (const [dep, how] of Object.entries((pkg.jupyterlab && pkg.jupyterlab.sharedPackages) || {})) {
      if (how === false) delete shared[dep];
      else if (shared[dep]) Object.assign(shared[dep], { singleton: !!how.singleton });
    }
  }
  for (const name of core.jupyterlab.singletonPackages) if (shared[name]) shared[name].singleton = true;
  return shared;
}

module.exports = (out) => {
  // Schemas (settings of every plugin, read by /lab/api/settings) and themes (/lab/api/themes)
  // go to `out`; generated/style.js (the packages' CSS imports) is imported by src/index.js.
  const themes = Build.ensureAssets({ output: path.join(__dirname, 'generated'), schemaOutput: out, themeOutput: out, packageNames: PACKAGES });
  const main = merge(baseConfig, {
    // Not minified: the build takes seconds instead of a minute, and size does not matter on 127.0.0.1.
    mode: 'development',
    devtool: false,
    entry: { main: path.join(__dirname, 'src', 'bootstrap.js') },
    output: {
      path: path.join(out, 'static'),
      // The page loads main.js from the server's static URL; chunks follow it from there.
      publicPath: 'auto',
      filename: '[name].js',
      chunkFilename: '[name].[contenthash].js',
    },
    plugins: [
      new rspack.container.ModuleFederationPlugin({
        // The names JupyterLab's own core uses: prebuilt extensions join its "default" share scope.
        name: 'CORE_FEDERATION',
        library: { type: 'var', name: ['_JUPYTERLAB', 'CORE_LIBRARY_FEDERATION'] },
        shared: sharedPackages(),
      }),
    ],
  });
  return [main, ...themes];
};
