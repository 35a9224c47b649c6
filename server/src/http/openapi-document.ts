// The OpenAPI 3.1 document of the plain HTTP API (`GET /openapi.json`, PROTOCOL §3.8), generated
// from the contract's procedure table and zod schemas with zod's own JSON Schema output (the
// dialect OpenAPI 3.1 uses), so it describes exactly what plain-routes.ts serves: an operation per
// procedure, its parameters or body, its answer, the errors it can meet (the relay's catalogue and
// error formatter), the proof and access-key schemes, and the SSE inbox. Why zod's converter and
// not a library: it is the schemas' own, handles every schema of the table, and adds nothing to
// install; zod-openapi's current major needs a newer Node than the relay supports, and
// trpc-to-openapi cannot describe subscriptions and speaks another error format.
import { TRPCError } from '@trpc/server';
import type { z } from 'zod';
import {
  listProcedures,
  messageIdSchema,
  relayErrors,
  type ProcedureDefinition,
  type RelayErrorReason,
} from '@deaddrop/contract';
import { RelayFault } from '../relay-error.js';
import { procedureExamples, type ProcedureExample } from './openapi-examples.js';
import { plainError } from './plain-answer.js';
import {
  PLAIN_API_PREFIX,
  jsonSchemaOf,
  routeOf,
  type JsonSchema,
  type PlainRoute,
} from './plain-routes.js';

interface Example {
  readonly example?: unknown;
}

interface MediaType extends Example {
  readonly schema: JsonSchema;
}

interface Parameter extends Example {
  readonly name: string;
  readonly in: 'query' | 'header';
  readonly required: boolean;
  readonly description?: string;
  readonly schema?: JsonSchema;
  /** For a parameter sent as JSON text (an object field). */
  readonly content?: Readonly<Record<string, MediaType>>;
  readonly style?: 'form';
  readonly explode?: boolean;
}

interface Response {
  readonly description: string;
  readonly headers?: Readonly<Record<string, { description: string; schema: JsonSchema }>>;
  readonly content?: Readonly<Record<string, MediaType>>;
}

interface Operation {
  readonly operationId: string;
  readonly summary: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly security: readonly Readonly<Record<string, readonly string[]>>[];
  readonly parameters?: readonly Parameter[];
  readonly requestBody?: {
    readonly required: boolean;
    readonly content: Readonly<Record<string, MediaType>>;
  };
  readonly responses: Readonly<Record<string, Response>>;
}

interface SecurityScheme {
  readonly type: 'apiKey';
  readonly in: 'header';
  readonly name: string;
  readonly description: string;
}

export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: {
    readonly title: string;
    readonly version: string;
    readonly description: string;
    readonly license: { readonly name: string; readonly identifier: string };
  };
  readonly servers: readonly { readonly url: string; readonly description: string }[];
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  readonly paths: Readonly<Record<string, Readonly<Partial<Record<'get' | 'post', Operation>>>>>;
  readonly components: {
    readonly schemas: Readonly<Record<string, JsonSchema>>;
    readonly securitySchemes: Readonly<Record<string, SecurityScheme>>;
  };
}

export interface OpenApiOptions {
  /** The relay's version (`info.version`). */
  readonly version: string;
  /** Whether the relay requires access keys (`DEADDROP_API_KEYS`): then the scheme is published. */
  readonly accessKeys: boolean;
  /** The procedures described: the contract's table unless a test gives another. */
  readonly table?: readonly { path: string; definition: ProcedureDefinition }[];
  readonly examples?: Readonly<Partial<Record<string, ProcedureExample>>>;
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };
const PROOF_SCHEME = 'mailboxProof';
const KEY_SCHEME = 'accessKey';

