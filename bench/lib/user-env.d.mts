export function steersCli(name: string, dropPrefixes?: string[]): boolean;
export function userEnv(work: string, dropPrefixes?: string[]): Record<string, string>;
