// A webpack loader that strips TypeScript types (TypeScript's transpileModule):
// the page needs no type-directed emit, and type-checking is `tsc -p tests/e2e/page`.
const ts = require('typescript');

module.exports = function transpile(source) {
  const out = ts.transpileModule(source, {
    fileName: this.resourcePath,
    compilerOptions: { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.ESNext, sourceMap: false, esModuleInterop: true },
    reportDiagnostics: false,
  });
  return out.outputText;
};
