// A checking proxy in front of s3rver, which accepts any SigV4 signature:
//   node s3_verify_proxy.js UPSTREAM_PORT PORT_FILE
// Every request's Authorization header is recomputed with the AWS SDK's own
// signer (@smithy/signature-v4, as @aws-sdk/client-s3 uses it) from the
// request as received: the method, the path as sent, the query, the signed
// headers, x-amz-content-sha256 and x-amz-date, keys S3RVER / S3RVER,
// region us-east-1. A mismatch answers 403 SignatureDoesNotMatch (naming
// the SDK's signature); a match is forwarded to s3rver on loopback.
// GET /__verified answers "CHECKED REFUSED" (counts so far), unforwarded.
'use strict';
const fs = require('fs');
const http = require('http');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Sha256 } = require('@smithy/core/checksum');

const [upstreamPort, portFile] = process.argv.slice(2);
const signer = new SignatureV4({
  service: 's3',
  region: 'us-east-1',
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  sha256: Sha256,
  uriEscapePath: false, // S3: the path is signed as sent, not encoded twice
  applyChecksum: false,
});
let checked = 0;
let refused = 0;

function refuse(res, why) {
  refused += 1;
  res.writeHead(403, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>${why}</Message></Error>`);
}

async function expected(req) {
  const m = /SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/.exec(req.headers.authorization || '');
  if (!m) return { error: 'no SigV4 Authorization header' };
  const headers = {};
  for (const h of m[1].split(';')) headers[h] = req.headers[h];
  const url = new URL(req.url, 'http://placeholder');
  const query = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const d = req.headers['x-amz-date'] || '';
  const date = new Date(Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8), +d.slice(9, 11), +d.slice(11, 13), +d.slice(13, 15)));
  const signed = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: req.headers.host, path: url.pathname, query, headers },
    { signingDate: date },
  );
  // The SDK writes ", " between the parts, the ledger ","; both are valid.
  return { mine: req.headers.authorization, theirs: signed.headers.authorization.replace(/, /g, ',') };
}

http
  .createServer(async (req, res) => {
    if (req.url === '/__verified') return res.end(`${checked} ${refused}`);
    const e = await expected(req).catch((err) => ({ error: String(err) }));
    if (e.error) return refuse(res, e.error);
    checked += 1;
    if (e.mine !== e.theirs) return refuse(res, `the AWS SDK signs this request as ${e.theirs}`);
    const up = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (u) => {
      res.writeHead(u.statusCode, u.headers);
      u.pipe(res);
    });
    up.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(up);
  })
  .listen(0, '127.0.0.1', function () {
    fs.writeFileSync(portFile + '.tmp', String(this.address().port));
    fs.renameSync(portFile + '.tmp', portFile);
  });
