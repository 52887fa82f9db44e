export declare const SECRET_SHAPES: Array<{what: string; pattern: RegExp}>;
export declare const KEYSTORE: RegExp;
export declare function needles(secrets: readonly string[]): string[];
export declare function findLeaks(label: string, buf: Buffer, pieces: readonly string[]): string[];
export declare function filesUnder(dir: string): Array<[string, Buffer]>;
