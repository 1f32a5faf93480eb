import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { bodyLimitBytes, directLane } from './directJson';
import { ApiError, describeZodError, errorHandler, type DiskProbe } from './errors';
import type { SidecarModule } from './module';
import { allowedMethods, buildOpenApi } from './openapi';
import { isRawRoute, type JsonRoute, type Route } from './route';
import { guard } from './security';

export interface AppOptions {
  token: string;
  version: string;
  modules: SidecarModule[];
  /** Largest accepted JSON body (default 1 MiB). */
  bodyLimit?: string | number;
  log?: (line: string) => void;
  /** The data dir: disk-full and read-only answers name it. */
  dataDir?: string;
  /** Disk checks behind those answers (tests inject a full or read-only disk). */
  diskProbe?: DiskProbe;
  /** Called on each authenticated GET but /events: someone looks (core/cadence.ts). */
  onView?: () => void;
}

function parseOrThrow(schema: JsonRoute['body'], value: unknown, where: string): unknown {
  if (!schema) {
    return value;
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ApiError('invalid_request', describeZodError(result.error, where));
  }
  return result.data;
}

function mountJson(app: Express, route: JsonRoute<any, any, any>): void {
  app[route.method](route.path, async (req: Request, res: Response, next: NextFunction) => {
    try {
      if (route.body && !req.is('application/json')) {
        throw new ApiError('unsupported_media_type', `Send the body as application/json (got "${req.headers['content-type'] ?? 'nothing'}").`);
      }
      const body = parseOrThrow(route.body, req.body, 'body');
      const query = parseOrThrow(route.query, req.query, 'query');
      const params = parseOrThrow(route.params, req.params, 'params');
      const result = await route.handler({ body, query, params, req });
      res.status(route.status ?? 200).json(result);
    } catch (error) {
      next(error);
    }
  });
}

/**
 * Build the sidecar's HTTP app from its modules. Listening is separate
 * (Sidecar.start in sidecar.ts), so tests drive the app without globals.
 */
export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(guard(options.token));
  const onView = options.onView;
  if (onView) {
    app.use((req: Request, _res: Response, next: NextFunction) => {
      if (req.method === 'GET' && req.path !== '/events') onView();
      next();
    });
  }
  app.use(express.json({ limit: options.bodyLimit ?? '1mb', strict: false, type: 'application/json' }));

  const routes: Route[] = options.modules.flatMap(m => m.routes ?? []);
  // Built on the first request and kept as its text (~200 KB): the document's object tree is not held at idle.
  let openapi: string | null = null;
  app.get('/openapi.json', (_req, res) => {
    openapi ??= JSON.stringify(buildOpenApi(routes, options.version));
    res.type('application/json').send(openapi);
  });

  for (const route of routes) {
    if (isRawRoute(route)) {
      app[route.method](route.path, async (req: Request, res: Response, next: NextFunction) => {
        try {
          await route.handler(req, res);
        } catch (error) {
          next(error);
        }
      });
    } else {
      mountJson(app, route);
    }
  }

  // A known path asked with a method it does not serve (TRACE, PATCH, DELETE...): 405 with Allow.
  const allowed = allowedMethods([...routes, { method: 'get', path: '/openapi.json' }]);
  // One route layer per path (app.all would add one per HTTP method: ~1 700 layers, each with its matcher).
  for (const [path, methods] of allowed) {
    app.route(path).all((req: Request, res: Response, next: NextFunction) => {
      res.setHeader('Allow', methods.join(', '));
      next(new ApiError('method_not_allowed', `${req.method} is not served on ${req.path}; it answers ${methods.join(', ')}.`));
    });
  }

  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(new ApiError('not_found', `No endpoint ${req.method} ${req.path}; GET /openapi.json lists them.`));
  });
  const onError = errorHandler({ log: options.log, dataDir: options.dataDir, probe: options.diskProbe });
  app.use(onError);
  // Routes declared `direct` skip Express (same guard, checks and errors): see directJson.ts.
  const direct = directLane(
    routes.filter((r): r is JsonRoute => !isRawRoute(r) && r.direct === true),
    { token: options.token, limitBytes: bodyLimitBytes(options.bodyLimit ?? '1mb'), onError }
  );
  const viaExpress = (app as unknown as { handle: (req: Request, res: Response, next?: NextFunction) => void }).handle.bind(app);
  (app as unknown as { handle: typeof viaExpress }).handle = (req, res, next) => {
    if (!direct(req, res)) {
      viaExpress(req, res, next);
    }
  };
  return app;
}
