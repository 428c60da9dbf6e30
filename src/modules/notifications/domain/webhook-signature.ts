// The one implementation of Standard Webhooks signing and verification lives in the client SDK
// (sdk/src/webhooks.ts), so merchants and PayFlow's sender use the same code.
export * from '../../../../sdk/src/webhooks.ts';
