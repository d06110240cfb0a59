/**
 * The built-in `dangerous` classifier of the approval policy: looks at a tool call's arguments and says
 * whether it is the kind of action a person should confirm — a terminal command that deletes
 * recursively, gains privileges, writes to system paths, pipes a download into a shell, kills
 * processes, powers the machine off, formats disks or opens a network listener; a file write aimed
 * outside the workspace. It is a tripwire for the common shapes, read from the command text (quotes
 * and `;`/`&&`/`|`/`$(…)` segments understood), not a sandbox: an obfuscated command gets through, and
 * ordinary commands (`ls`, `cat`, `grep`, `rm file`, `git`, builds) are never flagged.
 */
import path from 'node:path';

export interface DangerousMatch {
  /** A short stable name of the kind of danger, part of the approval pattern. */
  category: string;
  /** What it would do, for the person asked. */
  reason: string;
  /** The program (or tool) it concerns, so a `session` answer covers `rm -rf x` and `rm -rf y` alike. */
  subject: string;
}

/** Paths whose contents belong to the system: writing there changes the machine, not the project. */
const systemPaths = [
  '/etc',
  '/usr',
  '/bin',
  '/sbin',
  '/boot',
  '/lib',
  '/lib64',
  '/sys',
  '/proc',
  '/root',
  '/var',
  '/opt',
  '/dev',
];
/** Device files that are harmless to write to. */
const harmlessDevices = new Set(['/dev/null', '/dev/stdout', '/dev/stderr', '/dev/tty', '/dev/zero']);
const shells = new Set([
  'sh',
  'bash',
  'zsh',
  'dash',
  'ksh',
  'fish',
  'python',
  'python3',
  'perl',
  'ruby',
  'node',
]);
const privilege = new Set(['sudo', 'su', 'doas', 'pkexec', 'runuser']);
const killers = new Set(['kill', 'killall', 'pkill', 'skill', 'xkill']);
const power = new Set(['shutdown', 'reboot', 'halt', 'poweroff']);
const diskTools = new Set(['mkfs', 'fdisk', 'sfdisk', 'parted', 'wipefs', 'mkswap']);
/** Prefixes that run the next word as the command. */
const wrappers = new Set([
  'env',
  'nohup',
  'time',
  'exec',
  'nice',
  'ionice',
  'command',
  'builtin',
  'xargs',
  'timeout',
  'stdbuf',
]);

/** Classifies one call of a built-in tool; undefined = not dangerous. */
export function classifyDangerousCall(tool: string, args: unknown, cwd: string): DangerousMatch | undefined {
  const fields = (typeof args === 'object' && args !== null ? args : {}) as Record<string, unknown>;
  if (tool === 'terminal' && typeof fields['command'] === 'string') return classifyCommand(fields['command']);
  if ((tool === 'write_file' || tool === 'edit_file') && typeof fields['path'] === 'string') {
    const target = path.resolve(cwd, fields['path']);
    const rel = path.relative(cwd, target);
    if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
      return {
        category: 'outside-workspace',
        reason: `${tool} would write ${target}, outside the workspace`,
        subject: tool,
      };
    }
  }
  return undefined;
}

/** Classifies a shell command line; the first dangerous segment wins. */
export function classifyCommand(command: string): DangerousMatch | undefined {
  const piped = pipeIntoShell(command);
  if (piped) return piped;
  for (const segment of segments(command)) {
    const match = classifySegment(segment);
    if (match) return match;
  }
  return undefined;
}

/** `curl … | sh`, `wget -O- … | sudo bash`, `bash <(curl …)`, `sh -c "$(curl …)"`. */
function pipeIntoShell(command: string): DangerousMatch | undefined {
  const download = String.raw`\b(?:curl|wget|fetch)\b`;
  const shell = String.raw`(?:sudo\s+)?(?:${[...shells].join('|')})\b`;
  const patterns = [
    new RegExp(`${download}[^|;&]*\\|\\s*${shell}`),
    new RegExp(`\\b${shell}\\s*<\\(\\s*${download}`),
    new RegExp(`\\b${shell}\\s+-c\\s+["']?\\$\\(\\s*${download}`),
  ];
  if (!patterns.some((pattern) => pattern.test(command))) return undefined;
  return { category: 'download-to-shell', reason: 'runs a downloaded script in a shell', subject: 'shell' };
}

/**
 * Splits a command line into simple commands at `;`, `&`, `&&`, `||`, `|`, newlines and command
 * substitutions, then into words with quotes removed. Redirections stay words (`>`, `>>`, `2>`).
 */
function segments(command: string): string[][] {
  const result: string[][] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  /** Quotes to go back to when a `$(…)` opened inside them closes. */
  const resume: ('"' | undefined)[] = [];
  const endWord = () => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  const endSegment = () => {
    endWord();
    if (words.length > 0) result.push(words);
    words = [];
  };
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (quote === '"' && c === '$' && command[i + 1] === '(') {
        // A substitution inside double quotes is a command of its own, read unquoted until its `)`.
        endSegment();
        resume.push('"');
        quote = undefined;
        i++;
      } else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < command.length) {
      word += command[++i];
      inWord = true;
    } else if (c === ')' && resume.length > 0) {
      endSegment();
      quote = resume.pop();
    } else if (c === ';' || c === '&' || c === '|' || c === '\n' || c === '`' || c === '(' || c === ')') {
      endSegment();
    } else if (c === '$' && command[i + 1] === '(') {
      endSegment();
      resume.push(undefined);
      i++;
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else if (c === '>' || c === '<') {
      // `echo x>/etc/f`: the operator and its target are separate words.
      const fd = inWord && /^\d$/.test(word) ? word : '';
      if (fd) {
        word = '';
        inWord = false;
      } else endWord();
      let op = c;
      while (command[i + 1] === '>' || command[i + 1] === '&') op += command[++i];
      words.push(fd + op);
    } else {
      word += c;
      inWord = true;
    }
  }
  endSegment();
  return result;
}

