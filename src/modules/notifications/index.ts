// The notifications module: signed webhooks (Standard Webhooks 1.0) to merchant endpoints.
export {
  generateWebhookSecret,
  signWebhook,
  verifyWebhook,
  WebhookVerificationError,
  type WebhookVerificationErrorCode,
} from './domain/webhook-signature.ts';
