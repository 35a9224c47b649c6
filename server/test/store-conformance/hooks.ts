// Conformance: a mailbox's wake-up webhook (PROTOCOL §9) and what the append reports about it.
import { describe, expect, it } from 'vitest';
import type { HookDelivery, HookRecord } from '../../src/store/mailbox-store.js';
import { messageTo, newAgentId, registerNew, type SuiteContext } from './fixtures.js';

function hookRecord(createdAt = Date.now()): HookRecord {
  return { url: 'https://hooks.example.com/wake', secret: 's'.repeat(40), createdAt };
}

function failure(createdAt: number, at: number, status: number | null = 500): HookDelivery {
  return { createdAt, at, status, delivered: false, failureCap: 3 };
}

export function describeHooks(context: SuiteContext): void {
  describe('webhooks', () => {
    it('sets, gets and clears a hook; only for a registered agent', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      expect(await store.getHook(agentId)).toBeNull();
      expect(await store.setHook(newAgentId(), hookRecord())).toBe(false);

      const hook = hookRecord();
      expect(await store.setHook(agentId, hook)).toBe(true);
      expect(await store.getHook(agentId)).toEqual({
        ...hook,
        lastDeliveryAt: null,
        lastStatus: null,
        failures: 0,
        disabled: false,
      });
      expect(await store.clearHook(agentId)).toBe(true);
      expect(await store.clearHook(agentId)).toBe(false);
      expect(await store.getHook(agentId)).toBeNull();
    });

    it('reports in the append whether the mailbox has an active hook', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      expect(await store.append(messageTo(agentId))).toMatchObject({ hooked: false });
      const hook = hookRecord();
      await store.setHook(agentId, hook);
      expect(await store.append(messageTo(agentId))).toMatchObject({
        status: 'stored',
        hooked: true,
      });
      for (let i = 0; i < 3; i += 1)
        await store.recordHookDelivery(agentId, failure(hook.createdAt, i));
      expect(await store.append(messageTo(agentId))).toMatchObject({ hooked: false });
      await store.setHook(agentId, hookRecord(hook.createdAt + 1));
      expect(await store.append(messageTo(agentId))).toMatchObject({ hooked: true });
      await store.clearHook(agentId);
      expect(await store.append(messageTo(agentId))).toMatchObject({ hooked: false });
    });

    it('counts consecutive failures, resets them on a delivery, disables at the cap', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      const hook = hookRecord();
      await store.setHook(agentId, hook);

      expect(await store.recordHookDelivery(agentId, failure(hook.createdAt, 10))).toMatchObject({
        lastDeliveryAt: 10,
        lastStatus: 500,
        failures: 1,
        disabled: false,
      });
      expect(
        await store.recordHookDelivery(agentId, {
          createdAt: hook.createdAt,
          at: 20,
          status: 204,
          delivered: true,
          failureCap: 3,
        }),
      ).toMatchObject({ lastDeliveryAt: 20, lastStatus: 204, failures: 0, disabled: false });
      await store.recordHookDelivery(agentId, failure(hook.createdAt, 30, null));
      await store.recordHookDelivery(agentId, failure(hook.createdAt, 40));
      expect(await store.getHook(agentId)).toMatchObject({ failures: 2, disabled: false });
      await store.recordHookDelivery(agentId, failure(hook.createdAt, 50, null));
      expect(await store.getHook(agentId)).toMatchObject({
        lastDeliveryAt: 50,
        lastStatus: null,
        failures: 3,
        disabled: true,
      });

      // Set again: enabled, with fresh bookkeeping.
      await store.setHook(agentId, hookRecord(hook.createdAt + 1));
      expect(await store.getHook(agentId)).toMatchObject({ failures: 0, disabled: false });
    });

    it('leaves a hook set since the notice, or a cleared one, alone', async () => {
      const store = await context.open();
      const agentId = await registerNew(store);
      const first = hookRecord(1_000);
      await store.setHook(agentId, first);
      const second = hookRecord(2_000);
      await store.setHook(agentId, second);
      expect(await store.recordHookDelivery(agentId, failure(first.createdAt, 5))).toBeNull();
      expect(await store.getHook(agentId)).toMatchObject({ createdAt: 2_000, failures: 0 });
      await store.clearHook(agentId);
      expect(await store.recordHookDelivery(agentId, failure(second.createdAt, 6))).toBeNull();
      expect(await store.getHook(agentId)).toBeNull();
    });

    it('keeps hooks of different mailboxes apart', async () => {
      const store = await context.open();
      const [a, b] = [await registerNew(store), await registerNew(store)];
      await store.setHook(a, hookRecord());
      expect(await store.getHook(b)).toBeNull();
      expect(await store.append(messageTo(b))).toMatchObject({ hooked: false });
    });

    it('keeps the hook across a reopen', async () => {
      if (context.reopen === undefined) return;
      const store = await context.open();
      const agentId = await registerNew(store);
      const hook = hookRecord();
      await store.setHook(agentId, hook);
      const reopened = await context.reopen(store);
      expect(await reopened.getHook(agentId)).toMatchObject(hook);
    });
  });
}
