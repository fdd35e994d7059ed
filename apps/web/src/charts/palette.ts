/**
 * Okabe & Ito's colour-blind-safe palette ("Color Universal Design", 2008), and which colour and
 * marker shape each thing on a chart gets. Shapes differ as well as colours, so nothing is told
 * apart by colour alone. Yellow (#F0E442) is left out: it does not read on white.
 */

export const OKABE_ITO = {
  black: '#000000',
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  bluishGreen: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  reddishPurple: '#CC79A7',
} as const;

export type Shape = 'circle' | 'square' | 'diamond' | 'triangle' | 'cross';

export interface KindStyle {
  color: string;
  shape: Shape;
  /** Legend text. */
  label: string;
}

/** Scatter markers by dropout kind, plus the start point (the target before training). */
export const KIND_STYLES: Record<string, KindStyle> = {
  start: { color: OKABE_ITO.vermillion, shape: 'triangle', label: 'start (before training)' },
  none: { color: OKABE_ITO.black, shape: 'diamond', label: 'none (no dropout)' },
  random: { color: OKABE_ITO.blue, shape: 'square', label: 'random dropout' },
  quantile: { color: OKABE_ITO.orange, shape: 'circle', label: 'quantile dropout' },
  threshold: { color: OKABE_ITO.bluishGreen, shape: 'cross', label: 'threshold dropout' },
};

const OTHERS = [OKABE_ITO.skyBlue, OKABE_ITO.reddishPurple, OKABE_ITO.bluishGreen];

export function kindStyle(kind: string, i = 0): KindStyle {
  return (
    KIND_STYLES[kind] ?? {
      color: OTHERS[i % OTHERS.length] as string,
      shape: 'square',
      label: kind,
    }
  );
}

/** The front's line. */
export const FRONT_COLOR = OKABE_ITO.reddishPurple;

/** Line charts: series colours in order. */
export const LINE_COLORS = [
  OKABE_ITO.blue,
  OKABE_ITO.orange,
  OKABE_ITO.bluishGreen,
  OKABE_ITO.vermillion,
  OKABE_ITO.reddishPurple,
  OKABE_ITO.skyBlue,
  OKABE_ITO.black,
];

/** `#0072B2` → `rgba(0, 114, 178, 0.2)`. */
export function withAlpha(hex: string, alpha: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
