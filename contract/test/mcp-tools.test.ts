// The MCP decision table stays complete and consistent with the procedure table.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { listProcedures, type ProcedurePath } from '../src/procedures.js';
import { mcpExposureOf, mcpOtherExposure, mcpTools, type McpToolName } from '../src/mcp/tools.js';

const toolNames = Object.keys(mcpTools) as McpToolName[];
const paths = listProcedures().map((procedure) => procedure.path);

describe('MCP tool table', () => {
  it('decides the MCP side of every procedure: tools, or a decision, never both', () => {
    for (const { path } of listProcedures()) {
      const exposure = mcpExposureOf(path as ProcedurePath);
      const decided = Object.hasOwn(mcpOtherExposure, path);
      expect('tools' in exposure, path).toBe(!decided);
    }
    expect(Object.keys(mcpOtherExposure).every((path) => paths.includes(path))).toBe(true);
  });

  it('lists for each procedure exactly the tools built on it', () => {
    for (const name of toolNames) {
      for (const path of mcpTools[name].procedures) {
        const exposure = mcpExposureOf(path);
        expect('tools' in exposure && exposure.tools.includes(name), `${path} lists ${name}`).toBe(
          true,
        );
      }
    }
  });

  it('names tools in snake_case, and every tool has a title, description and annotations', () => {
    for (const name of toolNames) {
      const tool = mcpTools[name];
      expect(name).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(tool.title.length).toBeGreaterThan(0);
      expect(tool.description.length).toBeGreaterThan(20);
      expect(tool.annotations.destructiveHint && tool.annotations.readOnlyHint).toBe(false);
    }
  });

  it('has schemas JSON Schema can represent, as the MCP SDK converts them', () => {
    for (const name of toolNames) {
      const { input, output } = mcpTools[name];
      expect(z.toJSONSchema(input, { target: 'draft-7', io: 'input' })).toMatchObject({
        type: 'object',
      });
      expect(z.toJSONSchema(output, { target: 'draft-7', io: 'output' })).toMatchObject({
        type: 'object',
        additionalProperties: false,
      });
    }
  });
});
