// Signs webhook deliveries the way the payment providers do, with their own
// libraries, for the webhook end-to-end tests (tests/api/e2e_webhooks_test.cpp).
//
//   node webhook_sign.js stripe SECRET TIMESTAMP < body
//     prints the Stripe-Signature header made by the stripe package's
//     webhooks.generateTestHeaderString.
//   node webhook_sign.js square SIGNATURE_KEY NOTIFICATION_URL < body
//     prints the x-square-hmacsha256-signature value, after the square
//     package's WebhooksHelper confirms it is what Square would send (exit 3
//     if it does not).
'use strict';
const crypto = require('crypto');

const [, , provider, key, extra] = process.argv;
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const body = Buffer.concat(chunks).toString('utf8');
  if (provider === 'stripe') {
    const Stripe = require('stripe');
    const stripe = new Stripe('sk_test_unused');
    process.stdout.write(stripe.webhooks.generateTestHeaderString({ payload: body, secret: key, timestamp: Number(extra) }));
  } else if (provider === 'square') {
    const { WebhooksHelper } = require('square');
    const signature = crypto.createHmac('sha256', key).update(extra + body).digest('base64');
    if (!WebhooksHelper.isValidWebhookEventSignature(body, signature, key, extra)) process.exit(3);
    process.stdout.write(signature);
  } else {
    process.stderr.write('usage: webhook_sign.js stripe|square KEY TIMESTAMP|URL < body\n');
    process.exit(2);
  }
});
