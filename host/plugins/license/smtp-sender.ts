import nodemailer from 'nodemailer';
import type { SmtpSettings } from './mail-settings.ts';

/**
 * Sends one message through the configured SMTP server (nodemailer). A failure says whether a
 * retry can help: a 5xx answer (unknown mailbox, refused sender, failed authentication) is
 * permanent and goes straight to the dead letters; timeouts, refused connections and 4xx answers
 * are retried.
 */

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
}

export class MailSendError extends Error {
  constructor(message: string, readonly permanent: boolean) {
    super(message);
  }
}

export interface MailSender {
  send(mail: OutgoingMail): Promise<{ messageId: string }>;
  close(): void;
}

interface NodemailerError {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

/** What the operator sees of a failure: the SMTP code and answer, never the message. */
function describe(error: NodemailerError): string {
  const answer = (error.response ?? error.message ?? 'unknown error').replace(/\s+/g, ' ').trim();
  return `${error.code ?? 'ERROR'}${error.responseCode ? ` ${error.responseCode}` : ''}: ${answer}`.slice(0, 300);
}

export function smtpSender(settings: SmtpSettings): MailSender {
  const transporter = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.security === 'tls',
    requireTLS: settings.security === 'starttls',
    ignoreTLS: settings.security === 'none',
    ...(settings.auth ? { auth: settings.auth } : {}),
    tls: { minVersion: 'TLSv1.2', ...(settings.ca ? { ca: settings.ca } : {}) },
    connectionTimeout: settings.timeoutMs,
    greetingTimeout: settings.timeoutMs,
    socketTimeout: settings.timeoutMs,
    logger: false,
    debug: false,
  });
  return {
    async send(mail) {
      try {
        const info = await transporter.sendMail({ from: settings.from, to: mail.to, subject: mail.subject, text: mail.text });
        return { messageId: info.messageId };
      } catch (error) {
        const failure = error as NodemailerError;
        const permanent = typeof failure.responseCode === 'number' && failure.responseCode >= 500 && failure.responseCode < 600;
        throw new MailSendError(describe(failure), permanent);
      }
    },
    close: () => transporter.close(),
  };
}
