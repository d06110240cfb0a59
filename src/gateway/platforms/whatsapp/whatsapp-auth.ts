/**
 * Where WhatsApp's linked-device credentials live (HERALD_HOME/whatsapp, Baileys' multi-file auth state)
 * and the few questions Herald asks of them: is a device linked, as which number, and forget it. The
 * folder holds the keys of a logged-in WhatsApp session — anyone with a copy can read and send as the
 * account — so it is created 0700 and tightened to 0700 whenever Herald opens it. Baileys reads and
 * writes the files themselves; this module never parses more than `creds.json`'s `me`.
 */
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

const credsSchema = z.object({ me: z.object({ id: z.string().min(1) }).optional() });

export async function prepareAuthDir(authDir: string): Promise<void> {
  await mkdir(authDir, { recursive: true, mode: 0o700 });
  await chmod(authDir, 0o700);
}

/** The linked account's phone number (digits), or undefined when no device is linked. */
export async function linkedNumber(authDir: string): Promise<string | undefined> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(authDir, 'creds.json'), 'utf8'));
  } catch {
    // Missing or half-written: not linked either way.
    return undefined;
  }
  const parsed = credsSchema.safeParse(raw);
  const id = parsed.success ? parsed.data.me?.id : undefined;
  // `4915112345678:12@s.whatsapp.net` → the number before the device and the server.
  return id ? /^\d+/.exec(id)?.[0] : undefined;
}

export async function removeAuthState(authDir: string): Promise<void> {
  await rm(authDir, { recursive: true, force: true });
}
