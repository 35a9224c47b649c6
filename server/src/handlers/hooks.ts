// hooks.set / hooks.get / hooks.clear (PROTOCOL §9): the mailbox's wake-up webhook. The URL is
// checked against the relay's policy here (scheme, literal private addresses); every notice checks
// the addresses its host resolves to again (webhooks/hook-target.ts).
import type { HookClearResult, HookSetInput, HookSetResult, HookStatus } from '@deaddrop/contract';
import { RelayFault } from '../relay-error.js';
import type { RelayServices } from '../services.js';
import { refusedHookUrl } from '../webhooks/hook-target.js';

export async function setHook(
  services: RelayServices,
  agentId: string,
  input: HookSetInput,
): Promise<HookSetResult> {
  if (!services.webhooks.enabled) throw new RelayFault('WEBHOOKS_OFF');
  const refused = refusedHookUrl(input.url, services.webhooks.allowedHosts);
  if (refused !== null) throw new RelayFault('HOOK_URL_REFUSED', refused);
  const createdAt = services.now();
  const set = await services.store.setHook(agentId, {
    url: input.url,
    secret: input.secret,
    createdAt,
  });
  if (!set) throw new RelayFault('AGENT_NOT_FOUND', `"${agentId}"`);
  return { url: input.url, createdAt };
}

/** The hook and its delivery status; never its secret. */
export async function getHook(
  services: RelayServices,
  agentId: string,
): Promise<HookStatus | null> {
  const hook = await services.store.getHook(agentId);
  if (hook === null) return null;
  const { url, createdAt, lastDeliveryAt, lastStatus, failures, disabled } = hook;
  return { url, createdAt, lastDeliveryAt, lastStatus, failures, disabled };
}

export async function clearHook(
  services: RelayServices,
  agentId: string,
): Promise<HookClearResult> {
  return { cleared: await services.store.clearHook(agentId) };
}
