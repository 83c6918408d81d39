/**
 * Sending one alert to its target. Webhooks (plain JSON, Slack, Teams) are an HTTP(S)
 * POST with a timeout; a non-2xx answer is a failure. E-mail goes through nodemailer:
 * `smtps://` is TLS from the first byte, `smtp://` must upgrade with STARTTLS before
 * the credentials in the URL are sent (requireTLS). Errors never carry the URL.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AlertSecret, ResolvedAlertRoute } from '@decnet/api';
import { createTransport } from 'nodemailer';
import { emailMessage, slackBody, teamsBody, webhookBody, type Alert } from './alert-core.js';

export interface SendOptions {
  timeoutMs?: number;
}

export class DeliveryError extends Error {
  constructor(
    message: string,
    /** a 4xx other than 408/429: retrying the same request will not help */
    readonly permanent = false,
  ) {
    super(message);
  }
}

/** The body and headers a webhook-like target receives (pure; exported for tests). */
export function webhookRequest(a: Alert, route: Pick<ResolvedAlertRoute, 'type'>, secret: AlertSecret): { body: string; headers: Record<string, string> } {
  const payload = route.type === 'slack' ? slackBody(a) : route.type === 'teams' ? teamsBody(a) : webhookBody(a);
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'decnet-alerts/1',
    'x-decnet-alert-id': a.id,
  };
  if (route.type === 'webhook' && secret.secret !== undefined) headers['x-decnet-signature'] = `sha256=${createHmac('sha256', secret.secret).update(body).digest('hex')}`;
  return { body, headers };
}

function post(url: URL, body: string, headers: Record<string, string>, tlsVerify: boolean, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) }, timeout: timeoutMs, ...(url.protocol === 'https:' ? { rejectUnauthorized: tlsVerify } : {}) },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', (e) => reject(new DeliveryError(`response failed: ${e.message}`)));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => reject(new DeliveryError(`${url.protocol}//${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    req.end(body);
  });
}

async function sendWebhook(a: Alert, route: ResolvedAlertRoute, secret: AlertSecret, timeoutMs: number): Promise<void> {
  const { body, headers } = webhookRequest(a, route, secret);
  const url = new URL(secret.url);
  const status = await post(url, body, headers, route.tlsVerify, timeoutMs);
  if (status >= 200 && status < 300) return;
  throw new DeliveryError(`${url.hostname} answered HTTP ${status}`, status >= 400 && status < 500 && status !== 408 && status !== 429);
}

async function sendEmail(a: Alert, route: ResolvedAlertRoute, secret: AlertSecret, timeoutMs: number): Promise<void> {
  const url = new URL(secret.url);
  const secure = url.protocol === 'smtps:';
  const transport = createTransport({
    host: url.hostname,
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    requireTLS: !secure,
    ...(url.username ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
    tls: { rejectUnauthorized: route.tlsVerify, servername: url.hostname },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const m = emailMessage(a);
  try {
    await transport.sendMail({ from: route.from, to: route.to, subject: m.subject, text: m.text, headers: { 'X-Decnet-Alert-Id': a.id }, messageId: `<${a.id}@decnet>` });
  } catch (err) {
    const e = err as { responseCode?: number; code?: string; message?: string };
    const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode !== 535 ? false : e.code === 'EAUTH';
    throw new DeliveryError(`${url.hostname}:${url.port || (secure ? 465 : 587)}: ${e.code ?? ''} ${e.responseCode ?? ''} ${(e.message ?? '').split('\n')[0]?.slice(0, 200) ?? ''}`.replace(/\s+/g, ' ').trim(), permanent);
  } finally {
    transport.close();
  }
}

/** Sends one alert; throws DeliveryError on any failure. */
export async function sendAlert(a: Alert, route: ResolvedAlertRoute, secret: AlertSecret, opts: SendOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  if (route.type === 'email') return sendEmail(a, route, secret, timeoutMs);
  return sendWebhook(a, route, secret, timeoutMs);
}
