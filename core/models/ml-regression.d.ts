/**
 * The part of ml-regression (6.3) ticklake uses: the umbrella package ships no types. Only training calls it
 * (core/models/fit.ts); scoring evaluates the stored coefficients itself.
 */
declare module 'ml-regression' {
  export class MultivariateLinearRegression {
    constructor(x: number[][], y: number[][], options?: { intercept?: boolean; statistics?: boolean });
    /** (inputs + 1) × outputs; with an intercept its row is the last. */
    readonly weights: number[][];
    predict(x: number[]): number[];
    toJSON(): Record<string, unknown>;
  }
}
