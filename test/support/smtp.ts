// A real SMTP server for tests (the `smtp-server` package) on a free port of 127.0.0.1: it requires
// the login given, refuses recipients on request, and keeps every message it accepted, with enough of
// the DATA parsed (unfolded headers, a quoted-printable or 7bit text body) to assert on.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  readonly envelopeFrom: string;
  readonly envelopeTo: readonly string[];
  /** Lower-case header names, values unfolded. */
  readonly headers: ReadonlyMap<string, string>;
  readonly text: string;
  readonly raw: string;
}

export interface TestSmtpServer {
  /** `smtp://user:password@127.0.0.1:<port>` */
  readonly url: string;
  readonly received: ReceivedMail[];
  /** Logins that were refused (wrong user or password). */
  readonly refusedLogins: string[];
  close(): Promise<void>;
}

function decodeQuotedPrintable(text: string): string {
  const bytes = Buffer.from(
    text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, hex: string) => `%${hex}`),
    'latin1',
  );
  return decodeURIComponent(bytes.toString('latin1'));
}

export function parseMail(raw: string): { headers: Map<string, string>; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const encoding = headers.get('content-transfer-encoding')?.toLowerCase();
  const text = encoding === 'quoted-printable' ? decodeQuotedPrintable(body) : body;
  return { headers, text: text.replace(/\r\n/g, '\n') };
}

export async function startSmtpServer(
  options: { user?: string; password?: string; refuseRecipient?: (address: string) => boolean } = {},
): Promise<TestSmtpServer> {
  const user = options.user ?? 'payflow';
  const password = options.password ?? 'smtp-secret';
  const received: ReceivedMail[] = [];
  const refusedLogins: string[] = [];
  const server = new SMTPServer({
    hideSTARTTLS: true, // plain SMTP on loopback: no self-signed certificate to distrust
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) return callback(null, { user });
      refusedLogins.push(auth.username ?? '');
      return callback(new Error('Invalid username or password'));
    },
    onRcptTo(address, _session, callback) {
      if (options.refuseRecipient?.(address.address)) {
        const error = new Error('No such user here') as Error & { responseCode: number };
        error.responseCode = 550;
        return callback(error);
      }
      return callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const { headers, text } = parseMail(raw);
        received.push({
          envelopeFrom: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          envelopeTo: session.envelope.rcptTo.map((address) => address.address),
          headers,
          text,
          raw,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    received,
    refusedLogins,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
