// The OpenAPI document of the plain HTTP API (`GET /openapi.json`, PROTOCOL §3.8): valid under a
// standard linter (Redocly's CLI, pinned, run offline, its examples checked against the schemas),
// an operation for every procedure of the table with the method the plain API serves it by —
// including a procedure a test adds to the table, with no other change — and examples the
// contract's own schemas accept.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { listProcedures, procedures, type ProcedureDefinition } from '@deaddrop/contract';
import { repoRoot } from '../../scripts/docs/render-docs.js';
import { procedureExamples } from '../src/http/openapi-examples.js';
import {
  openApiDocument,
  operationIdOf,
  type OpenApiDocument,
} from '../src/http/openapi-document.js';
import { plainRoutes } from '../src/http/plain-routes.js';
import { startTestRelay, type TestRelay } from './support/relay-harness.js';

const REDOCLY = join(repoRoot, 'node_modules', '.bin', 'redocly');
const REDOCLY_CONFIG = `extends:
  - recommended
telemetry: off
rules:
  no-invalid-media-type-examples: error
  no-invalid-parameter-examples: error
`;

interface LintProblem {
  readonly ruleId: string;
  readonly severity: string;
  readonly message: string;
  readonly location: readonly { readonly pointer: string }[];
}

interface LintReport {
  readonly totals: { readonly errors: number; readonly warnings: number };
  readonly problems: readonly LintProblem[];
}

let work: string;

/** Redocly's verdict on `document`: offline (no telemetry, no update check), as JSON. */
function lint(document: unknown, name: string): LintReport {
  const file = join(work, `${name}.json`);
  writeFileSync(file, JSON.stringify(document));
  const run = spawnSync(
    REDOCLY,
    ['lint', file, '--format=json', `--config=${join(work, 'redocly.yaml')}`],
    {
      encoding: 'utf8',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      timeout: 60_000,
    },
  );
  try {
    return JSON.parse(run.stdout) as LintReport;
  } catch {
    throw new Error(`redocly gave no report (status ${run.status}): ${run.stderr}`);
  }
}

function problems(report: LintReport): string[] {
  return report.problems.map(
    (problem) =>
      `${problem.severity} ${problem.ruleId}: ${problem.message} at ${problem.location[0]?.pointer ?? '?'}`,
  );
}

const open = openApiDocument({ version: '0.0.0-test', accessKeys: false });
const keyed = openApiDocument({ version: '0.0.0-test', accessKeys: true });

function operationOf(document: OpenApiDocument, path: string, method: 'get' | 'post') {
  return document.paths[`/v1/${path}`]?.[method];
}

