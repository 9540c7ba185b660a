// Tests are TypeScript but run the compiled CommonJS in lib/ (built by `pretest`):
// the hashing engine starts worker threads from lib/, and the CLI tests spawn lib/ too,
// so the tests exercise exactly what ships.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testRegex: '\\.test\\.ts$',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tests/tsconfig.json' }],
  },
  moduleNameMapper: {
    '^(?:\\.\\./)+src/(.*)$': '<rootDir>/lib/$1',
  },
  // Longer than any wait's own limit (tests/helpers/wait.ts), so a hang fails with the wait's message.
  testTimeout: 300000,
};
