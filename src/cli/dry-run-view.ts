import {displayDate, humanSize, LEGAL_HOLD, lockedText, shownName} from '../backups/display.js';
import {activeLock} from '../backups/lock.js';
import {supersededLine} from '../backups/superseded-line.js';
import type {Deletable, DeletePreview, UploadPlan} from '../backups/types.js';
import {visibleFileName} from '../backups/validate.js';
import {count} from '../plural.js';
import {table} from '../profiles/display.js';

/** `upload --dry-run` for people: what would be written, how, and what would be kept from an interrupted run. */
export function renderUploadPlan(p: UploadPlan, given: {id?: boolean; date?: boolean} = {}): string {
  const size = p.size === undefined ? 'size unknown until the stream ends' : humanSize(p.size);
  const lines = [
    'Dry run: nothing was uploaded.',
    `Backup ${shownName(p.name, p.date)} (${size}${p.sha1 ? `, sha1 ${p.sha1}` : ''})`,
    // the ones --id and --date ask for (or the backup's stored already), which the upload keeps
    ...(given.id ? [`  id             ${p.id}`] : []),
    ...(given.date ? [`  date           ${displayDate(p.date)}`] : []),
    `  archive        ${visibleFileName(p.archiveKey)}`,
    `  metadata file  ${visibleFileName(p.metadataKey)}`,
  ];
  if (p.resumes?.stored === 'backup') {
    lines.push(`Already stored as backup ${p.resumes.id} of ${displayDate(p.resumes.date)}: nothing would be uploaded`);
    return lines.join('\n');
  }
  if (p.resumes?.stored === 'archive') {
    lines.push(`Resumes the interrupted backup ${p.resumes.id} of ${displayDate(p.resumes.date)}: its archive is stored; only the metadata file would be uploaded`);
  } else if (p.archive) {
    lines.push(`Upload: ${howItGoes(p.archive)}`);
    const r = p.archive.resume;
    if (r && p.resumes) {
      const toSend = (p.archive.parts ?? 0) - r.partsKept;
      // its parts are paid for: the upload goes on with their size, whatever size is asked now
      const own = r.partSizeAsked === undefined ? '' : `; with its own part size, ${humanSize(p.archive.partSize ?? 0)}, not this run's ${humanSize(r.partSizeAsked)}`;
      lines.push(`Resumes the interrupted backup ${p.resumes.id} of ${displayDate(p.resumes.date)} (started ${r.started.toISOString()}): ${count(r.partsStored, 'part')} stored, ${r.partsKept} kept (${humanSize(r.bytesKept)}), ${toSend} to send${own}`);
    }
  }
  for (const s of p.archive?.supersedes ?? []) lines.push(supersededLine(s, {would: true}));
  if (p.lock) lines.push(`Lock: both files ${lockedText(p.lock)} (B2 Object Lock, dated from now)`);
  const calls = Object.entries(p.calls).filter(([, n]) => n > 0).map(([call, n]) => `${call} ×${n}`).join(', ') || 'none';
  // a stream of unknown length: the calls of the shortest case; a longer one goes up in parts
  const atLeast = p.archive?.kind === 'stream' && p.archive.parts === undefined ? 'at least (more if the stream is longer than one part) ' : '';
  lines.push(`API calls: ${atLeast}${calls}`);
  return lines.join('\n');
}

function howItGoes(a: NonNullable<UploadPlan['archive']>): string {
  if (a.kind === 'single') return 'one request (b2_upload_file)';
  const at = a.concurrency ? `, ${a.concurrency} at a time` : '';
  const partSize = humanSize(a.partSize ?? 0);
  if (a.kind === 'stream' && a.parts === undefined) return `from stdin: one request if it ends within ${partSize}, else parts of ${partSize}${at}`;
  return `${a.parts} parts of ${partSize}${at}`;
}

/** `delete --dry-run` for people: each name that would go, with its versions and unfinished uploads (and a lock that would stop it). */
export function renderDeletePreview(p: DeletePreview, now: Date = new Date()): string {
  const b = p.info;
  const what = deletableKind(p);
  const rows = p.remove.map((r) => {
    const unfinished = r.unfinished > 0 ? `, ${count(r.unfinished, 'unfinished upload')} (its parts)` : '';
    return [` ${visibleFileName(r.key)}`, `${count(r.versions, 'version')}, ${humanSize(r.bytes)}${unfinished}`];
  });
  const lines = [`Dry run: nothing was deleted. Would delete ${what} ${b.id} ${shownName(b.name)} of ${displayDate(b.date)} (${humanSize(b.size)}):`, table(rows)];
  const lock = activeLock(b, now);
  if (b.legalHold) lines.push(`But it is ${LEGAL_HOLD}; B2 would refuse, and nothing would be deleted`);
  else if (lock) lines.push(`But it is ${lockedText(lock)}: B2 would refuse${lock.mode === 'governance' ? ' unless --bypass-governance is given with a key that has the bypassGovernance capability' : ' until then'}`);
  return lines.join('\n');
}

/** What `delete` removes, as its messages name it: a backup, or the one of its files an interrupted upload or delete left. */
export function deletableKind(d: Deletable): string {
  if (d.complete) return 'backup';
  if (d.partnerHidden) return d.left === 'metadata file' ? 'the backup with a hidden archive' : 'the backup with a hidden metadata file';
  return d.left === 'metadata file' ? 'the metadata file without archive of backup' : 'the archive without metadata file of backup';
}

