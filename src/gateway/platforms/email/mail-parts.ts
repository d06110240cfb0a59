/**
 * Finds, in a mail's IMAP BODYSTRUCTURE, the part to read (text/plain, else text/html) and the
 * attachments to list (name, type, size). Parts are not downloaded here; the platform fetches the one
 * text part it needs, so a large attachment is never transferred.
 */
import type { MessageStructureObject } from 'imapflow';

export interface AttachmentInfo {
  name: string;
  type: string;
  /** Decoded size in bytes (estimated from the encoded size for base64). */
  size: number;
}

export interface MailParts {
  /** IMAP part id of the body to read, and whether it is HTML. */
  body?: { part: string; html: boolean };
  attachments: AttachmentInfo[];
}

export function findMailParts(structure: MessageStructureObject): MailParts {
  let plain: string | undefined;
  let html: string | undefined;
  const attachments: AttachmentInfo[] = [];
  const visit = (node: MessageStructureObject): void => {
    if (node.childNodes?.length) {
      for (const child of node.childNodes) visit(child);
      return;
    }
    const type = node.type.toLowerCase();
    const name = node.dispositionParameters?.filename ?? node.parameters?.name;
    const part = node.part ?? '1';
    if (node.disposition?.toLowerCase() === 'attachment' || name || !type.startsWith('text/')) {
      const encoded = node.size ?? 0;
      const size = node.encoding?.toLowerCase() === 'base64' ? Math.floor((encoded * 3) / 4) : encoded;
      attachments.push({ name: name ?? '(unnamed)', type, size });
      return;
    }
    if (type === 'text/plain' && plain === undefined) plain = part;
    else if (type === 'text/html' && html === undefined) html = part;
  };
  visit(structure);
  const body =
    plain !== undefined
      ? { part: plain, html: false }
      : html !== undefined
        ? { part: html, html: true }
        : undefined;
  return { ...(body ? { body } : {}), attachments };
}

/** "report.pdf (application/pdf, 120 KB)". */
export function describeAttachment(attachment: AttachmentInfo): string {
  const { size } = attachment;
  const human =
    size >= 1024 * 1024
      ? `${(size / 1024 / 1024).toFixed(1)} MB`
      : size >= 1024
        ? `${Math.round(size / 1024)} KB`
        : `${size} bytes`;
  return `${attachment.name} (${attachment.type}, ${human})`;
}
