// s3rver (npm) on loopback for the S3 blob store's end-to-end tests:
//   node --openssl-legacy-provider s3_server.js DIR PORT_FILE BUCKET [KEY_PEM CERT_PEM]
// Serves http (or https with the key and certificate) on 127.0.0.1, an
// ephemeral port written to PORT_FILE once listening; objects under DIR;
// the bucket created at start. Credentials: s3rver's S3RVER / S3RVER.
// The service endpoint is "localhost", so BUCKET.s3.localhost is
// virtual-host addressing and s3.localhost path-style.
// --openssl-legacy-provider: s3rver makes list continuation tokens with DES,
// which Node's OpenSSL 3 refuses otherwise (a truncated listing answers 500).
// s3rver accepts any SigV4 signature without checking it, so the tests
// check the ledger's signatures against AWS's examples and the AWS SDK.
'use strict';
const fs = require('fs');
const S3rver = require('s3rver');

const [dir, portFile, bucket, keyFile, certFile] = process.argv.slice(2);
const options = {
  address: '127.0.0.1',
  port: 0,
  directory: dir,
  silent: true,
  serviceEndpoint: 'localhost',
  configureBuckets: [{ name: bucket }],
};
if (keyFile && certFile) {
  options.key = fs.readFileSync(keyFile);
  options.cert = fs.readFileSync(certFile);
}
new S3rver(options).run().then(
  (addr) => fs.writeFileSync(portFile + '.tmp', String(addr.port)) || fs.renameSync(portFile + '.tmp', portFile),
  (err) => {
    console.error('s3rver: ' + err.message);
    process.exit(1);
  },
);
