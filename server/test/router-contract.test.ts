// Runtime half of the drift check: the relay serves exactly the contract's procedures, each of the
// declared kind and validated by the contract's own schema objects (not copies).
import { describe, expect, it } from 'vitest';
import { callTRPCProcedure } from '@trpc/server';
import { listProcedures } from '@deaddrop/contract';
import { createRequestAdmission } from '../src/limits/request-admission.js';
import { RelayFault } from '../src/relay-error.js';
import { createAppRouter } from '../src/router.js';
import type { MailboxStore } from '../src/store/mailbox-store.js';
import { routerTestServices } from './support/router-services.js';

interface ProcedureInternals {
  _def: { type: string; inputs: unknown[] };
}

describe('the relay router against the contract', () => {
  // No limits: every guard here is decided before the store would be asked.
  const services = routerTestServices({} as MailboxStore);
  const router = createAppRouter(services);
  // tRPC's flat map of built procedures, read for the internals it documents as `_def`.
  const served = router._def.procedures as unknown as Record<string, ProcedureInternals>;

  it('serves exactly the contract procedures', () => {
    expect(Object.keys(served).sort()).toEqual(
      listProcedures()
        .map((p) => p.path)
        .sort(),
    );
  });

  it.each(listProcedures())(
    '$path has the contract kind and input schema',
    ({ path, definition }) => {
      const procedure = served[path];
      expect(procedure?._def.type).toBe(definition.kind);
      expect(procedure?._def.inputs).toEqual(
        definition.input === undefined ? [] : [definition.input],
      );
      if (definition.input !== undefined) expect(procedure?._def.inputs[0]).toBe(definition.input);
    },
  );

  it.each(listProcedures())(
    '$path is guarded as its table entry says (access key, then the mailbox proof)',
    async ({ path, definition }) => {
      const keyed = createAppRouter({
        ...services,
        admission: createRequestAdmission(services.limiter, ['k']),
      });
      const call = (router: typeof keyed, apiKey: string | undefined) =>
        callTRPCProcedure({
          router,
          path,
          getRawInput: () => Promise.resolve(undefined),
          ctx: {
            authorization: undefined,
            apiKey,
            paths: [path],
            transport: definition.kind === 'subscription' ? 'sse' : 'http',
            clientIp: '192.0.2.1',
          },
          type: definition.kind,
          signal: undefined,
          batchIndex: 0,
        }).then(
          () => 'ok',
          (error: unknown) => (error instanceof RelayFault ? error.reason : 'other'),
        );
      expect(await call(keyed, undefined)).toBe(definition.apiKey ? 'API_KEY_INVALID' : 'ok');
      const withKey = await call(keyed, 'k');
      if (definition.auth === 'mailbox') expect(withKey).toBe('AUTH_MISSING');
      else expect(withKey).not.toBe('AUTH_MISSING');
    },
  );
});
