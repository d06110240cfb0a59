/**
 * Opaque OpenAI-style ids (`resp_…`, `msg_…`, `fc_…`, `conv_…`): a prefix and 24 random bytes in
 * hex. Random rather than sequential so ids leak nothing about volume and never collide across
 * restarts or replicas. Nothing parses them beyond the prefix.
 */
import { randomBytes } from 'node:crypto';

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('hex')}`;
}
