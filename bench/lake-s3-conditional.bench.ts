import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../infra/config.ts';
import { testStackProfile } from '../infra/stack/profile.ts';
import { s3ClientFromConfig } from '../lake/storage/s3.ts';

/**
 * Does the S3 server enforce conditional PUTs atomically? Fires `writers` concurrent PUTs with
 * `If-None-Match: *` (and, separately, `If-Match: <etag>`) at one fresh key per round and counts rounds in
 * which more than one PUT was acknowledged. Any such round means the manifest must not rely on them.
 * Needs the test stack: `node --import tsx bench/lake-s3-conditional.bench.ts [rounds] [writers]`
 */
const ROUNDS = Number(process.argv[2] ?? 60);
const WRITERS = Number(process.argv[3] ?? 16);
const config = loadConfig({ overrides: testStackProfile() });
const s3 = s3ClientFromConfig(config.s3);
const Bucket = config.s3.bucket;
const prefix = `bench-conditional-${randomBytes(4).toString('hex')}/`;

let noneMatchMulti = 0;
let ifMatchMulti = 0;
let torn = 0;
for (let round = 0; round < ROUNDS; round++) {
  const Key = `${prefix}${round}`;
  const pad = 'x'.repeat(round % 2 ? 200_000 : 10);
  const puts = await Promise.allSettled(
    Array.from({ length: WRITERS }, (_, i) =>
      s3.send(new PutObjectCommand({ Bucket, Key, Body: `w${i}|${pad}`, IfNoneMatch: '*' })),
    ),
  );
  if (puts.filter((p) => p.status === 'fulfilled').length > 1) noneMatchMulti++;
  try {
    await (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToString();
  } catch {
    torn++;
  }
  const etag = (await s3.send(new PutObjectCommand({ Bucket, Key: `${Key}-m`, Body: 'base' }))).ETag;
  const cas = await Promise.allSettled(
    Array.from({ length: WRITERS }, (_, i) =>
      s3.send(new PutObjectCommand({ Bucket, Key: `${Key}-m`, Body: `m${i}`, IfMatch: etag })),
    ),
  );
  if (cas.filter((p) => p.status === 'fulfilled').length > 1) ifMatchMulti++;
}
console.log(`${config.s3.endpoint}: ${ROUNDS} rounds x ${WRITERS} concurrent conditional PUTs per key`);
console.log(`If-None-Match: *   rounds with more than one winner: ${noneMatchMulti}`);
console.log(`If-Match: <etag>   rounds with more than one winner: ${ifMatchMulti}`);
console.log(`GETs right after a round that failed (checksum mismatch etc.): ${torn}`);
const listed = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: prefix }));
for (const o of listed.Contents ?? []) await s3.send(new DeleteObjectCommand({ Bucket, Key: o.Key! }));
s3.destroy();
