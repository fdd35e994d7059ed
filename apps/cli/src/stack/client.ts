/**
 * A small client of the rdlab API (any deployment: the embedded stack or a cluster), for
 * `rdlab submit|status|results|cancel|demo`. Errors come back as {@link CliError}s carrying the
 * API's stable code and message.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { CliError, EXIT } from '../errors.js';

export interface ExperimentView {
  id: string;
  name: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'partial';
  cellCount: number;
  progress?: {
    stages?: Record<string, Record<string, number>>;
    cells?: Record<string, number>;
    etaSeconds?: number | null;
  };
  error?: string | null;
  [field: string]: unknown;
}

export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'partial']);

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  /** From flags, else RDLAB_API / RDLAB_TOKEN. */
  static from(options: { api?: string; token?: string }, env = process.env): ApiClient {
    const api = options.api ?? env.RDLAB_API;
    const token = options.token ?? env.RDLAB_TOKEN;
    if (!api)
      throw new CliError('no API: give --api <url> or set RDLAB_API (rdlab up prints both)');
    if (!token) throw new CliError('no token: give --token <token> or set RDLAB_TOKEN');
    return new ApiClient(api.replace(/\/+$/, ''), token);
  }

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${this.token}`, ...(init.headers ?? {}) },
      });
    } catch (error) {
      throw new CliError(
        `cannot reach the API at ${this.baseUrl}: ${(error as Error).message}`,
        EXIT.failure,
      );
    }
    if (!response.ok) {
      const body = (await response.json().catch(() => null)) as {
        error?: {
          code?: string;
          message?: string;
          details?: { problems?: Array<{ path?: string; message?: string }> };
        };
      } | null;
      const e = body?.error;
      const problems = e?.details?.problems?.map((p) => `\n  ${p.path || '/'}: ${p.message}`) ?? [];
      throw new CliError(
        `${e?.code ?? `HTTP ${response.status}`}: ${e?.message ?? response.statusText}${problems.join('')}`,
        response.status >= 500 ? EXIT.failure : EXIT.usage,
      );
    }
    return response;
  }

  async json<T>(path: string, init?: RequestInit): Promise<T> {
    return (await (await this.request(path, init)).json()) as T;
  }

  submit(spec: unknown, options: { dryRun?: boolean; idempotencyKey?: string } = {}) {
    return this.json<{ id?: string; cells: unknown[]; plan: unknown }>(
      `/v1/experiments${options.dryRun ? '?dryRun=true' : ''}`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}),
        },
        body: JSON.stringify(spec),
      },
    );
  }

  experiment(id: string) {
    return this.json<ExperimentView>(`/v1/experiments/${encodeURIComponent(id)}`);
  }

  cancel(id: string) {
    return this.json<ExperimentView>(`/v1/experiments/${encodeURIComponent(id)}/cancel`, {
      method: 'POST',
    });
  }

  async results(id: string, format: 'json' | 'csv') {
    const response = await this.request(
      `/v1/experiments/${encodeURIComponent(id)}/results${format === 'csv' ? '?format=csv' : ''}`,
    );
    return format === 'csv' ? response.text() : response.json();
  }

  /** Polls until the experiment ends, calling `onUpdate` with each view. */
  async wait(id: string, onUpdate?: (view: ExperimentView) => void, intervalMs = 1000) {
    for (;;) {
      const view = await this.experiment(id);
      onUpdate?.(view);
      if (TERMINAL.has(view.status)) return view;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

const LOCAL = (ref: string) =>
  !/^(builtin:|s3:\/\/|https?:\/\/|file:\/\/)/.test(ref) && !isAbsolute(ref);

/**
 * A spec file as the API takes it: its relative dataset and checkpoint paths made absolute
 * against the file's folder (as `rdlab run` resolves them), since the workers do not know it.
 */
export async function readSpecForSubmission(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let spec: Record<string, unknown>;
  try {
    spec = parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new CliError(`${file}: ${(error as Error).message}`);
  }
  if (spec === null || typeof spec !== 'object')
    throw new CliError(`${file}: not a YAML or JSON object`);
  const dir = dirname(resolve(file));
  const absolute = (holder: unknown, field: string) => {
    const h = holder as Record<string, unknown> | undefined;
    const ref = h?.[field];
    if (typeof ref === 'string' && LOCAL(ref))
      (h as Record<string, unknown>)[field] = resolve(dir, ref);
  };
  const get = (o: unknown, key: string) => (o as Record<string, unknown> | undefined)?.[key];
  for (const dataset of (spec.datasets as unknown[]) ?? []) absolute(dataset, 'source');
  absolute(get(spec.behavior, 'model'), 'checkpoint');
  absolute(get(spec.behavior, 'tokenizer'), 'checkpoint');
  absolute(get(spec.rewardModel, 'model'), 'checkpoint');
  for (const target of (Array.isArray(spec.targets) ? spec.targets : []) as unknown[])
    absolute(get(target, 'model'), 'checkpoint');
  return spec;
}
