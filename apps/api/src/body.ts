/**
 * Request bodies: JSON (parsed here, errors with line and column) and YAML (kept as raw text,
 * parsed by the route with core's `parseSpecText`, whose errors name the line). Nothing else is
 * accepted: other content types answer 415.
 */
import { parseSpecText } from '@rdlab/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { apiError } from './errors.js';

export const YAML_CONTENT_TYPES = ['application/yaml', 'text/yaml', 'application/x-yaml'];

/** Raw YAML text as the YAML parser leaves it in `request.body`. */
class YamlText {
  constructor(readonly text: string) {}
}

export function installBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJson(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser(YAML_CONTENT_TYPES, { parseAs: 'string' }, (_req, body, done) => {
    done(null, new YamlText(body as string));
  });
}

/**
 * JSON.parse, with a syntax error's place as line and column: from V8's "at position N" where
 * it gives one, else from the YAML parser (a superset of JSON) reading the same text.
 */
function parseJson(text: string): unknown {
  if (text.trim() === '') throw apiError('RDLAB_BAD_REQUEST', 'the JSON body is empty');
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = (error as Error).message;
    throw apiError(
      'RDLAB_BAD_REQUEST',
      `malformed JSON body${syntaxErrorPlace(text, reason)}: ${reason}`,
    );
  }
}

function syntaxErrorPlace(text: string, reason: string): string {
  const position = /at position (\d+)/.exec(reason)?.[1];
  if (position !== undefined) {
    const before = text.slice(0, Number(position));
    const line = before.split('\n').length;
    const column = Number(position) - before.lastIndexOf('\n');
    return ` at line ${line}, column ${column}`;
  }
  const yaml = safeParseSpecText(text);
  const place = yaml.ok
    ? null
    : /at line (\d+), column (\d+)/.exec(yaml.problems[0]?.message ?? '');
  return place ? ` at line ${place[1]}, column ${place[2]}` : '';
}

/** The spec document a request carries: the parsed JSON, or the parsed YAML text. */
export function specDocument(request: FastifyRequest): unknown {
  const body = request.body;
  if (body === undefined || body === null) {
    throw apiError(
      'RDLAB_BAD_REQUEST',
      'the request has no body: send the sweep spec as application/json or application/yaml',
    );
  }
  if (!(body instanceof YamlText)) return body;
  if (body.text.trim() === '') throw apiError('RDLAB_BAD_REQUEST', 'the YAML body is empty');
  const parsed = safeParseSpecText(body.text);
  if (!parsed.ok) {
    // The first syntax error is the cause; the parser's later ones are its cascade.
    const first = parsed.problems[0]?.message ?? 'YAML syntax error';
    throw apiError('RDLAB_BAD_REQUEST', `malformed YAML body: ${first}`, {
      problems: [{ path: '', message: first }],
    });
  }
  return parsed.value;
}

/**
 * parseSpecText, with what the YAML library throws rather than reports (an alias bomb's
 * "Excessive alias count", a stack overflow on deep nesting) as a syntax problem.
 */
function safeParseSpecText(text: string): ReturnType<typeof parseSpecText> {
  try {
    return parseSpecText(text);
  } catch (error) {
    const reason =
      error instanceof RangeError
        ? 'the document is nested too deeply'
        : /alias/i.test((error as Error).message)
          ? 'too many aliases (an alias bomb?): expand them in the file'
          : (error as Error).message.split('\n')[0];
    return { ok: false, problems: [{ path: '', value: undefined, message: reason ?? '' }] };
  }
}
