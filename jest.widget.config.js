// The widget's component tests: TypeScript/TSX under jsdom, run by `npm test`
// after the Node suite (jest.config.js). Fixes from the reference (§9):
// - @lumino/dragdrop (via @jupyter-widgets/base) needs DragEvent: shim in setup;
// - @jupyter-widgets/* and @jupyterlab/* ship ES modules: babel-jest turns them into CommonJS;
// - jsdom would pick Preact's "browser" (ESM) build: ask for the CommonJS one.
const ipywidgets = {
  displayName: 'widget',
  rootDir: __dirname,
  roots: ['<rootDir>/tests/widget'],
  testRegex: '\\.test\\.tsx?$',
  testEnvironment: 'jsdom',
  testEnvironmentOptions: { customExportConditions: ['node', 'require', 'default'] },
  setupFiles: ['<rootDir>/tests/widget/setup.js'],
  moduleNameMapper: { '\\.css$': 'identity-obj-proxy' },
  modulePathIgnorePatterns: ['<rootDir>/labextension/', '<rootDir>/lib/', '<rootDir>/dist/', '<rootDir>/build/'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/tests/widget/tsconfig.json' }],
    '^.+\\.m?js$': ['babel-jest', { configFile: false, babelrc: false, presets: [['@babel/preset-env', { targets: { node: 'current' } }]] }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@jupyter(lab|-widgets)/.*)/)'],
};

// The same component tests again through anywidget's adapter (src/widget/anywidget.ts,
// mounted by src/widget/esm.tsx): tests/widget/helpers.tsx reads MODELDECK_TEST_ADAPTER.
const anywidget = {
  ...ipywidgets,
  displayName: 'widget-anywidget',
  setupFiles: [...ipywidgets.setupFiles, '<rootDir>/tests/widget/setup-anywidget.js'],
};

module.exports = { projects: [ipywidgets, anywidget], testTimeout: 120000 };
