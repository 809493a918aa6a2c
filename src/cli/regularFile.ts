// Opening a file a command was given that must be a plain file (a backup's files): a symlink, a
// device, a FIFO or a folder in its place is refused, never followed or read. O_NOFOLLOW refuses a
// symlink at the last path component; O_NONBLOCK keeps opening a FIFO from waiting for a writer
// (it has no effect on regular files); fstat then judges what was actually opened, so a file swapped
// after an earlier lstat is judged too.
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";

export class NotARegularFileError extends Error {
  constructor(
    readonly file: string,
    readonly found: string,
  ) {
    super(`${file} is ${found}, not a regular file`);
    this.name = "NotARegularFileError";
  }
}

const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** What a non-regular directory entry is, for messages. */
export function kindOf(entry: {
  isSymbolicLink(): boolean;
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (entry.isSymbolicLink()) return "a symbolic link";
  if (entry.isDirectory()) return "a folder";
  if (entry.isFIFO()) return "a named pipe";
  if (entry.isSocket()) return "a socket";
  if (entry.isCharacterDevice() || entry.isBlockDevice()) return "a device";
  return "not a regular file";
}

/** Opens `file` for reading if it is a regular file; NotARegularFileError otherwise. */
export async function openRegularFile(file: string): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(file, FLAGS);
  } catch (error) {
    // Linux answers O_NOFOLLOW on a symlink with ELOOP (the BSDs with EMLINK).
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "EMLINK") throw new NotARegularFileError(file, "a symbolic link");
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new NotARegularFileError(file, kindOf(info));
    return { handle, size: info.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
