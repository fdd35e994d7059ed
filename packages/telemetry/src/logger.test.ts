import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, isSecretField, REDACTED, TelemetryOptionsError } from './index.js';

/** A logger writing into an array, and the joined output. */
function capture(level: 'info' | 'debug' = 'info') {
  const lines: string[] = [];
  const log = createLogger({
    name: 'rdlab-test',
    level,
    destination: { write: (l) => lines.push(l) },
  });
  return { log, text: () => lines.join(''), records: () => lines.map((l) => JSON.parse(l)) };
}

const SECRET = 'sekrit-4f1c9b';

describe('createLogger', () => {
  it('writes JSON lines with name, level and message', () => {
    const { log, records } = capture();
    log.info({ cellId: 'c0123' }, 'epoch done');
    log.debug('not written at info');
    const [line, ...rest] = records();
    assert.equal(rest.length, 0);
    assert.equal(line.name, 'rdlab-test');
    assert.equal(line.level, 30);
    assert.equal(line.msg, 'epoch done');
    assert.equal(line.cellId, 'c0123');
  });

  it('never writes a token, password, key or authorization header', () => {
    const { log, text, records } = capture();
    const error = Object.assign(new Error('upload failed'), {
      config: { headers: { Authorization: `Bearer ${SECRET}` } },
    });
    log.info({ token: SECRET }, 'a');
    log.info({ apiToken: SECRET, refresh_token: SECRET, accessToken: { value: SECRET } }, 'b');
    log.info({ headers: { authorization: `Bearer ${SECRET}`, cookie: `s=${SECRET}` } }, 'c');
    log.info({ req: { method: 'GET', headers: { authorization: `Bearer ${SECRET}` } } }, 'd');
    log.info(
      { user: { password: SECRET }, s3: { secretAccessKey: SECRET, clientSecret: SECRET } },
      'e',
    );
    log.info({ tokens: [{ sessionToken: SECRET }] }, 'f');
    log.error(error, 'g');
    log.error({ err: error }, 'h');
    log.child({ bearerToken: SECRET }).warn({ nested: { deeper: { idToken: SECRET } } }, 'i');
    const out = text();
    assert.equal(records().length, 9);
    assert.ok(!out.includes(SECRET), `a secret was written:\n${out}`);
    assert.ok(out.includes(REDACTED));
    assert.equal(records()[0].token, REDACTED);
  });

  it('keeps token counts, token ids and tokenizer keys, which are not secrets', () => {
    const { log, records } = capture();
    log.info({
      tokens: 1234,
      tokensPerSecond: 56.5,
      tokenIds: [50256, 318],
      tokenizer: 'tokenizers/ab12',
    });
    const [line] = records();
    assert.equal(line.tokens, 1234);
    assert.equal(line.tokensPerSecond, 56.5);
    assert.deepEqual(line.tokenIds, [50256, 318]);
    assert.equal(line.tokenizer, 'tokenizers/ab12');
  });

  it('does not change the objects it is given', () => {
    const { log } = capture();
    const fields = { token: SECRET, nested: { password: SECRET } };
    log.info(fields);
    assert.deepEqual(fields, { token: SECRET, nested: { password: SECRET } });
  });

  it('survives cycles and deep objects', () => {
    const { log, records } = capture();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { token: SECRET };
    for (let i = 0; i < 50; i++) deep = { deep };
    log.info({ cyclic, deep });
    assert.equal(records().length, 1);
  });

  it('rejects unknown options and levels with a stable code', () => {
    const invalid = (e: unknown) =>
      e instanceof TelemetryOptionsError && e.code === 'RDLAB_TELEMETRY_OPTIONS_INVALID';
    assert.throws(() => createLogger({ name: 'x', level: 'verbose' as 'info' }), invalid);
    assert.throws(() => createLogger({ name: 'x', pretty: true } as never), invalid);
    assert.throws(() => createLogger({ name: '' }), invalid);
  });
});

describe('isSecretField', () => {
  it('censors by name, sparing numeric token counts', () => {
    assert.equal(isSecretField('Authorization', 'Bearer x'), true);
    assert.equal(isSecretField('refreshToken', 'x'), true);
    assert.equal(isSecretField('token', { a: 1 }), true);
    assert.equal(isSecretField('tokensTotal', 10), false);
    assert.equal(isSecretField('tokenizerKey', 'tokenizers/ab'), false);
    assert.equal(isSecretField('cellId', 'c1'), false);
  });
});
