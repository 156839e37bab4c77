/** What the core may weigh, min+gzip, before the size test fails. */
export declare const LIMIT: number;
/** The goal of issue 22. */
export declare const TARGET: number;
/** `entry` bundled, minified and tree-shaken for the browser: its bytes minified and min+gzip, and the code. */
export declare function measure(
  entry: string,
  alias?: Record<string, string>,
): Promise<{ min: number; gzip: number; code: string }>;
