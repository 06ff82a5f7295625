import { parentPort } from 'node:worker_threads';
import { encodeBlock } from './encode-block.ts';
import type { EncodeRequest, EncodeResponse } from './encoder-pool.ts';

// The body of an encoder thread: one request at a time, answered with the Parquet bytes moved, not copied.
if (!parentPort) throw new Error('encode-worker.ts runs as a worker thread (see encoder-pool.ts)');
const port = parentPort;
port.on('message', (req: EncodeRequest) => {
  let res: EncodeResponse;
  try {
    res = { id: req.id, ok: true, result: encodeBlock(req.table, req.block, req.range, req.opts) };
  } catch (err) {
    res = { id: req.id, ok: false, message: (err as Error).message };
  }
  port.postMessage(res, res.ok ? res.result.files.map((f) => f.body.buffer as ArrayBuffer) : []);
});
port.postMessage('ready');
