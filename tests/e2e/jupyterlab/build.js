// `node build.js <out>`: builds the core bundle and themes into <out>
// (static/, schemas/, themes/). Run by tests/e2e/helpers/jupyterlab.ts in the cache copy.
const rspack = require('@rspack/core');
const configs = require('./rspack.config')(require('path').resolve(process.argv[2]));
rspack(configs, (err, stats) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
  const text = stats.toString({ all: false, errors: true, warnings: false, colors: false });
  if (stats.hasErrors()) {
    console.error(text);
    process.exit(1);
  }
  console.log(`built in ${Math.max(...stats.stats.map((s) => s.endTime - s.startTime))} ms`);
});
