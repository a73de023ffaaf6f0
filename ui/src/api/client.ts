// One HTTP client for the API: JSON over POST with the Bearer token; a refusal becomes an ApiError
// carrying the server's `detail` and `field` (api/errors.py), so pages can show them as they are.

export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;
  readonly field: string | null;

  constructor(status: number, detail: string, field: string | null = null) {
    super(field && !detail.startsWith(field) ? `${field}: ${detail}` : detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.field = field;
  }
}

export type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export class ApiClient {
  constructor(
    private readonly token: string,
    private readonly baseUrl = "",
    private readonly fetchImpl: Fetch = (input, init) => fetch(input, init),
  ) {}

  post<T>(path: string, body: unknown = {}, signal?: AbortSignal): Promise<T> {
    return this.send(path, { method: "POST", body: JSON.stringify(body), signal });
  }

  /** A GET with query parameters (the metrics endpoints); unset parameters are left out. */
  get<T>(path: string, params: QueryParams = {}, signal?: AbortSignal): Promise<T> {
    return this.send(withQuery(path, params), { method: "GET", signal });
  }

  /** A GET whose answer is a file (a log download), with the token in its header, as every call. */
  async getBlob(path: string, params: QueryParams = {}, signal?: AbortSignal): Promise<Blob> {
    return (await this.respond(withQuery(path, params), { method: "GET", signal })).blob();
  }

  private async send<T>(path: string, init: { method: string; body?: string; signal?: AbortSignal }): Promise<T> {
    return (await (await this.respond(path, init)).json()) as T;
  }

  private async respond(path: string, init: { method: string; body?: string; signal?: AbortSignal }): Promise<Response> {
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, {
        ...init,
        headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") throw error;
      throw new ApiError(0, `cannot reach the server: ${String(error)}`);
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }
}

type QueryParams = Record<string, string | number | boolean | null | undefined>;

function withQuery(path: string, params: QueryParams): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined) query.set(name, String(value));
  }
  const search = query.toString();
  return search ? `${path}?${search}` : path;
}

async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { detail?: unknown; field?: unknown };
    if (typeof body.detail === "string") {
      return new ApiError(response.status, body.detail, typeof body.field === "string" ? body.field : null);
    }
  } catch {
    // Not JSON (a proxy's page, say): the status line is all there is to say.
  }
  return new ApiError(response.status, `${response.status} ${response.statusText || "error"}`.trim());
}
