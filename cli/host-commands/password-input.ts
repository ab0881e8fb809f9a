import { readFileSync } from 'node:fs';
import { AlgaError } from '../../lib/errors/index.ts';

/**
 * A password for an operator command: the content of `--password-file`, or standard input
 * (typed without echo on a terminal, or piped). Never an argument, so it stays out of `ps` and
 * shell history. One final newline is dropped, as `alga-host setup --password-file` does.
 * (A helper for the commands in this folder; it registers no command itself.)
 */
export async function readPasswordInput(passwordFile?: string): Promise<string> {
  const text = passwordFile ? readPasswordFile(passwordFile) : process.stdin.isTTY ? await promptHidden('Password: ') : await readAll(process.stdin);
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new AlgaError('E_PASSWORD_MISSING');
  return password;
}

function readPasswordFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new AlgaError('E_PASSWORD_FILE_UNREADABLE', `${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`);
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one line from the terminal without echoing it (prompt on stderr). */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (error?: AlgaError) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (text: string) => {
      for (const char of text) {
        if (char === '\r' || char === '\n' || char === '\u0004') return finish();
        if (char === '\u0003') return finish(new AlgaError('E_PASSWORD_MISSING', 'Cancelled.'));
        typed = char === '\u007f' || char === '\b' ? [...typed].slice(0, -1).join('') : typed + char;
      }
    };
    process.stderr.write(prompt);
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}
