import type { Command } from 'commander';
import { AlgaError } from '../../lib/errors/index.ts';
import { readOptionalText, readUserFile } from '../../lib/bundle/index.ts';
import { uploadBundle } from '../../host/plugins/extensions/registry/publish-client.ts';

function progressPrinter(): (sent: number, total: number) => void {
  const tty = process.stderr.isTTY;
  let lastPercent = -1;
  return (sent, total) => {
    const percent = Math.floor((sent / total) * 100);
    if (percent === lastPercent || (!tty && percent % 25 !== 0)) return;
    lastPercent = percent;
    const line = `uploading ${(sent / 1048576).toFixed(1)} / ${(total / 1048576).toFixed(1)} MB (${percent}%)`;
    process.stderr.write(tty ? `\r${line}${percent === 100 ? '\n' : ''}` : `${line}\n`);
  };
}

export function register(program: Command): void {
  program
    .command('publish')
    .description('Upload a signed bundle to a registry; prints the published version and content hash')
    .argument('<bundle>', 'the .algabundle file (its signature file BUNDLE.sig.json beside it)')
    .requiredOption('--registry <url>', 'the host, e.g. http://127.0.0.1:8080')
    .option('--token <token>', 'publisher token (or set ALGA_REGISTRY_TOKEN)')
    .option('--signature <file>', 'signature file (default: BUNDLE.sig.json)')
    .option('--verify-build', 'first rebuild the component from the bundle\'s source.tar (`pack --with-source`) and publish only if it is byte-identical')
    .action(async (bundlePath: string, options: { registry: string; token?: string; signature?: string; verifyBuild?: boolean }) => {
      if (!/^https?:\/\/[^/]/.test(options.registry) || !URL.canParse(options.registry)) {
        throw new AlgaError('E_CLI_USAGE', `--registry must be an http(s) URL such as http://127.0.0.1:8080, got "${options.registry}".`);
      }
      const token = options.token ?? process.env.ALGA_REGISTRY_TOKEN;
      if (!token) throw new AlgaError('E_AUTH_REQUIRED', 'Pass --token or set ALGA_REGISTRY_TOKEN.');
      const bytes = readUserFile(bundlePath);
      const signaturePath = options.signature ?? `${bundlePath}.sig.json`;
      const signatureText = readOptionalText(signaturePath);
      if (signatureText === undefined) throw new AlgaError('E_SIGNATURE_MISSING', `${signaturePath} does not exist; sign the bundle with \`alga-ext sign\` first.`);
      if (options.verifyBuild) {
        const { verifyBuild, explainMismatch } = await import('../../lib/build/verify-build.ts');
        const result = await verifyBuild(bytes);
        if (!result.reproducible) throw new AlgaError('E_BUILD_NOT_REPRODUCIBLE', `${explainMismatch(result)} Not published.`);
        process.stderr.write(`reproducible: component.wasm ${result.bundleComponentHash} rebuilt byte-identical from the bundle's source.tar\n`);
      }
      let signatureFile: unknown;
      try {
        signatureFile = JSON.parse(signatureText);
      } catch {
        throw new AlgaError('E_SIGNATURE_FILE_INVALID', `${signaturePath} is not JSON.`);
      }
      const answer = await uploadBundle({ registryUrl: options.registry, token, bytes, signatureFile, onProgress: progressPrinter() });
      const { body } = answer;
      if (answer.status >= 300 || !body.contentHash) {
        const code = body.error?.code ?? 'E_REGISTRY_UPLOAD_INVALID';
        process.stderr.write(`error ${code}: ${body.error?.message ?? `The registry answered ${answer.status}.`}${body.request_id ? ` (request ${body.request_id})` : ''}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${body.created ? 'published' : 'already published'} ${body.extensionId}@${body.version} ${body.contentHash}\n`);
    });
}