/** `directory.lookup` → `directoryLookup`: a name every client generator takes as a method. */
export function operationIdOf(path: string): string {
  return path
    .split('.')
    .map((part, index) => (index === 0 ? part : part.charAt(0).toUpperCase() + part.slice(1)))
    .join('');
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Nested procedures are tagged with their namespace; top-level ones with `mailbox` or `relay`. */
function tagOf(route: PlainRoute): string {
  const dot = route.path.indexOf('.');
  if (dot > 0) return route.path.slice(0, dot);
  return route.definition.auth === 'mailbox' ? 'mailbox' : 'relay';
}

const TAG_DESCRIPTIONS: Readonly<Record<string, string>> = {
  relay: 'Calls anyone may make (with the relay’s access key, where it asks for one).',
  mailbox: 'Calls on one’s own mailbox, each with a fresh mailbox proof.',
};

function statusOf(reason: RelayErrorReason): number {
  return plainError(new RelayFault(reason), '').status;
}

const REASONS = Object.keys(relayErrors) as RelayErrorReason[];

function reasonsWithStatus(status: number): string {
  return REASONS.filter((reason) => statusOf(reason) === status)
    .map((reason) => `\`${reason}\``)
    .join(', ');
}

function errorResponse(
  description: string,
  example: TRPCError,
  headers?: Response['headers'],
): Response {
  return {
    description,
    ...(headers === undefined ? {} : { headers }),
    content: {
      'application/json': { schema: ERROR_REF, example: plainError(example, '').body },
    },
  };
}

const RETRY_AFTER = {
  'Retry-After': {
    description: 'Whole seconds to wait before trying again (`error.retryAfterMs`, rounded up).',
    schema: { type: 'integer' as const, minimum: 1 },
  },
};

/** What the relay answers for an empty input (or, where that is valid, for `null`). */
function badInputExample(input: z.ZodType): TRPCError {
  for (const candidate of [{}, null]) {
    const result = input.safeParse(candidate);
    if (!result.success) return new TRPCError({ code: 'BAD_REQUEST', cause: result.error });
  }
  return new RelayFault('BAD_INPUT');
}

/** Every status an operation of this kind can answer besides 200, with the error body. */
function errorResponses(route: PlainRoute, accessKeys: boolean): Record<string, Response> {
  const { definition } = route;
  const responses: Record<string, Response> = {};
  if (definition.input !== undefined)
    responses['400'] = errorResponse(
      `The input fails its schema (\`BAD_INPUT\`, with the first five problems in the message) or the procedure refuses it: ${reasonsWithStatus(400)}.`,
      badInputExample(definition.input),
    );
  const keyed = definition.apiKey && accessKeys;
  if (definition.auth !== 'none' || keyed) {
    const example =
      definition.auth === 'mailbox'
        ? 'AUTH_STALE'
        : definition.auth === 'signature'
          ? 'REGISTER_BAD_SIGNATURE'
          : 'API_KEY_INVALID';
    responses['401'] = errorResponse(
      `A missing or refused proof, signature or access key: ${reasonsWithStatus(401)}.`,
      new RelayFault(example),
    );
  }
  if (route.method === 'POST')
    responses['413'] = errorResponse(
      'The body is over the relay’s limit, or the envelope over `info.limits.maxMessageBytes` (`MESSAGE_TOO_LARGE`).',
      new RelayFault('MESSAGE_TOO_LARGE', '1048577 bytes (limit 1048576)'),
    );
  responses['429'] = errorResponse(
    `Too many calls, messages or connections: ${reasonsWithStatus(429)}; wait \`retryAfterMs\`.`,
    new RelayFault('RATE_LIMITED', '50 calls a second from one address', { retryAfterMs: 20 }),
    RETRY_AFTER,
  );
  responses['4XX'] = errorResponse(
    `Another refusal of the catalogue: ${[403, 404, 409].map(reasonsWithStatus).join(', ')}.`,
    new RelayFault('AGENT_NOT_FOUND', '"carol"'),
  );
  responses['500'] = errorResponse('An internal error (`INTERNAL`).', new RelayFault('INTERNAL'));
  responses['503'] = errorResponse(
    'The relay’s store is unavailable (`STORE_UNAVAILABLE`); retry shortly.',
    new RelayFault('STORE_UNAVAILABLE'),
  );
  return responses;
}

/** How a schema is written into the document; `name` is its name should it need one. */
type SchemaOf = (schema: z.ZodType, io: 'input' | 'output', name: string) => JsonSchema;

/**
 * Turns the JSON Schemas zod writes into the document's. zod writes the definitions of recursive
 * (or registered) schemas under `$defs` with `#/$defs/…` references, and a schema that refers to
 * itself as `#`; inside the document both would point at its root. They move to
 * `components/schemas` under names unique in the document, and the references follow them.
 */
function schemaWriter(components: Record<string, JsonSchema>): SchemaOf {
  const unique = (name: string): string => {
    let candidate = name;
    for (let n = 2; candidate in components; n++) candidate = `${name}${n}`;
    // Reserved at once: a later definition of this schema must not take the name.
    components[candidate] = {};
    return candidate;
  };
  const rename = (value: unknown, names: ReadonlyMap<string, string>, self: string): unknown => {
    if (Array.isArray(value)) return value.map((item) => rename(item, names, self));
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => {
        if (key === '$ref' && inner === '#') return [key, `#/components/schemas/${self}`];
        if (key === '$ref' && typeof inner === 'string' && inner.startsWith('#/$defs/')) {
          const name = inner.slice('#/$defs/'.length);
          return [key, `#/components/schemas/${names.get(name) ?? name}`];
        }
        return [key, rename(inner, names, self)];
      }),
    );
  };
  return (schema, io, name) => {
    const { $defs = {}, ...rest } = jsonSchemaOf(schema, io);
    const selfReferring = JSON.stringify(rest).includes('"$ref":"#"');
    if (Object.keys($defs).length === 0 && !selfReferring) return rest;
    const names = new Map(Object.keys($defs).map((def) => [def, unique(def)]));
    const self = selfReferring ? unique(name) : name;
    for (const [def, definition] of Object.entries($defs))
      components[names.get(def) ?? def] = rename(definition, names, self) as JsonSchema;
    const written = rename(rest, names, self) as JsonSchema;
    if (!selfReferring) return written;
    components[self] = written;
    return { $ref: `#/components/schemas/${self}` };
  };
}

