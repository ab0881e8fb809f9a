// Types of wizer-paths.js (plain JavaScript: componentize-process.js runs without the TypeScript loader).
export declare const virtualWorkFolder: string;
export declare function pinWizerPaths(args: readonly string[], input: string): { args: string[]; input: string };
