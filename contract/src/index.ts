// @deaddrop/contract: the protocol in one package (PROTOCOL.md v1).
export * from './encoding/b64u.js';
export * from './identity.js';
export * from './json-value.js';
export * from './envelope.js';
export * from './inner-message.js';
export * from './content-limits.js';
export * from './proof.js';
export * from './limits.js';
export * from './errors.js';
export * from './schemas/primitives.js';
export * from './schemas/procedures.js';
export * from './schemas/hooks.js';
export * from './webhook.js';
export * from './procedures.js';
export type * from './router-type.js';
export { randomBytes, sha256Hex } from './crypto/primitives.js';
export * from './mcp/tool-schemas.js';
export * from './mcp/tools.js';
