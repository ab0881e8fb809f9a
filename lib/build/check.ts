import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { AlgaError } from '../errors/index.ts';

/** The SDKs of this CLI: a project's imports of them are checked against these, wherever the project lives. */
const sdkPaths = {
  '@alga/extension-runtime': [fileURLToPath(new URL('../../sdk/runtime/index.ts', import.meta.url))],
  '@alga/extension-iframe-sdk': [fileURLToPath(new URL('../../sdk/iframe/index.ts', import.meta.url))],
};

/** What the project templates set; used when a project has no tsconfig.json. */
const defaultOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  strict: true,
  allowImportingTsExtensions: true,
  skipLibCheck: true,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  types: [],
};

export interface TypeCheckResult {
  /** `file:line:col: message (TSnnnn)`, files relative to the project. */
  errors: string[];
  /** True when the errors are syntax errors (the source does not parse): no type check ran. */
  syntax: boolean;
  files: number;
}

/**
 * Type-checks an extension project (`src/` and `ui/`, as its tsconfig.json includes them) the way
 * `tsc --noEmit` would, with the SDK imports resolved to this CLI's own SDK — the one `build`
 * bundles — so the check means the same in any folder.
 */
export function typeCheckProject(projectDir: string): TypeCheckResult {
  const root = resolve(projectDir);
  const configPath = join(root, 'tsconfig.json');
  let options: ts.CompilerOptions = defaultOptions;
  let fileNames: string[];
  if (existsSync(configPath)) {
    const read = ts.readConfigFile(configPath, ts.sys.readFile);
    if (read.error) throw new AlgaError('E_BUILD_TYPE_ERROR', formatDiagnostics([read.error], root).join('\n'));
    const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, configPath);
    const configErrors = parsed.errors.filter((diagnostic) => diagnostic.code !== 18003); // "no inputs" is reported below
    if (configErrors.length > 0) throw new AlgaError('E_BUILD_TYPE_ERROR', formatDiagnostics(configErrors, root).join('\n'));
    options = parsed.options;
    fileNames = parsed.fileNames;
  } else {
    fileNames = ts.sys.readDirectory(root, ['.ts'], ['node_modules', 'dist'], ['src/**/*', 'ui/**/*']);
  }
  const program = ts.createProgram(fileNames, { ...options, noEmit: true, paths: { ...options.paths, ...sdkPaths } });
  const syntactic = program.getSyntacticDiagnostics();
  if (syntactic.length > 0) return { errors: formatDiagnostics(syntactic, root), syntax: true, files: fileNames.length };
  return { errors: formatDiagnostics(ts.getPreEmitDiagnostics(program), root), syntax: false, files: fileNames.length };
}

function formatDiagnostics(diagnostics: readonly ts.Diagnostic[], root: string): string[] {
  return diagnostics.map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n  ');
    if (!diagnostic.file || diagnostic.start === undefined) return `${message} (TS${diagnostic.code})`;
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const file = relative(root, diagnostic.file.fileName) || diagnostic.file.fileName;
    return `${file}:${line + 1}:${character + 1}: ${message} (TS${diagnostic.code})`;
  });
}
