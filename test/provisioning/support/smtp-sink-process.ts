import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What the SMTP server received: the envelope, whether TLS was on and who authenticated, and the message. */
export interface ReceivedMail {
  to: string[];
  secure: boolean;
  user: string;
  raw: string;
  /** The text body, transfer encoding undone. */
  text: string;
}

export const testCertFile = fileURLToPath(new URL('../fixtures/smtp-test-cert.pem', import.meta.url));
const testKeyFile = fileURLToPath(new URL('../fixtures/smtp-test-key.pem', import.meta.url));

function bodyText(raw: string): string {
  const [head, ...rest] = raw.split(/\r?\n\r?\n/);
  const body = rest.join('\n\n');
  if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) {
    return body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
  if (/content-transfer-encoding:\s*base64/i.test(head)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}

/** The SMTP server of ./smtp-sink.ts as a child process of the test. */
export async function startSmtpSink(credentials: { user: string; pass: string }) {
  const child: ChildProcess = fork(fileURLToPath(new URL('./smtp-sink.ts', import.meta.url)), [testCertFile, testKeyFile, credentials.user, credentials.pass], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const received: ReceivedMail[] = [];
  const hung: string[][] = [];
  const waiters: Array<() => void> = [];
  child.on('message', (message: { type: string; to?: string[]; secure?: boolean; user?: string; raw?: string }) => {
    if (message.type === 'mail') received.push({ to: message.to!, secure: message.secure!, user: message.user!, raw: message.raw!, text: bodyText(message.raw!) });
    if (message.type === 'hung') hung.push(message.to!);
    for (const wake of waiters.splice(0)) wake();
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.on('message', (message: { type: string; port?: number }) => message.type === 'listening' && resolve(message.port!));
  });

  /** Resolves when `condition` holds, checked after every event from the server (no sleeping). */
  async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`SMTP sink: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200).unref();
      });
    }
  }

  return {
    port,
    received,
    hung,
    until,
    mailsTo: (address: string) => received.filter((mail) => mail.to.includes(address)),
    /** Sets how the server answers from now on. */
    behave(behaviour: { rcpt?: Record<string, number[]>; hangData?: boolean }): Promise<void> {
      return new Promise((resolve) => {
        const onAck = (message: { type: string }) => {
          if (message.type !== 'ack') return;
          child.off('message', onAck);
          resolve();
        };
        child.on('message', onAck);
        child.send(behaviour);
      });
    },
    stop(): Promise<void> {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    },
  };
}
