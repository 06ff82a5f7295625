import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../../../core/config.ts';
import { goInstall } from '../toolchain.ts';
import type { StackService } from '../service.ts';

const MODULE = 'github.com/versity/versitygw/cmd/versitygw';

/** A client for the stack's own S3 server (path-style, local credentials). */
export function localS3Client(config: Config): S3Client {
  return new S3Client({
    endpoint: `http://127.0.0.1:${config.stack.s3Port}`,
    region: config.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: config.s3.accessKeyId, secretAccessKey: config.s3.secretAccessKey },
    maxAttempts: 1,
  });
}

export const s3Service: StackService = {
  name: 's3',
  optional: false,
  ports: (c) => [c.stack.s3Port],
  async provision(ctx) {
    await goInstall(ctx.config.stack.cacheDir, 'versitygw', MODULE, ctx.config.stack.versitygwVersion, ctx.progress);
    return undefined;
  },
  async prepare(ctx) {
    const s = ctx.config.stack;
    const bin = await goInstall(s.cacheDir, 'versitygw', MODULE, s.versitygwVersion, ctx.progress);
    const home = join(s.stateDir, 's3');
    const data = join(home, 'data');
    // Sidecar metadata files instead of xattrs: works on tmpfs, overlayfs and other filesystems without user xattrs.
    const meta = join(home, 'meta');
    mkdirSync(data, { recursive: true });
    mkdirSync(meta, { recursive: true });
    return {
      command: bin,
      args: [
        '--port',
        `127.0.0.1:${s.s3Port}`,
        '--region',
        ctx.config.s3.region,
        '--quiet',
        'posix',
        '--sidecar',
        meta,
        data,
      ],
      // Credentials via the environment, so they never show in `ps` output.
      env: {
        ...process.env,
        ROOT_ACCESS_KEY_ID: ctx.config.s3.accessKeyId,
        ROOT_SECRET_ACCESS_KEY: ctx.config.s3.secretAccessKey,
      },
      cwd: home,
    };
  },
  async healthy(config) {
    const client = localS3Client(config);
    try {
      await client.send(new ListBucketsCommand({}));
      return true;
    } catch {
      return false;
    } finally {
      client.destroy();
    }
  },
  async bootstrap(config) {
    const client = localS3Client(config);
    try {
      await client.send(new HeadBucketCommand({ Bucket: config.s3.bucket })).catch(async () => {
        await client.send(new CreateBucketCommand({ Bucket: config.s3.bucket }));
      });
    } finally {
      client.destroy();
    }
  },
  urls: (c) => ({ s3: `http://127.0.0.1:${c.stack.s3Port}` }),
};