const QUERY_RULES =
  'Each input field is a query parameter: a number or boolean field spelled as in JSON (`limit=50`, `true`), ' +
  'an array field as the parameter repeated (`ids=a&ids=b`), an object field as JSON text, anything else as the text itself.';

function parametersOf(
  route: PlainRoute,
  schemaOf: SchemaOf,
  example: ProcedureExample | undefined,
): Parameter[] {
  const input =
    route.fields === null || route.definition.input === undefined
      ? null
      : schemaOf(route.definition.input, 'input', `${capitalised(operationIdOf(route.path))}Input`);
  const object = input?.anyOf?.find((member) => member.properties !== undefined) ?? input;
  const required = new Set(object?.required ?? []);
  const exampleInput =
    typeof example?.input === 'object' && example.input !== null
      ? (example.input as Record<string, unknown>)
      : {};
  const parameters = Object.entries(object?.properties ?? {}).map(([name, property]): Parameter => {
    const schema = typeof property === 'boolean' ? {} : property;
    const isObject = schema.type === 'object';
    return {
      name,
      in: 'query',
      required: required.has(name),
      ...(schema.description === undefined ? {} : { description: schema.description }),
      ...(isObject
        ? { content: { 'application/json': { schema } } }
        : {
            schema,
            ...(schema.type === 'array' ? { style: 'form' as const, explode: true } : {}),
          }),
      ...(name in exampleInput ? { example: exampleInput[name] } : {}),
    };
  });
  if (route.definition.kind === 'subscription')
    parameters.push({
      name: 'Last-Event-ID',
      in: 'header',
      required: false,
      description:
        'On a reconnect: the `id:` of the last event received. The stream resumes after it; it wins over `after`.',
      schema: jsonSchemaOf(messageIdSchema, 'input'),
      ...(typeof exampleInput.after === 'string' ? { example: exampleInput.after } : {}),
    });
  return parameters;
}

function authText(route: PlainRoute, accessKeys: boolean): string {
  const { auth, apiKey } = route.definition;
  const proof =
    auth === 'mailbox'
      ? `Needs a fresh mailbox proof with scope \`${route.path}\` in the \`authorization\` header.`
      : auth === 'signature'
        ? 'Authorised by the signature in its input.'
        : 'Needs no proof.';
  const key = !apiKey
    ? ' Needs no access key.'
    : accessKeys
      ? ' Needs the relay’s access key (`x-deaddrop-api-key`).'
      : '';
  return proof + key;
}

