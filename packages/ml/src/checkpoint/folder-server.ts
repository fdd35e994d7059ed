/**
 * Test helper (not exported from the package): a folder served over HTTP on 127.0.0.1, as a
 * remote checkpoint reference is, answering Range requests and logging every request, so a test
 * can say exactly what a check read.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface FolderServer {
  /** `http://127.0.0.1:port`: `${url}/sub/folder` is that folder. */
  url: string;
  /** Each request as `path` or, for a Range request, `path start-end` (inclusive, as sent). */
  requests: string[];
  close(): Promise<void>;
}

export async function serveFolder(root: string): Promise<FolderServer> {
  const requests: string[] = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    requests.push(range ? `${path} ${range[1]}-${range[2]}` : path);
    const bytes = await readFile(join(root, path)).catch(() => null);
    if (bytes === null) return void res.writeHead(404).end();
    if (!range) return void res.writeHead(200).end(bytes);
    res.writeHead(206).end(bytes.subarray(Number(range[1]), Number(range[2]) + 1));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((done) => server.close(() => done())),
  };
}
