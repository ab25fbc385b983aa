import { type Capability, type CapabilityContext } from '../../capabilities/types.js';

/** One execution of a recording capability: the texts it saw and the dependency results it got. */
export interface Execution {
  readonly texts: readonly string[];
  readonly dependencies: Record<string, readonly unknown[]>;
}

/**
 * A fake capability that records every execution (like dataloader's `idLoader`) and answers
 * `"<name>(<text>)"`, so tests can see which texts each run covered and what each request got.
 */
export function recordingCapability(
  name: string,
  dependsOn: readonly string[] = [],
  behaviour: { fail?: (texts: readonly string[]) => boolean; results?: (texts: readonly string[]) => unknown[] } = {},
): Capability<unknown> & { executions: Execution[] } {
  const executions: Execution[] = [];
  return {
    name,
    dependsOn,
    executions,
    async run(texts: readonly string[], context: CapabilityContext) {
      executions.push({ texts: [...texts], dependencies: Object.fromEntries(context.dependencies) });
      await Promise.resolve();
      if (behaviour.fail?.(texts) === true) throw new Error(`${name} exploded`);
      return behaviour.results?.(texts) ?? texts.map((text) => `${name}(${text})`);
    },
  };
}
