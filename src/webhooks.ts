// PayFlow's public receiver helper for webhooks (Standard Webhooks 1.0). Merchants verify a delivery
// over the raw request body:
//   import { verifyWebhook, WebhookVerificationError } from 'payflow/src/webhooks.ts';
//   verifyWebhook({ headers: request.headers, rawBody, secret: process.env.PAYFLOW_WEBHOOK_SECRET! });
export {
  generateWebhookSecret,
  signWebhook,
  verifyWebhook,
  WebhookVerificationError,
  type WebhookVerificationErrorCode,
} from './modules/notifications/index.ts';
