// The AWS SDK's own view of objects in the test bucket (@aws-sdk/client-s3,
// @aws-sdk/s3-request-presigner), independent of the ledger's S3 client:
//   node s3_presign.js presign ENDPOINT BUCKET KEY UNIX_SECONDS EXPIRES_S
//     prints the SDK's presigned GET URL signed at that time (path-style,
//     region us-east-1, keys S3RVER / S3RVER)
//   node s3_presign.js head ENDPOINT BUCKET KEY
//     prints "present SIZE" or "absent"
'use strict';
const { S3Client, GetObjectCommand, HeadObjectCommand } = require('@aws-sdk/client-s3');
const { getSignedUrl } = require('@aws-sdk/s3-request-presigner');

const [mode, endpoint, bucket, key, ...rest] = process.argv.slice(2);
const client = new S3Client({
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
});

async function main() {
  if (mode === 'presign') {
    const [unixSeconds, expiresIn] = rest.map(Number);
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
      expiresIn,
      signingDate: new Date(unixSeconds * 1000),
    });
    process.stdout.write(url + '\n');
  } else if (mode === 'head') {
    try {
      const r = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      process.stdout.write('present ' + r.ContentLength + '\n');
    } catch (e) {
      if (e.$metadata && e.$metadata.httpStatusCode === 404) process.stdout.write('absent\n');
      else throw e;
    }
  } else {
    throw new Error('unknown mode ' + mode);
  }
}
main().catch((e) => {
  console.error('s3_presign.js: ' + (e.stack || e));
  process.exit(1);
});
