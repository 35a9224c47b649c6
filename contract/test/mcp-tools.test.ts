// The MCP decision table stays complete and consistent with the procedure table.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { listProcedures } from '../src/procedures.js';
import { mcpExposure, mcpTools, type McpToolName } from '../src/mcp/tools.js';

const toolNames = Object.keys(mcpTools) as McpToolName[];

describe('MCP tool table', () => {
  it('decides the MCP side of every procedure, and of nothing else', () => {
    expect(Object.keys(mcpExposure).sort()).toEqual(
      listProcedures()
        .map((p) => p.path)
        .sort(),
    );
  });

  it('agrees with each tool’s own list of procedures, both ways', () => {
    for (const [path, exposure] of Object.entries(mcpExposure)) {
      if (!('tools' in exposure)) continue;
      for (const tool of exposure.tools)
        expect(mcpTools[tool].procedures, `${tool} uses ${path}`).toContain(path);
    }
    for (const name of toolNames) {
      for (const path of mcpTools[name].procedures) {
        const exposure = mcpExposure[path];
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