function securityOf(
  route: PlainRoute,
  accessKeys: boolean,
): Readonly<Record<string, readonly string[]>>[] {
  const requirement: Record<string, readonly string[]> = {};
  if (route.definition.auth === 'mailbox') requirement[PROOF_SCHEME] = [];
  if (route.definition.apiKey && accessKeys) requirement[KEY_SCHEME] = [];
  return Object.keys(requirement).length === 0 ? [] : [requirement];
}

const STREAM_DESCRIPTION =
  'A `text/event-stream` (Server-Sent Events). It opens with `retry: <ms>` (the advised reconnect delay) and the ' +
  'comment `: connected`. Each message is one event without an `event:` field: `id:` the message id, `data:` the ' +
  'stored message as JSON on one line. A `: ping` comment comes every 15 s. An error that ends the stream comes as ' +
  '`event: error` with the error body as `data:`. On shutdown the stream simply ends. Reconnect with ' +
  '`Last-Event-ID` (the last `id:` received) and a fresh proof.';

function streamEventSchema(itemRef: string): JsonSchema {
  const data = (description: string, ref: string): JsonSchema => ({
    type: 'string',
    description,
    contentMediaType: 'application/json',
    contentSchema: { $ref: ref },
  });
  return {
    description:
      'One event of the stream, as an SSE parser hands it over (modelled as OpenAPI 3.2’s `itemSchema` would).',
    oneOf: [
      {
        type: 'object',
        title: 'message',
        required: ['id', 'data'],
        properties: {
          id: { type: 'string', description: 'The message id; send it back as `Last-Event-ID`.' },
          data: data('The item as JSON.', itemRef),
        },
      },
      {
        type: 'object',
        title: 'error',
        required: ['event', 'data'],
        properties: {
          event: { const: 'error' },
          data: data('The error that ended the stream, as JSON.', ERROR_REF.$ref),
        },
      },
    ],
  };
}

