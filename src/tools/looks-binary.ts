/**
 * The file tools' shared test for "this is not text": a NUL byte in the first 8 KiB, the heuristic git
 * and grep use. It is cheap and right for source, logs and data files; it does not detect encodings.
 */
import { open } from 'node:fs/promises';

const sniffBytes = 8192;

export function looksBinary(bytes: Uint8Array): boolean {
  return bytes.subarray(0, sniffBytes).includes(0);
}

/** Reads only the head of the file, so a huge binary is refused without being loaded. */
export async function fileLooksBinary(absolutePath: string): Promise<boolean> {
  const handle = await open(absolutePath, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(sniffBytes), 0, sniffBytes, 0);
    return looksBinary(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
