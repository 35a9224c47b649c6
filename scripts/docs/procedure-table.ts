// The procedure table of docs/PROTOCOL.md §3, from the contract's own table: every procedure with
// its kind, guard, input and output schemas and description.
import type { z } from 'zod';
import { listProcedures, type ProcedureAuth } from '@deaddrop/contract';
import { contractTypeNames } from './contract-types.js';
import { code, markdownTable } from './markdown.js';
import { isOmittable, typeText } from './zod-text.js';

const authText: Readonly<Record<ProcedureAuth, string>> = {
  none: 'none',
  signature: 'signature in the input',
  mailbox: 'mailbox proof',
};

export function inputText(input: z.ZodType | undefined): string {
  if (input === undefined) return 'none';
  // A whole input with a default may be left out (`poll` without arguments).
  const inner = isOmittable(input)
    ? ((input as z.ZodOptional | z.ZodDefault).unwrap() as z.ZodType)
    : input;
  return `${code(typeText(inner, contractTypeNames))}${isOmittable(input) ? ' (may be omitted)' : ''}`;
}

export function renderProcedureTable(): string {
  return markdownTable(
    ['procedure', 'kind', 'auth', 'access key', 'input', 'output', 'description'],
    listProcedures().map(({ path, definition }) => {
      const output = code(typeText(definition.output, contractTypeNames));
      return [
        code(path),
        definition.kind,
        authText[definition.auth],
        definition.apiKey ? 'required if configured' : 'never',
        inputText(definition.input),
        definition.kind === 'subscription' ? `stream of ${output}, each tracked by its id` : output,
        definition.description,
      ];
    }),
  );
}
