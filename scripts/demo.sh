#!/usr/bin/env bash
# The main job on the embedded default, with no account: make an archive of tens of MB,
# back it up (multi-part upload with progress), list, show, verify, restore and compare,
# delete. Everything it writes (profiles, embedded B2 data, caches) lives in one temp
# folder that is removed at the end, so your own profiles and backups are not touched.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d "${TMPDIR:-/tmp}/b2-demo.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export B2_BACKUP_CONFIG="$work/profiles.yaml" XDG_DATA_HOME="$work/data" XDG_CACHE_HOME="$work/cache"
unset B2_PROFILE B2_APPLICATION_KEY_ID B2_APPLICATION_KEY DEBUG
# a profiles file named by B2_BACKUP_CONFIG must exist (a typo must not read as an empty
# file): an empty one, private as profile files are, leaves just the built-in "local"
(umask 077 && : > "$B2_BACKUP_CONFIG")
# the size of the random part of the archive; the test that runs this demo makes it small
random_bytes="${DEMO_RANDOM_BYTES:-32000000}"

step() { printf '\n== %s\n' "$*" >&2; }
b2() {
  { printf '$ backup-b2 b2'; printf ' %q' "$@"; printf '\n'; } >&2
  node bin/run.js b2 "$@"
}

step "1. An archive to back up: $random_bytes bytes of random data plus this project's sources, as a tar"
mkdir -p "$work/files"
head -c "$random_bytes" /dev/urandom > "$work/files/random.bin"
cp -r src commands "$work/files/"
tar -cf "$work/archive.tar" -C "$work" files
ls -l "$work/archive.tar" >&2

step "2. The built-in 'local' profile: an embedded B2 emulator, provisioned on first use"
b2 profile list
b2 profile check local

step "3. Back it up (8 MB parts in parallel, each checksummed; the whole file's SHA1 is stored too)"
id="$(b2 upload "$work/archive.tar" --profile local --name "Demo backup" --meta origin=demo)"
echo "backup id: $id" >&2

step "4. List and show (listing our own backups needs no downloads)"
b2 list --profile local
b2 show "$id" --profile local

step "5. Verify: download and check size and SHA1 without writing anything"
b2 verify "$id" --profile local

step "6. Restore to a new file and compare with the original"
b2 download "$id" --profile local -o "$work/restored.tar"
cmp "$work/archive.tar" "$work/restored.tar"
echo "restored archive is identical to the original" >&2

step "7. Delete the backup (every version of the archive and its metadata file)"
b2 delete "$id" --profile local --yes
b2 list --profile local

printf '\nDemo finished: upload, list, show, verify, download, compare and delete all worked.\n' >&2
