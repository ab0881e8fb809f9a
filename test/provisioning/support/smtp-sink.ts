import { readFileSync } from 'node:fs';
import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server in its own process (smtp-server): STARTTLS with the test certificate,
 * AUTH required (and only over TLS), every accepted message reported to the parent over IPC.
 * The parent sets how it answers: `{ rcpt: { '<address>': [451, 451] } }` refuses the next two
 * RCPT TO for that address with 451; `{ hangData: true }` takes DATA and never answers.
 * Started by ./smtp-sink-process.ts.
 */

interface Behaviour {
  rcpt: Record<string, number[]>;
  hangData: boolean;
}

const behaviour: Behaviour = { rcpt: {}, hangData: false };
const [certFile, keyFile, user, pass] = process.argv.slice(2);

function smtpError(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

const server = new SMTPServer({
  secure: false,
  key: readFileSync(keyFile),
  cert: readFileSync(certFile),
  authMethods: ['PLAIN', 'LOGIN'],
  allowInsecureAuth: false,
  logger: false,
  onAuth(auth, _session, callback) {
    if (auth.username === user && auth.password === pass) return callback(null, { user: auth.username });
    return callback(smtpError(535, 'Authentication failed'));
  },
  onRcptTo(address, _session, callback) {
    const planned = behaviour.rcpt[address.address.toLowerCase()];
    const code = planned?.shift();
    if (code) return callback(smtpError(code, code >= 500 ? 'No such mailbox here' : 'Mailbox busy, try again later'));
    return callback();
  },
  onData(stream, session, callback) {
    let raw = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (raw += chunk));
    stream.on('end', () => {
      if (behaviour.hangData) {
        process.send?.({ type: 'hung', to: session.envelope.rcptTo.map((rcpt) => rcpt.address) });
        return; // never answers: the sender is left mid-send
      }
      process.send?.({ type: 'mail', to: session.envelope.rcptTo.map((rcpt) => rcpt.address), secure: session.secure, user: session.user, raw });
      callback(null, 'queued');
    });
  },
});

process.on('message', (message: Partial<Behaviour>) => {
  if (message.rcpt) Object.assign(behaviour.rcpt, message.rcpt);
  if (message.hangData !== undefined) behaviour.hangData = message.hangData;
  process.send?.({ type: 'ack' });
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'listening', port: (server.server.address() as { port: number }).port });
});
process.on('disconnect', () => process.exit(0));