describe('the OpenAPI document', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'deaddrop-openapi-'));
    writeFileSync(join(work, 'redocly.yaml'), REDOCLY_CONFIG);
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it.each([
    ['without access keys', open],
    ['with access keys', keyed],
  ] as const)('passes Redocly’s recommended rules %s, examples included', (name, document) => {
    const report = lint(document, name.replaceAll(' ', '-'));
    expect(problems(report)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('fails the lint when an example contradicts its schema (the check is live)', () => {
    const broken = structuredClone(open) as unknown as {
      paths: Record<
        string,
        { post: { responses: Record<string, { content: Record<string, { example: unknown }> }> } }
      >;
    };
    const media = broken.paths['/v1/send']?.post.responses['200']?.content['application/json'];
    if (media === undefined) throw new Error('no send answer in the document');
    media.example = { ...(media.example as object), duplicate: 'no' };
    const report = lint(broken, 'broken');
    expect(report.totals.errors).toBeGreaterThan(0);
    expect(report.problems.map((problem) => problem.ruleId)).toContain(
      'no-invalid-media-type-examples',
    );
  });

  it('has an operation for every procedure of the table, by the plain API’s method, and no other', () => {
    const routes = plainRoutes();
    const expected = listProcedures().map(({ path }) => {
      const route = routes.get(`/v1/${path}`);
      return `${route?.method.toLowerCase() ?? '?'} /v1/${path} ${operationIdOf(path)}`;
    });
    const actual = Object.entries(open.paths).flatMap(([url, item]) =>
      Object.entries(item).map(
        ([method, operation]) => `${method} ${url} ${operation.operationId}`,
      ),
    );
    expect(actual.sort()).toEqual(expected.sort());
    for (const { path, definition } of listProcedures()) {
      const method = definition.kind === 'mutation' ? 'post' : 'get';
      const operation = operationOf(open, path, method);
      expect(operation?.summary, path).toBe(definition.description);
      expect(Object.keys(operation?.responses ?? {}), path).toEqual(
        expect.arrayContaining(['200', '429', '4XX', '500', '503']),
      );
    }
    expect(
      new Set(
        Object.values(open.paths).flatMap((item) => Object.values(item).map((o) => o.operationId)),
      ).size,
    ).toBe(listProcedures().length);
  });

  it('describes a procedure added to the table with no other change, as the API serves it', () => {
    const added: ProcedureDefinition = {
      kind: 'query',
      auth: 'mailbox',
      apiKey: true,
      input: z.object({ tags: z.array(z.string()).max(3), deep: z.boolean().optional() }),
      output: z.object({ count: z.number().int() }),
      description: 'A procedure only this test knows.',
    };
    type Node = { name: string; children: Node[] };
    const node: z.ZodType<Node> = z.lazy(() =>
      z.object({ name: z.string(), children: z.array(node) }),
    );
    const recursive: ProcedureDefinition = {
      kind: 'mutation',
      auth: 'none',
      apiKey: true,
      input: z.object({ root: node }),
      output: z.object({ ok: z.boolean() }),
      description: 'A tree in, to show shared definitions are hoisted.',
    };
    const table = [
      ...listProcedures(),
      { path: 'extra.count', definition: added },
      { path: 'extra.tree', definition: recursive },
      { path: 'extra.node', definition: { ...recursive, input: node } },
    ];
    const document = openApiDocument({ version: '0.0.0-test', accessKeys: false, table });
    const operation = operationOf(document, 'extra.count', 'get');
    expect(operation).toMatchObject({
      operationId: 'extraCount',
      security: [{ mailboxProof: [] }],
      parameters: [
        { name: 'tags', in: 'query', required: true, style: 'form', explode: true },
        { name: 'deep', in: 'query', required: false, schema: { type: 'boolean' } },
      ],
    });
    expect(operationOf(document, 'extra.tree', 'post')?.requestBody).toBeDefined();
    expect(
      operationOf(document, 'extra.node', 'post')?.requestBody?.content['application/json']?.schema,
    ).toEqual({ $ref: '#/components/schemas/ExtraNodeInput' });
    expect(plainRoutes(table).get('/v1/extra.count')?.method).toBe('GET');
    const report = lint(document, 'extended');
    expect(problems(report).filter((problem) => problem.startsWith('error'))).toEqual([]);
    const text = JSON.stringify(document);
    for (const [, ref] of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g))
      expect(Object.keys(document.components.schemas)).toContain(ref);
    expect(text).not.toContain('#/$defs/');
    expect(text).not.toContain('"$ref":"#"');
  });

  it('asks for the mailbox proof where the table does, and the access key where the relay does', () => {
    for (const { path, definition } of listProcedures()) {
      const method = definition.kind === 'mutation' ? 'post' : 'get';
      const proof = definition.auth === 'mailbox' ? { mailboxProof: [] } : {};
      const expectedOpen = Object.keys(proof).length === 0 ? [] : [proof];
      expect(operationOf(open, path, method)?.security, path).toEqual(expectedOpen);
      const key = definition.apiKey ? { accessKey: [] } : {};
      const both = { ...proof, ...key };
      expect(operationOf(keyed, path, method)?.security, path).toEqual(
        Object.keys(both).length === 0 ? [] : [both],
      );
    }
    expect(Object.keys(open.components.securitySchemes)).toEqual(['mailboxProof']);
    expect(keyed.components.securitySchemes).toMatchObject({
      mailboxProof: { type: 'apiKey', in: 'header', name: 'authorization' },
      accessKey: { type: 'apiKey', in: 'header', name: 'x-deaddrop-api-key' },
    });
  });

  it('holds examples the contract’s schemas accept, at least for send, poll, stats and lookup', () => {
    const definitions = new Map(listProcedures().map(({ path, definition }) => [path, definition]));
    for (const [path, example] of Object.entries(procedureExamples)) {
      const definition = definitions.get(path);
      if (definition === undefined) throw new Error(`no procedure ${path}`);
      if (definition.input !== undefined)
        expect(definition.input.safeParse(example.input).error, path).toBeUndefined();
      expect(definition.output.safeParse(example.output).error, path).toBeUndefined();
    }
    expect(Object.keys(procedureExamples)).toEqual(
      expect.arrayContaining(['send', 'poll', 'stats', 'directory.lookup']),
    );
    expect(
      operationOf(open, 'send', 'post')?.requestBody?.content['application/json']?.example,
    ).toEqual(procedureExamples.send?.input);
    expect(
      operationOf(open, 'poll', 'get')?.parameters?.map((parameter) => parameter.example),
    ).toEqual(['1796413864215-3', 50, 25_000]);
    // The inbox: one SSE event, its data the stored message as JSON text.
    const inbox = operationOf(open, 'inbox', 'get')?.responses['200']?.content?.[
      'text/event-stream'
    ];
    expect(inbox?.example).toEqual({
      id: '1796413864216-0',
      data: JSON.stringify(procedureExamples.inbox?.output),
    });
    expect(
      procedures.inbox.output.safeParse(JSON.parse((inbox?.example as { data: string }).data))
        .success,
    ).toBe(true);
  });

  describe('as a relay serves it', () => {
    let relay: TestRelay;
    let keyedRelay: TestRelay;
    beforeAll(async () => {
      [relay, keyedRelay] = await Promise.all([
        startTestRelay('embedded'),
        startTestRelay('embedded', { DEADDROP_API_KEYS: 'openapi-key-0123456789' }),
      ]);
    });
    afterAll(async () => {
      await Promise.all([relay.stop(), keyedRelay.stop()]);
    });

    it('is GET /openapi.json, as generated for the relay’s version and access keys, with no key', async () => {
      for (const [running, accessKeys] of [
        [relay, false],
        [keyedRelay, true],
      ] as const) {
        const response = await fetch(`${running.url}/openapi.json`);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^application\/json/);
        expect(await response.json()).toEqual(
          JSON.parse(
            JSON.stringify(openApiDocument({ version: running.services.version, accessKeys })),
          ),
        );
      }
    });
  });
});
