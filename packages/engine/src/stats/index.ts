/** Statistics primitives: special functions and exact tail tests, robust helpers, sketches, baselines. */
export {
  logGamma,
  regularizedIncompleteBeta,
  regularizedGammaP,
  regularizedGammaQ,
  binomialSf,
  binomialCdf,
  poissonSf,
  poissonCdf,
  erfc,
  normalSf,
  probit,
  pToScore,
} from './special.js';
export { zScore, quantileSorted, iqrFences, isIqrOutlier, type IqrFences } from './robust.js';
export { LatencySketch, type LatencySketchJSON } from './sketch.js';
export {
  logMs,
  LogBaseline,
  ProportionBaseline,
  RateBaseline,
  ShareBaseline,
  type LogBaselineJSON,
  type ProportionBaselineJSON,
  type RateBaselineJSON,
  type ShareBaselineJSON,
} from './baseline.js';
