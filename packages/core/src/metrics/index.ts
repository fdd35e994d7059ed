export { porterStem } from './porter.js';
export {
  distinctN,
  meteor,
  type RougeScore,
  rougeL,
  rougeN,
  rougeTokens,
  sentenceBleu,
  type TextMetrics,
  textMetrics,
} from './text-metrics.js';
