/**
 * Registers a handler for one route of @mm-backup/api's ROUTES: parameters, query and body
 * are validated with the route's schemas before the handler runs (a 400 lists every problem
 * as `errors: [{path, message}]`), and the handler's answer is validated with the route's
 * response schema before it is sent. An answer the schema refuses is the sidecar's bug: it is
 * logged with the problems and answered 500, never sent half-right; the answer that is sent
 * is the schema's output, so a field the schema does not name never leaves the sidecar.
 */
import type { RouteSchema } from '@mm-backup/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { Readable } from 'node:stream';
import { HttpError } from './errors';

/** Where invalid answers are reported (the sidecar's logger). */
export interface RouteLog {
  error(fields: Record<string, unknown>, message: string): void;
}

type In<S> = S extends z.ZodType ? z.output<S> : undefined;
// A route without a response schema answers nothing: its handler returns void.
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- a handler's return type, through the alias
type Out<S> = S extends z.ZodType ? z.input<S> : void;

export interface RouteContext<R extends RouteSchema> {
  params: In<R['params']>;
  query: In<R['query']>;
  body: In<R['body']>;
  req: FastifyRequest;
  reply: FastifyReply;
}

/** `schema.safeParse(value)`, or a 400 naming each problem (`where`, e.g. `body`, prefixes the paths in the message). */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  // An unknown key is reported at its own path, so a form can show it where it was sent.
  const errors = r.error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({
          path: [...i.path, k].map(String).join('.'),
          message: 'Unrecognized key: not a field of this request',
        }))
      : [{ path: i.path.map(String).join('.'), message: i.message }],
  );
  const msg = errors.map((e) => `${[where, e.path].filter(Boolean).join('.')}: ${e.message}`).join('; ');
  throw new HttpError(400, 'api.context.invalid_param.app_error', msg, errors);
}

export function route<R extends RouteSchema>(
  app: FastifyInstance,
  def: R,
  log: RouteLog,
  handler: (c: RouteContext<R>) => Promise<Out<R['response']>>,
): void {
  app.route({
    method: def.method,
    url: def.path,
    config: def.public ? { public: true } : {},
    handler: async (req, reply) => {
      const out = await handler(contextOf(def, req, reply));
      if (def.response === null) return undefined;
      const r = def.response.safeParse(out);
      if (!r.success) {
        log.error(
          {
            route: `${def.method} ${def.path}`,
            problems: r.error.issues.map((i) => `${i.path.map(String).join('.') || '(answer)'}: ${i.message}`),
          },
          'the sidecar built an answer that its API schema refuses; answered 500 instead',
        );
        throw new HttpError(
          500,
          'mm_backup.response.invalid',
          `the sidecar's answer to ${def.method} ${def.path} does not match its API schema (a sidecar bug); see the sidecar log`,
        );
      }
      return r.data;
    },
  });
}

function contextOf<R extends RouteSchema>(def: R, req: FastifyRequest, reply: FastifyReply): RouteContext<R> {
  return {
    params: (def.params ? parseInput(def.params, req.params, '') : undefined) as In<R['params']>,
    query: (def.query ? parseInput(def.query, req.query, '') : undefined) as In<R['query']>,
    body: (def.body ? parseInput(def.body, req.body, 'body') : undefined) as In<R['body']>,
    req,
    reply,
  };
}

/**
 * Like route, for an answer too large to hold (a manifest with a million entries): the handler
 * gives the JSON text in chunks, sent as they come. Its inputs are validated as for route; its
 * answer is not (the route's schema must be a free-form document). A failure before the first
 * chunk is answered as usual; one after it cuts the connection, so the client never takes a
 * truncated document for a whole one.
 */
export function streamedRoute<R extends RouteSchema>(
  app: FastifyInstance,
  def: R,
  handler: (c: RouteContext<R>) => Promise<AsyncIterable<string>>,
): void {
  app.route({
    method: def.method,
    url: def.path,
    config: def.public ? { public: true } : {},
    handler: async (req, reply) => {
      const chunks = (await handler(contextOf(def, req, reply)))[Symbol.asyncIterator]();
      // The first chunk is read here, so that errors up to it are answered with a status.
      const first = await chunks.next();
      async function* rest(): AsyncGenerator<string> {
        try {
          if (first.done) return;
          yield first.value;
          for (let r = await chunks.next(); !r.done; r = await chunks.next()) yield r.value;
        } finally {
          // Stopping early (the client went away) ends the handler's chunks, closing what they read.
          await chunks.return?.();
        }
      }
      const body = Readable.from(rest(), { objectMode: false });
      return reply.type('application/json; charset=utf-8').send(body);
    },
  });
}
