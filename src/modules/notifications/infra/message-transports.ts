// The two ways a message leaves PayFlow: SMTP (nodemailer, SMTP_URL) and a Twilio-style HTTP SMS API
// (SMS_PROVIDER_URL). Each answers sent, retry (the failure may pass: a timeout, a 5xx, a 4xx SMTP
// reply) or rejected (it will not: a 4xx from the SMS API, a 5xx SMTP reply). Credentials in either
// URL are used, never logged nor stored in an error.
import nodemailer from 'nodemailer';

export type SendOutcome =
  | { readonly type: 'sent' }
  | { readonly type: 'retry'; readonly error: string }
  | { readonly type: 'rejected'; readonly error: string };

export interface OutgoingMessage {
  readonly recipient: string;
  readonly subject: string | null;
  readonly body: string;
}

export interface MessageTransport {
  send(message: OutgoingMessage): Promise<SendOutcome>;
  close(): void;
}

/** Error text kept on a message. */
export const errorLengthMax = 1000;
/** How much of an SMS provider's answer is kept in the error. */
export const providerAnswerLengthMax = 200;

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.trim() === '' ? 'unknown error' : text).slice(0, errorLengthMax);
}

export function smtpTransport(settings: { url: string; from: string; timeoutMs: number }): MessageTransport {
  const transporter = nodemailer.createTransport({
    url: settings.url,
    connectionTimeout: settings.timeoutMs,
    greetingTimeout: settings.timeoutMs,
    socketTimeout: settings.timeoutMs,
  });
  return {
    async send(message) {
      try {
        await transporter.sendMail({
          from: settings.from,
          to: message.recipient,
          subject: message.subject ?? '',
          text: message.body,
        });
        return { type: 'sent' };
      } catch (error) {
        const { code, responseCode } = error as { code?: string; responseCode?: number };
        // A refused login is the operator's to fix: keep the message for later. A 5xx reply to the
        // envelope or the data is the server's final word on this message.
        if (code !== 'EAUTH' && responseCode !== undefined && responseCode >= 500 && responseCode <= 599)
          return { type: 'rejected', error: errorText(error) };
        return { type: 'retry', error: errorText(error) };
      }
    },
    close: () => transporter.close(),
  };
}

/** The endpoint without its credentials, and the credentials as an HTTP Basic header. */
export function smsEndpoint(url: string): { endpoint: string; authorization: string | undefined } {
  const parsed = new URL(url);
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  const authorization =
    user === '' && password === ''
      ? undefined
      : `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  return { endpoint: parsed.toString(), authorization };
}

export function smsTransport(settings: { url: string; from: string; timeoutMs: number }): MessageTransport {
  const { endpoint, authorization } = smsEndpoint(settings.url);
  return {
    async send(message) {
      let response: Response;
      let answer: string;
      try {
        response = await fetch(endpoint, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
            ...(authorization !== undefined && { authorization }),
          },
          body: new URLSearchParams({ To: message.recipient, From: settings.from, Body: message.body }),
          redirect: 'manual',
          signal: AbortSignal.timeout(settings.timeoutMs),
        });
        answer = (await response.text()).slice(0, providerAnswerLengthMax);
      } catch (error) {
        return { type: 'retry', error: `the SMS provider did not answer: ${errorText(error)}` };
      }
      const error = `the SMS provider answered ${response.status}${answer === '' ? '' : `: ${answer}`}`;
      if (response.status >= 200 && response.status <= 299) return { type: 'sent' };
      // Too many requests or a request timeout may pass; any other 3xx/4xx will not.
      if (response.status >= 500 || response.status === 429 || response.status === 408)
        return { type: 'retry', error };
      return { type: 'rejected', error };
    },
    close: () => undefined,
  };
}
