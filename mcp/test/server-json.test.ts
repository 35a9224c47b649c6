// The MCP registry metadata: mcp/server.json is valid under the registry's server.json schema
// (2025-12-11, vendored byte for byte: the registry host is not reachable from the test machines)
// and agrees with what it describes — mcp/package.json's name, version and mcpName (the registry
// checks the published package's mcpName against the entry's name), and the variables the server
// reads in stdio mode, the transport the entry declares.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { mcpVariables } from '../src/env.js';

const SCHEMA_URL = 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json';
/** sha256 of the schema as the registry serves it at SCHEMA_URL. */
const SCHEMA_SHA256 = '3fba09590c99f61735d234822279f4223fab9e300c0a81e81c91ab62a4114de0';
/** Variables only `--http` reads: the registry entry runs the server over stdio. */
const HTTP_ONLY = ['MCP_HTTP_HOST', 'MCP_HTTP_PORT', 'MCP_API_KEY', 'MCP_ALLOWED_HOSTS'];

interface EnvironmentVariable {
  readonly name: string;
  readonly description: string;
  readonly isRequired?: boolean;
  readonly isSecret?: boolean;
}

interface ServerJson {
  readonly $schema: string;
  readonly name: string;
  readonly version: string;
  readonly packages: readonly {
    readonly registryType: string;
    readonly identifier: string;
    readonly version: string;
    readonly transport: { readonly type: string };
    readonly environmentVariables: readonly EnvironmentVariable[];
  }[];
}

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly mcpName: string;
  readonly bin: Readonly<Record<string, string>>;
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(new URL(path, import.meta.url), 'utf8')) as unknown;
}

const serverJson = (await readJson('../server.json')) as ServerJson;
const manifest = (await readJson('../package.json')) as Manifest;

describe('mcp/server.json', () => {
  it('is valid under the MCP registry schema it names', async () => {
    const schemaText = await readFile(
      new URL('fixtures/server.schema.2025-12-11.json', import.meta.url),
    );
    expect(createHash('sha256').update(schemaText).digest('hex')).toBe(SCHEMA_SHA256);
    const schema = JSON.parse(schemaText.toString('utf8')) as { $id: string };
    expect(schema.$id).toBe(SCHEMA_URL);
    expect(serverJson.$schema).toBe(SCHEMA_URL);

    const ajv = new Ajv({ strict: false, allErrors: true });
    formats.default(ajv);
    const validate = ajv.compile(schema);
    expect(validate(serverJson), JSON.stringify(validate.errors, null, 2)).toBe(true);
    // The schema does refuse: a description over its 100 characters, a package without transport.
    expect(validate({ ...serverJson, description: 'x'.repeat(101) })).toBe(false);
    expect(validate({ ...serverJson, packages: [{ registryType: 'npm', identifier: 'x' }] })).toBe(
      false,
    );
  });

  it('names the npm package, its version and its mcpName', () => {
    expect(manifest.mcpName).toBe(serverJson.name);
    expect(serverJson.version).toBe(manifest.version);
    expect(serverJson.packages).toEqual([
      expect.objectContaining({
        registryType: 'npm',
        identifier: manifest.name,
        version: manifest.version,
        transport: { type: 'stdio' },
      }),
    ]);
    expect(Object.keys(manifest.bin)).toEqual(['deaddrop-mcp']);
  });

  it('lists every variable the server reads over stdio, described as --help describes it', () => {
    const listed = serverJson.packages[0]?.environmentVariables ?? [];
    const read = mcpVariables.filter((variable) => !HTTP_ONLY.includes(variable.name));
    expect(listed.map((variable) => variable.name)).toEqual(read.map((variable) => variable.name));
    for (const variable of read) {
      const entry = listed.find((candidate) => candidate.name === variable.name);
      expect(entry?.description.startsWith(variable.meaning), variable.name).toBe(true);
      expect(entry?.isRequired === true, variable.name).toBe(variable.defaultValue === 'required');
    }
    expect(listed.filter((variable) => variable.isSecret === true).map(({ name }) => name)).toEqual(
      ['DEADDROP_API_KEY'],
    );
  });
});
