// The variables `npm run dev` must pass on to the relay and the MCP server: turbo runs tasks with a
// filtered environment, so its `dev` task's passThroughEnv lists every variable the relay's env
// schema, the MCP server and the SDK read — generated from them, never kept by hand.
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { clientVariables } from '../../client/src/env.js';
import { mcpVariables } from '../../mcp/src/env.js';
import { relayEnvSchema } from '../../server/src/env.js';
import { repoRoot } from './render-docs.js';

export function devPassThroughEnv(): string[] {
  const names = new Set<string>([
    ...Object.keys(relayEnvSchema.shape),
    ...mcpVariables.map((variable) => variable.name),
    ...clientVariables.map((variable) => variable.name),
  ]);
  return [...names].sort();
}

interface TurboJson {
  readonly tasks: Record<string, Record<string, unknown>>;
}

/** The dev task's passThroughEnv as turbo.json's text has it. */
export function committedDevPassThroughEnv(turboJsonText: string): unknown {
  return (JSON.parse(turboJsonText) as TurboJson).tasks.dev?.passThroughEnv;
}

/** turbo.json's text with the dev task's passThroughEnv as the sources say, in Prettier's style. */
export async function withDevPassThroughEnv(turboJsonText: string): Promise<string> {
  const turbo = JSON.parse(turboJsonText) as TurboJson;
  const dev = turbo.tasks.dev;
  if (dev === undefined) throw new Error('turbo.json has no dev task');
  dev.passThroughEnv = devPassThroughEnv();
  const filepath = join(repoRoot, 'turbo.json');
  const options = await resolveConfig(filepath);
  return format(JSON.stringify(turbo, null, 2), { ...options, filepath });
}
