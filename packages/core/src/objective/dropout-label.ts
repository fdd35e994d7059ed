/**
 * The one written form of a dropout: `none`, `quantile-0.8`, `random-0.8-distinct`,
 * `threshold--1`. The kind, then each number parameter in order, then the flag of each boolean
 * parameter not at its default, joined by `-`. Reports, the API, the dashboard and the CLI's
 * `--dropout` all use it, and {@link parseDropoutLabel} reads it back.
 */
import {
  type DropoutConfig,
  dropoutKinds,
  dropoutParameters,
  resolveDropoutConfig,
} from './dropout.js';

/** A short label: `none`, `random-0.8`, `quantile-0.95`, `threshold-0`. */
export function dropoutLabel(dropout: DropoutConfig): string {
  const config = dropout as Record<string, unknown> & { kind: string };
  const parts: string[] = [config.kind];
  for (const [name, parameter] of dropoutParameters(config.kind)) {
    const value = config[name];
    if (parameter.type === 'number') parts.push(String(value));
    else if (value !== undefined && value !== parameter.default) parts.push(parameter.flag);
  }
  return parts.join('-');
}

/** How a kind is written: `quantile-<γ>`, `random-<γ>[-distinct]`. */
export function dropoutSyntax(kind: string): string {
  const parts = [kind];
  for (const [name, parameter] of dropoutParameters(kind))
    parts.push(
      parameter.type === 'number' ? `<${parameter.symbol ?? name}>` : `[${parameter.flag}]`,
    );
  return parts.join('-').replaceAll('-[', '[-');
}

const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?/i;

/**
 * A label back to its config, defaults filled in. Throws a RangeError saying which forms are
 * allowed.
 */
export function parseDropoutLabel(label: string): DropoutConfig {
  const allowed = () =>
    `expected one of ${dropoutKinds().map(dropoutSyntax).join(', ')}, got '${label}'`;
  // The longest kind the label starts with, so a kind may contain '-'.
  const kind = dropoutKinds()
    .filter((k) => label === k || label.startsWith(`${k}-`))
    .sort((a, b) => b.length - a.length)[0];
  if (kind === undefined) throw new RangeError(allowed());
  let rest = label.slice(kind.length);
  const config: Record<string, unknown> = { kind };
  for (const [name, parameter] of dropoutParameters(kind)) {
    if (parameter.type === 'number') {
      const match = rest.startsWith('-') ? NUMBER.exec(rest.slice(1)) : null;
      if (!match)
        throw new RangeError(`${kind} dropout: '${label}' lacks its ${name}; ${allowed()}`);
      config[name] = Number(match[0]);
      rest = rest.slice(1 + match[0].length);
    } else if (rest === `-${parameter.flag}` || rest.startsWith(`-${parameter.flag}-`)) {
      config[name] = !parameter.default;
      rest = rest.slice(1 + parameter.flag.length);
    }
  }
  if (rest !== '') throw new RangeError(allowed());
  return resolveDropoutConfig(config);
}
