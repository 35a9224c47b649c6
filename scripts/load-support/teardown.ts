// Cleanup for a benchmark or soak run: each resource (a child process, a folder, Redis keys, open
// sockets) registers its step when it is made, and the steps run last first when the run ends,
// fails or is interrupted, each bounded in time so that one stuck step cannot hold the rest.
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from './error-message.js';

/** A cleanup step; a promise it returns is awaited. */
export type TeardownStep = () => unknown;

const STEP_BOUND_MS = 10_000;

const pending: TeardownStep[] = [];
let teardownRun: Promise<void> | undefined;

/** Registers a cleanup step and returns a function that runs it now (and only once). */
export function onTeardown(step: TeardownStep): () => Promise<void> {
  pending.push(step);
  return async () => {
    const index = pending.indexOf(step);
    if (index < 0) return;
    pending.splice(index, 1);
    await step();
  };
}

/** Runs every pending step, last registered first; a second call waits for the first. */
export function teardown(): Promise<void> {
  teardownRun ??= (async () => {
    for (let step = pending.pop(); step !== undefined; step = pending.pop()) {
      try {
        await Promise.race([step(), sleep(STEP_BOUND_MS)]);
      } catch (error) {
        console.error(`teardown step failed: ${errorMessage(error)}`);
      }
    }
  })();
  return teardownRun;
}

/** Whether teardown has begun: children exiting from now on were asked to. */
export function isTearingDown(): boolean {
  return teardownRun !== undefined;
}
