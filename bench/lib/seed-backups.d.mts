import type {SeedFile} from '../../src/emulator/index.js';

export interface LayoutLib {
  isoDateWithOffset(date: Date): string;
  safeBaseName(name: string, isoDate: string): string;
  archiveKeyOf(base: string): string;
  metadataKeyOf(base: string): string;
  archiveInfoMetadata(d: {id: string; name: string; date: string; sha1?: string}): Record<string, string>;
  buildMetadataFile(m: {id: string; name: string; date: string; size: number; sha1: string; extra: Record<string, string>; createdBy: string}): unknown;
}

export function backupFiles(lib: LayoutLib, prefix: string, count: number, first?: number): SeedFile[];
