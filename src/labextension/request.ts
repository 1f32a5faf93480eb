import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The server extension's URL namespace under the Jupyter server's base_url. */
const NAMESPACE = 'vigilo';

/**
 * A failed request to the server extension or, through it, to the sidecar.
 * `status` is 0 when nothing answered (network error, Jupyter server down).
 */
export class VigiloRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message);
    this.name = 'VigiloRequestError';
  }

  /** The Jupyter server answered that no sidecar is running. */
  get sidecarNotRunning(): boolean {
    return this.code === 'sidecar_not_running';
  }
}

/** Absolute URL of a path inside the extension's namespace, e.g. `api/events`. */
export function vigiloUrl(path: string, settings: ServerConnection.ISettings = ServerConnection.makeSettings()): string {
  return URLExt.join(settings.baseUrl, NAMESPACE, path);
}

/**
 * The single request seam of the frontend: every call to the sidecar goes
 * through the Jupyter server (`<base_url>vigilo/...`), so base_url, Jupyter's
 * authentication and XSRF protection apply. Tests mock this module.
 *
 * @param path - inside the namespace: `api/metrics`, `api/status`, `start`, ...
 * @returns the parsed JSON body
 * @throws VigiloRequestError with the sidecar's or the proxy's error code
 */
export async function requestAPI<T>(
  path: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  // With JupyterLab's default `cache: 'no-store'`, ServerConnection appends a
  // bare timestamp to the query (`?limit=20&1795483230407`), which the
  // sidecar's strict query validation refuses (400 on /llm/cost, /alerts,
  // /llm/conversations/:id/summary). 'no-cache' still revalidates every time
  // (Tornado's ETag), without touching the URL.
  if (init.cache === undefined) {
    init = { ...init, cache: 'no-cache' };
  }
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(vigiloUrl(path, settings), init, settings);
  } catch (error) {
    throw new VigiloRequestError(0, 'network_error', `The Jupyter server did not answer: ${String((error as Error)?.message ?? error)}`);
  }
  const text = await response.text();
  let body: unknown = null;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const code = typeof error?.code === 'string' ? error.code : `http_${response.status}`;
    const message =
      typeof error?.message === 'string'
        ? error.message
        : `${response.status} ${response.statusText || 'error'} from ${path}`;
    throw new VigiloRequestError(response.status, code, message);
  }
  return body as T;
}