export function openApiDocument(options: OpenApiOptions): OpenApiDocument {
  const { version, accessKeys } = options;
  const table = options.table ?? listProcedures();
  const examples: Readonly<Partial<Record<string, ProcedureExample>>> =
    options.examples ?? procedureExamples;
  const schemas: Record<string, JsonSchema> = {
    Error: {
      type: 'object',
      description: 'Every failure (docs/PROTOCOL.md §3.7, §3.8).',
      required: ['error'],
      properties: {
        error: {
          type: 'object',
          required: ['code', 'reason', 'message'],
          properties: {
            code: {
              type: 'string',
              description: 'tRPC’s code name for the HTTP status (`NOT_FOUND`, `UNAUTHORIZED`, …).',
            },
            reason: {
              type: 'string',
              pattern: '^[A-Z_]{1,64}$',
              description: `The catalogue’s stable reason; act on this, not on the message. One of ${REASONS.map((reason) => `\`${reason}\``).join(', ')}; a newer relay may add reasons.`,
            },
            message: {
              type: 'string',
              description: 'What went wrong, in words a person can act on.',
            },
            retryAfterMs: {
              type: 'integer',
              minimum: 0,
              description: 'How long to wait before trying again, when the relay asks for a wait.',
            },
          },
        },
      },
    },
  };
  const schemaOf = schemaWriter(schemas);
  const paths: Record<string, Partial<Record<'get' | 'post', Operation>>> = {};
  const tags = new Set<string>();
  const operationIds = new Map<string, string>();
  for (const { path, definition } of table) {
    const route = routeOf(path, definition);
    const operationId = operationIdOf(path);
    const clash = operationIds.get(operationId);
    if (clash !== undefined)
      throw new Error(`${path} and ${clash} share operationId ${operationId}`);
    operationIds.set(operationId, path);
    const example = examples[path];
    const exampleOf = (value: unknown): Example => (value === undefined ? {} : { example: value });
    let success: Response;
    if (definition.kind === 'subscription') {
      const itemName = `${capitalised(operationId)}Item`;
      const eventName = `${capitalised(operationId)}Event`;
      const item = schemaOf(definition.output, 'output', itemName);
      // A self-referring item is already a component, and `item` a reference to it.
      if (item.$ref === undefined) schemas[itemName] = item;
      schemas[eventName] = streamEventSchema(item.$ref ?? `#/components/schemas/${itemName}`);
      success = {
        description: STREAM_DESCRIPTION,
        content: {
          'text/event-stream': {
            schema: { $ref: `#/components/schemas/${eventName}` },
            ...exampleOf(
              example === undefined
                ? undefined
                : {
                    id: (example.output as { id?: unknown }).id,
                    data: JSON.stringify(example.output),
                  },
            ),
          },
        },
      };
    } else {
      success = {
        description: 'The procedure’s output, as bare JSON.',
        content: {
          'application/json': {
            schema: schemaOf(definition.output, 'output', `${capitalised(operationId)}Output`),
            ...exampleOf(example?.output),
          },
        },
      };
    }
    const parameters = route.method === 'GET' ? parametersOf(route, schemaOf, example) : [];
    const body =
      route.method === 'POST' && definition.input !== undefined
        ? {
            required: !definition.input.safeParse(undefined).success,
            content: {
              'application/json': {
                schema: schemaOf(definition.input, 'input', `${capitalised(operationId)}Input`),
                ...exampleOf(example?.input),
              },
            },
          }
        : undefined;
    const tag = tagOf(route);
    tags.add(tag);
    const operation: Operation = {
      operationId,
      summary: definition.description,
      description: [
        definition.description,
        authText(route, accessKeys),
        route.method === 'GET' && route.fields !== null ? QUERY_RULES : '',
        route.method === 'POST' && definition.input !== undefined
          ? 'The input is the JSON body.'
          : '',
      ]
        .filter((text) => text !== '')
        .join(' '),
      tags: [tag],
      security: securityOf(route, accessKeys),
      ...(parameters.length === 0 ? {} : { parameters }),
      ...(body === undefined ? {} : { requestBody: body }),
      responses: { '200': success, ...errorResponses(route, accessKeys) },
    };
    paths[`${PLAIN_API_PREFIX}${path}`] = {
      [route.method === 'GET' ? 'get' : 'post']: operation,
    };
  }
  const securitySchemes: Record<string, SecurityScheme> = {
    [PROOF_SCHEME]: {
      type: 'apiKey',
      in: 'header',
      name: 'authorization',
      description:
        'A mailbox proof: `DeadDrop <b64u(UTF-8 JSON of the proof)>`, the proof being ' +
        '`{"agentId", "ts", "nonce", "scope", "sig"}` with `scope` the procedure path (`poll`, `stats`, `inbox`, …), ' +
        '`ts` the time in ms (within `info.limits.authWindowSeconds`), `nonce` 16 fresh random bytes (b64u) and ' +
        '`sig` = Ed25519(signing key, "deaddrop/auth/v1" \\0 relayId \\0 agentId \\0 ts \\0 nonce \\0 scope) (b64u). ' +
        'One proof per request, never reused (docs/PROTOCOL.md §3.4).',
    },
    ...(accessKeys
      ? {
          [KEY_SCHEME]: {
            type: 'apiKey',
            in: 'header',
            name: 'x-deaddrop-api-key',
            description:
              'One of the relay’s access keys (its operator’s `DEADDROP_API_KEYS`); every call but `info` needs it (docs/PROTOCOL.md §3.5).',
          },
        }
      : {}),
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'DeadDrop relay: plain HTTP API',
      version,
      description:
        'Every procedure of the relay’s contract, as plain HTTP and JSON (docs/PROTOCOL.md §3.8). ' +
        'Queries are `GET /v1/<procedure path>` with their input fields as query parameters, mutations ' +
        '`POST /v1/<procedure path>` with their input as a JSON body, the live inbox `GET /v1/inbox` as Server-Sent ' +
        'Events. An answer is the output as bare JSON; a failure is `{"error": {"code", "reason", "message", ' +
        '"retryAfterMs"?}}` with the HTTP status the relay’s tRPC API gives it. The relay never sees message ' +
        'content: envelopes are sealed and opened by clients (docs/PROTOCOL.md §2).',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/', description: 'The relay serving this document.' }],
    tags: [...tags].sort().map((name) => ({
      name,
      description: TAG_DESCRIPTIONS[name] ?? `The \`${name}.*\` procedures.`,
    })),
    paths,
    components: { schemas, securitySchemes },
  };
}
