/**
 * The API client of the dashboard: every request carries `Authorization: Bearer <token>`, every
 * error reply (`{"error": {"code", "message", "details"}}`) becomes an {@link ApiError}, and a
 * 401 calls `onUnauthorized` (the app sends the researcher back to the token page).
 *
 * ```ts
 * const api = new ApiClient({ token: getToken, onUnauthorized: (m) => router.go('/token') });
 * const { items } = await api.experiments({ limit: 20 });
 * ```
 */
import type {
  CellMetrics,
  CellSummary,
  Experiment,
  ExperimentDetail,
  ExperimentPage,
  ExperimentStatus,
  QueueCounts,
  Results,
  Submitted,
  WorkerView,
} from './types.js';

export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when the API did not answer. */
    readonly status: number,
    /** `RDLAB_…`, or `RDLAB_NETWORK` when the API did not answer. */
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiClientOptions {
  /** Where the API is; '' for the page's own origin (the API serves the dashboard). */
  baseUrl?: string;
  token: () => string | null;
  /** Called with the API's message on a 401, before the error is thrown. */
  onUnauthorized: (message: string) => void;
}

export class ApiClient {
  private readonly baseUrl: string;

  constructor(private readonly options: ApiClientOptions) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/$/, '');
  }

  /** A request with the bearer token; throws {@link ApiError} on anything but 2xx. */
  async fetch(
    path: string,
    init: RequestInit = {},
    token = this.options.token(),
  ): Promise<Response> {
    const headers = new Headers(init.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    if (!headers.has('accept')) headers.set('accept', 'application/json');
    let response: Response;
    try {
      response = await fetch(this.baseUrl + path, { ...init, headers });
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw new ApiError(
        0,
        'RDLAB_NETWORK',
        `the API did not answer (${String((error as Error).message ?? error)})`,
      );
    }
    if (response.ok) return response;
    const error = await errorOf(response);
    if (error.status === 401 && token === this.options.token())
      this.options.onUnauthorized(error.message);
    throw error;
  }

  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    return (await (await this.fetch(path, init)).json()) as T;
  }

  /** Whether a token is accepted (without the 401 redirect); throws the API's error if not. */
  async checkToken(token: string): Promise<void> {
    await this.fetch('/v1/experiments?limit=1', {}, token);
  }

  experiments(
    query: { limit?: number; cursor?: string | null; status?: ExperimentStatus | '' } = {},
  ) {
    const params = new URLSearchParams();
    if (query.limit) params.set('limit', String(query.limit));
    if (query.cursor) params.set('cursor', query.cursor);
    if (query.status) params.set('status', query.status);
    const qs = params.toString();
    return this.json<ExperimentPage>(`/v1/experiments${qs ? `?${qs}` : ''}`);
  }

  experiment(id: string, signal?: AbortSignal) {
    return this.json<ExperimentDetail>(`/v1/experiments/${enc(id)}`, signal ? { signal } : {});
  }

  cells(id: string, signal?: AbortSignal) {
    return this.json<{ items: CellSummary[] }>(
      `/v1/experiments/${enc(id)}/cells`,
      signal ? { signal } : {},
    );
  }

  results(id: string) {
    return this.json<Results>(`/v1/experiments/${enc(id)}/results`);
  }

  async resultsCsv(id: string): Promise<string> {
    return (
      await this.fetch(`/v1/experiments/${enc(id)}/results?format=csv`, {
        headers: { accept: 'text/csv' },
      })
    ).text();
  }

  async reportHtml(id: string): Promise<string> {
    return (
      await this.fetch(`/v1/experiments/${enc(id)}/report`, { headers: { accept: 'text/html' } })
    ).text();
  }

  cancel(id: string) {
    return this.json<Experiment>(`/v1/experiments/${enc(id)}/cancel`, { method: 'POST' });
  }

  /** POST the spec as YAML (JSON is YAML too); `dryRun` validates and plans only. */
  submit(yaml: string, options: { dryRun?: boolean; idempotencyKey?: string } = {}) {
    const headers: Record<string, string> = { 'content-type': 'application/yaml' };
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    return this.json<Submitted>(`/v1/experiments${options.dryRun ? '?dryRun=true' : ''}`, {
      method: 'POST',
      headers,
      body: yaml,
    });
  }

  /** A cell's metric series; without `experimentId`, of the team's newest experiment with it. */
  metrics(cellId: string, experimentId?: string, name?: string, signal?: AbortSignal) {
    const params = new URLSearchParams();
    if (experimentId) params.set('experiment', experimentId);
    if (name) params.set('name', name);
    return this.json<CellMetrics>(
      `/v1/cells/${enc(cellId)}/metrics?${params}`,
      signal ? { signal } : {},
    );
  }

  workers() {
    return this.json<{ items: WorkerView[] }>('/v1/workers');
  }

  queue() {
    return this.json<Record<string, QueueCounts>>('/v1/queue');
  }

  /** The experiment's event stream (text/event-stream), for sse.ts. */
  events(id: string, signal: AbortSignal): Promise<Response> {
    return this.fetch(`/v1/experiments/${enc(id)}/events`, {
      signal,
      headers: { accept: 'text/event-stream' },
    });
  }
}

const enc = encodeURIComponent;

async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as {
      error?: { code?: string; message?: string; details?: Record<string, unknown> };
    };
    if (body.error?.code) {
      return new ApiError(
        response.status,
        body.error.code,
        body.error.message ?? body.error.code,
        body.error.details ?? {},
      );
    }
  } catch {
    // not the API's error shape: a proxy's page, say
  }
  return new ApiError(
    response.status,
    `HTTP_${response.status}`,
    text.slice(0, 200) || response.statusText,
  );
}
