import { randomBytes, createHash } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, describe, expect, it } from 'vitest';
import { s3Client } from '../../../infra/clients.ts';
import { testStackConfig } from '../../support/stack.ts';
import { uniqueName } from '../../support/ids.ts';

const config = testStackConfig();
const s3 = s3Client(config);
const Bucket = config.s3.bucket;
afterAll(() => s3.destroy());

describe('S3 server (versitygw, path-style)', () => {
  it('puts, gets and deletes an object', async () => {
    const Key = `${uniqueName('stack-test')}/hello.txt`;
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'hello lake', ContentType: 'text/plain' }));
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    expect(await got.Body!.transformToString()).toBe('hello lake');
    await s3.send(new DeleteObjectCommand({ Bucket, Key }));
    await expect(s3.send(new HeadObjectCommand({ Bucket, Key }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('uploads a 12 MiB object in multipart and reads back the same bytes', async () => {
    const Key = `${uniqueName('stack-test')}/big.bin`;
    const body = randomBytes(12 * 1024 * 1024);
    const upload = new Upload({ client: s3, params: { Bucket, Key, Body: body }, partSize: 5 * 1024 * 1024 });
    let parts = 0;
    upload.on('httpUploadProgress', () => parts++);
    await upload.done();
    expect(parts).toBeGreaterThanOrEqual(3);
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
    expect(head.ContentLength).toBe(body.length);
    // A multipart ETag is md5-of-part-md5s plus "-<parts>": proof the server assembled parts, not one PUT.
    expect(head.ETag).toMatch(/-3"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    await s3.send(new DeleteObjectCommand({ Bucket, Key }));
  });
});
