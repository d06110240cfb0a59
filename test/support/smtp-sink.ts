/**
 * A real SMTP server on a random loopback port (the `smtp-server` package) that accepts every mail
 * and hands each one to the test with its envelope, parsed headers and body. No TLS (STARTTLS is not
 * offered), any login accepted. It decodes nothing: tests send ASCII text, which stays 7-bit.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { type MailHeaders, parseMailHeaders } from '../../src/gateway/platforms/email/mail-headers.ts';
import { Inbox } from './inbox.ts';

export interface ReceivedMail {
  from: string;
  to: string[];
  headers: MailHeaders;
  body: string;
}

export class SmtpSink {
  readonly mails: Inbox<ReceivedMail>;
  readonly port: number;
  readonly #server: SMTPServer;

  private constructor(server: SMTPServer, port: number, mails: Inbox<ReceivedMail>) {
    this.#server = server;
    this.port = port;
    this.mails = mails;
  }

  static async start(): Promise<SmtpSink> {
    const mails = new Inbox<ReceivedMail>();
    const server = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      authOptional: true,
      onAuth: (_auth, _session, callback) => callback(null, { user: 'ok' }),
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8').replace(/\r\n/g, '\n');
          const split = raw.indexOf('\n\n');
          const mail: ReceivedMail = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            headers: parseMailHeaders(raw.slice(0, split)),
            body: raw.slice(split + 2),
          };
          mails.push(mail);
          callback();
        });
      },
      logger: false,
    });
    server.listen(0, '127.0.0.1');
    await once(server.server, 'listening');
    return new SmtpSink(server, (server.server.address() as AddressInfo).port, mails);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
