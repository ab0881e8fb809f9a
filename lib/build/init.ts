import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AlgaError } from '../errors/index.ts';

const templatesDir = fileURLToPath(new URL('../../sdk/templates/', import.meta.url));
const ownPackage = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string; overrides?: Record<string, string> };
/** The package a project installs to get this CLI and the SDK (`npm pack` of this repository makes it). */
export const sdkPackageName = ownPackage.name;
/** What `init` may find in a folder and still fill it: what `npm init` / `npm install` and `git init` leave. */
const toleratedEntries = new Set(['package.json', 'package-lock.json', 'node_modules', '.git', '.npmrc']);

export interface InitOptions {
  /** The folder to create; its last segment names the extension. */
  targetDir: string;
  template: string;
  /** Manifest `name`; default `com.<publisher>.<folder name>`. */
  id?: string;
  publisher?: string;
  /** The npm spec of the SDK package for package.json (a version range or a tarball path); default `^<this version>`. */
  sdkSpec?: string;
}

export interface InitResult {
  projectDir: string;
  files: string[];
  id: string;
  /** False when the SDK package is not installed in the project yet (`npm install` comes next). */
  sdkInstalled: boolean;
}

export function templateNames(): string[] {
  return readdirSync(templatesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

const slugPattern = /^[a-z][a-z0-9-]*$/;
const idPattern = /^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$/;
const publisherPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Creates a ready-to-build extension project from `sdk/templates/<template>`. In template
 * files, `{{name}}` placeholders are filled in, a `.tmpl` suffix is dropped and a leading
 * `_` becomes `.` (`_gitignore` → `.gitignore`). Refuses a target that exists and is not empty.
 */
export function initProject(options: InitOptions): InitResult {
  const templates = templateNames();
  if (!templates.includes(options.template)) {
    throw new AlgaError('E_INIT_UNKNOWN_TEMPLATE', `"${options.template}" is not one of: ${templates.join(', ')}.`);
  }
  const projectDir = resolve(options.targetDir);
  const slug = basename(projectDir);
  if (!slugPattern.test(slug)) {
    throw new AlgaError('E_INIT_INVALID_NAME', `"${slug}" must start with a lower-case letter and hold only a-z, 0-9 and "-".`);
  }
  const publisher = options.publisher ?? 'example';
  if (!publisherPattern.test(publisher)) throw new AlgaError('E_INIT_INVALID_NAME', `Publisher "${publisher}" may hold only letters, digits, ".", "_" and "-".`);
  const id = options.id ?? `com.${publisher.toLowerCase().replace(/[^a-z0-9-]/g, '-')}.${slug}`;
  if (!idPattern.test(id)) throw new AlgaError('E_INIT_INVALID_NAME', `"${id}" is not a reverse-DNS name such as com.example.hello.`);
  const present = existsSync(projectDir) ? readdirSync(projectDir) : [];
  const unexpected = present.filter((name) => !toleratedEntries.has(name));
  if (unexpected.length > 0) throw new AlgaError('E_INIT_TARGET_EXISTS', `${projectDir} has ${unexpected.slice(0, 5).join(', ')} in it (only package.json, node_modules and .git may be there).`);

  const variables: Record<string, string> = {
    id,
    slug,
    publisher,
    template: options.template,
    displayName: slug
      .split('-')
      .filter(Boolean)
      .map((word) => word[0].toUpperCase() + word.slice(1))
      .join(' '),
  };

  const templateDir = join(templatesDir, options.template);
  const planned = listTemplateFiles(templateDir).map((source) => {
    const relativeSource = relative(templateDir, source);
    const target = relativeSource
      .split(/[\\/]/)
      .map((segment) => segment.replace(/^_/, '.').replace(/\.tmpl$/, ''))
      .join('/');
    const text = readFileSync(source, 'utf8').replace(/\{\{(\w+)\}\}/g, (match, name: string) => variables[name] ?? match);
    return { target, text };
  });
  const clash = planned.find(({ target }) => existsSync(join(projectDir, target)));
  if (clash) throw new AlgaError('E_INIT_TARGET_EXISTS', `${join(projectDir, clash.target)} exists.`);
  const packageJson = { target: 'package.json', text: projectPackageJson(join(projectDir, 'package.json'), slug, sdkSpecFor(options.sdkSpec, projectDir)) };
  for (const { target, text } of [...planned, packageJson]) {
    const path = join(projectDir, target);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text, { flag: target === 'package.json' ? 'w' : 'wx' });
  }
  const sdkInstalled = existsSync(join(projectDir, 'node_modules', sdkPackageName, 'package.json'));
  return { projectDir, files: [...planned.map(({ target }) => target), 'package.json'].sort(), id, sdkInstalled };
}

/** A tarball or folder path becomes `file:<path relative to the project>`; anything else is an npm spec as given. */
function sdkSpecFor(spec: string | undefined, projectDir: string): string {
  if (spec === undefined) return `^${ownPackage.version}`;
  if (/^(\.{1,2}[\\/]|[\\/]|[A-Za-z]:[\\/])/.test(spec) || spec.endsWith('.tgz')) {
    const absolute = resolve(spec);
    if (!existsSync(absolute)) throw new AlgaError('E_CLI_USAGE', `--sdk ${spec}: ${absolute} does not exist (make the tarball with \`npm pack\` in the alga-extension-host repository).`);
    return `file:${toPosix(relative(projectDir, absolute)) || '.'}`;
  }
  return spec;
}

/** package.json for the project: the existing one (from `npm init`/`npm install`) with scripts and the SDK added where missing. */
function projectPackageJson(path: string, slug: string, sdkSpec: string): string {
  let existing: Record<string, unknown> = {};
  if (existsSync(path)) {
    try {
      existing = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new AlgaError('E_INIT_TARGET_EXISTS', `${path} is not JSON: ${(error as Error).message}`);
    }
  }
  const dependencies = (existing.dependencies ?? {}) as Record<string, string>;
  const devDependencies = (existing.devDependencies ?? {}) as Record<string, string>;
  const hasSdk = sdkPackageName in dependencies || sdkPackageName in devDependencies;
  const result = {
    name: slug,
    version: '0.1.0',
    private: true,
    ...existing,
    scripts: { build: 'alga-ext build', check: 'alga-ext check', dev: 'alga-ext dev', ...(existing.scripts as Record<string, string> | undefined) },
    ...(hasSdk ? {} : { devDependencies: { ...devDependencies, [sdkPackageName]: sdkSpec } }),
    // npm applies `overrides` only from the root project: the SDK package's own pins go here too.
    overrides: { ...ownPackage.overrides, ...(existing.overrides as Record<string, string> | undefined) },
  };
  return `${JSON.stringify(result, null, 2)}\n`;
}

function toPosix(path: string): string {
  return path.split('\\').join('/');
}

function listTemplateFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listTemplateFiles(path) : [path];
  });
}
