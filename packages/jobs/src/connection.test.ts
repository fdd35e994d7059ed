import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { queueDepth, RedisUrlError, redisConnection } from './index.js';

describe('redisConnection', () => {
  it('gives workers maxRetriesPerRequest: null (BullMQ requires it)', () => {
    const options = redisConnection('redis://127.0.0.1:6390');
    assert.equal(options.host, '127.0.0.1');
    assert.equal(options.port, 6390);
    assert.equal(options.db, 0);
    assert.equal(options.maxRetriesPerRequest, null);
    assert.equal(options.enableOfflineQueue, true);
  });

  it('makes producers fail fast while Redis is down', () => {
    const options = redisConnection('redis://localhost', { role: 'producer' });
    assert.equal(options.port, 6379);
    assert.equal(options.enableOfflineQueue, false);
    assert.equal(options.maxRetriesPerRequest, 1);
  });

  it('reads credentials, database and TLS from the URL', () => {
    const options = redisConnection('rediss://rdlab:p%40ss@redis.example:6380/2', {
      connectionName: 'rdlab-api',
    });
    assert.deepEqual(
      { ...options, maxRetriesPerRequest: undefined, enableOfflineQueue: undefined },
      {
        host: 'redis.example',
        port: 6380,
        db: 2,
        username: 'rdlab',
        password: 'p@ss',
        tls: { servername: 'redis.example' },
        connectionName: 'rdlab-api',
        maxRetriesPerRequest: undefined,
        enableOfflineQueue: undefined,
      },
    );
  });

  it('rejects other URLs without echoing the password', () => {
    for (const url of ['http://x:6379', 'not a url', 'redis://h/x']) {
      assert.throws(
        () => redisConnection(url),
        (e: unknown) => e instanceof RedisUrlError && e.code === 'RDLAB_REDIS_URL_INVALID',
      );
    }
    assert.throws(
      () => redisConnection('http://u:secret@h'),
      (e: Error) => !e.message.includes('secret'),
    );
  });
});

describe('queueDepth', () => {
  it('counts waiting + prioritized + delayed as depth, per queue', async () => {
    const queue = {
      name: 'rdlab-stages',
      getJobCounts: async () => ({ waiting: 2, prioritized: 1, delayed: 4, active: 3, failed: 5 }),
    };
    assert.deepEqual(await queueDepth([queue]), {
      'rdlab-stages': {
        waiting: 2,
        prioritized: 1,
        delayed: 4,
        active: 3,
        failed: 5,
        completed: 0,
        waitingChildren: 0,
        depth: 7,
      },
    });
  });
});