/** The program a simple command runs, with environment assignments and wrappers skipped. */
function programOf(words: string[]): { program: string; args: string[] } | undefined {
  let i = 0;
  while (i < words.length) {
    const w = words[i]!;
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) i++;
    else if (wrappers.has(path.basename(w))) {
      i++;
      // Options of the wrapper (`nice -n 5`, `timeout 10`) are skipped with it.
      while (i < words.length && (words[i]!.startsWith('-') || /^\d+[smhd]?$/.test(words[i]!))) i++;
    } else break;
  }
  const program = words[i];
  return program === undefined ? undefined : { program: path.basename(program), args: words.slice(i + 1) };
}

function isSystemPath(target: string): boolean {
  if (!target.startsWith('/')) return false;
  const normal = path.posix.normalize(target);
  if (harmlessDevices.has(normal)) return false;
  if (normal === '/') return true;
  return systemPaths.some((root) => normal === root || normal.startsWith(`${root}/`));
}

function flagged(args: string[], short: string, long: string[]): boolean {
  return args.some(
    (a) => long.includes(a) || (a.startsWith('-') && !a.startsWith('--') && a.slice(1).includes(short)),
  );
}

function classifySegment(words: string[]): DangerousMatch | undefined {
  const found = programOf(words);
  if (!found) return undefined;
  const { program, args } = found;
  const match = (category: string, reason: string): DangerousMatch => ({
    category,
    reason,
    subject: program,
  });

  for (let i = 0; i < words.length - 1; i++) {
    if (/^\d?>>?&?$/.test(words[i]!) && isSystemPath(words[i + 1]!)) {
      return match('system-path-write', `writes to ${words[i + 1]}, a system path`);
    }
  }
  if (privilege.has(program))
    return match('privilege', `runs a command with ${program} (elevated privileges)`);
  if (program === 'rm' && (flagged(args, 'r', ['--recursive']) || flagged(args, 'R', []))) {
    return match('recursive-delete', 'deletes files recursively');
  }
  if (program === 'rm' && args.some((a) => isSystemPath(a))) {
    return match('system-path-write', 'deletes files in a system path');
  }
  if (program === 'find' && args.some((a) => a === '-delete' || a === '-exec' || a === '-execdir')) {
    if (args.includes('-delete') || args.includes('rm'))
      return match('recursive-delete', 'deletes the files find matches');
  }
  if (program === 'shred') return match('recursive-delete', 'destroys file contents');
  if (killers.has(program)) return match('kill-process', 'stops running processes');
  if (
    program === 'systemctl' &&
    args.some((a) => ['stop', 'kill', 'disable', 'mask', 'restart', 'poweroff', 'reboot', 'halt'].includes(a))
  ) {
    return match('kill-process', 'stops or restarts system services');
  }
  if (power.has(program)) return match('power', 'shuts down or restarts the machine');
  if (diskTools.has(program) || program.startsWith('mkfs.'))
    return match('disk', 'changes disks or filesystems');
  if (program === 'dd' && args.some((a) => a.startsWith('of=/dev/') && !harmlessDevices.has(a.slice(3)))) {
    return match('disk', 'writes straight to a device');
  }
  if (
    [
      'cp',
      'mv',
      'tee',
      'install',
      'ln',
      'chmod',
      'chown',
      'chgrp',
      'truncate',
      'touch',
      'mkdir',
      'rmdir',
    ].includes(program)
  ) {
    const target = args.filter((a) => !a.startsWith('-')).at(-1);
    if (target !== undefined && isSystemPath(target))
      return match('system-path-write', `changes ${target}, a system path`);
    if (
      (program === 'chmod' || program === 'chown') &&
      flagged(args, 'R', ['--recursive']) &&
      args.includes('/')
    ) {
      return match('system-path-write', 'changes permissions of the whole filesystem');
    }
  }
  if (program === 'sed' && flagged(args, 'i', ['--in-place']) && args.some((a) => isSystemPath(a))) {
    return match('system-path-write', 'edits a file in a system path');
  }
  if ((program === 'nc' || program === 'ncat' || program === 'netcat') && flagged(args, 'l', ['--listen'])) {
    return match('network-listener', 'opens a network listener');
  }
  if (program === 'socat' && args.some((a) => /LISTEN/i.test(a)))
    return match('network-listener', 'opens a network listener');
  if (
    program.startsWith('python') &&
    args.includes('-m') &&
    args.some((a) => a === 'http.server' || a === 'SimpleHTTPServer')
  ) {
    return match('network-listener', 'starts an HTTP server');
  }
  if (program === 'php' && args.includes('-S')) return match('network-listener', 'starts an HTTP server');
  if (program === 'crontab' && flagged(args, 'r', []))
    return match('recursive-delete', "deletes the user's crontab");
  return undefined;
}
