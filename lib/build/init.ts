import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AlgaError } from '../errors/index.ts';

const templatesDir = fileURLToPath(new URL('../../sdk/templates/', import.meta.url));
const runtimeSdkEntry = fileURLToPath(new URL('../../sdk/runtime/index.ts', import.meta.url));
const iframeSdkEntry = fileURLToPath(new URL('../../sdk/iframe/index.ts', import.meta.url));

export interface InitOptions {
  /** The folder to create; its last segment names the extension. */
  targetDir: string;
  template: string;
  /** Manifest `name`; default `com.<publisher>.<folder name>`. */
  id?: string;
  publisher?: string;
}

export interface InitResult {
  projectDir: string;
  files: string[];
  id: string;
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
  if (existsSync(projectDir) && readdirSync(projectDir).length > 0) throw new AlgaError('E_INIT_TARGET_EXISTS', `${projectDir} has files in it.`);

  const toPosix = (path: string): string => path.split('\\').join('/');
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
    runtimeSdk: toPosix(relative(projectDir, runtimeSdkEntry)),
    iframeSdk: toPosix(relative(projectDir, iframeSdkEntry)),
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
  for (const { target, text } of planned) {
    const path = join(projectDir, target);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text, { flag: 'wx' });
  }
  return { projectDir, files: planned.map(({ target }) => target).sort(), id };
}

function listTemplateFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listTemplateFiles(path) : [path];
  });
}
