/**
 * A tiny data-driven test format. A file is a list of cases:
 *
 *   # comment lines and blank lines between cases are kept as they are
 *   command arg1 key=value key=v1,v2
 *   ----
 *   expected output (ends at the first blank line; outputs never contain blank lines)
 *
 * `runDataDriven` runs each command through a handler and compares the output; with
 * `rewrite` it returns the file with every expected output replaced by the actual one.
 */
export interface Command {
  name: string;
  /** Positional arguments. */
  args: string[];
  /** key=value arguments. */
  options: Map<string, string>;
  /** Line in the file, for messages. */
  line: number;
  text: string;
}

interface Case {
  command: Command;
  expected: string;
  /** Lines before the command (comments, blank lines). */
  preamble: string[];
}

export function parseCommand(text: string, line: number): Command {
  const words = text.trim().split(/\s+/);
  const args: string[] = [];
  const options = new Map<string, string>();
  for (const word of words.slice(1)) {
    const eq = word.indexOf('=');
    if (eq > 0) options.set(word.slice(0, eq), word.slice(eq + 1));
    else args.push(word);
  }
  return { name: words[0]!, args, options, line, text: text.trim() };
}

function parseFile(content: string): { cases: Case[]; trailer: string[] } {
  const lines = content.split('\n');
  const cases: Case[] = [];
  let preamble: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) {
      preamble.push(line);
      i++;
      continue;
    }
    const command = parseCommand(line, i + 1);
    i++;
    if (lines[i] !== '----') throw new Error(`line ${i + 1}: expected ---- after the command`);
    i++;
    const output: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '') output.push(lines[i++]!);
    cases.push({ command, expected: output.join('\n'), preamble });
    preamble = [];
  }
  return { cases, trailer: preamble };
}

export interface DataDrivenResult {
  failures: Array<{ line: number; command: string; expected: string; actual: string }>;
  /** The file with actual outputs (what REWRITE=1 writes). */
  rewritten: string;
}

export function runDataDriven(content: string, handle: (command: Command) => string): DataDrivenResult {
  const { cases, trailer } = parseFile(content);
  const failures: DataDrivenResult['failures'] = [];
  const out: string[] = [];
  for (const c of cases) {
    let actual: string;
    try {
      actual = handle(c.command).trimEnd();
    } catch (error) {
      actual = `error: ${(error as Error).message}`;
    }
    if (actual === '') actual = 'ok';
    if (actual.split('\n').some((l) => l.trim() === ''))
      throw new Error(`line ${c.command.line}: output of ${c.command.text} contains a blank line`);
    if (actual !== c.expected)
      failures.push({ line: c.command.line, command: c.command.text, expected: c.expected, actual });
    out.push(...c.preamble, c.command.text, '----', actual);
  }
  out.push(...trailer);
  let rewritten = out.join('\n');
  if (!rewritten.endsWith('\n')) rewritten += '\n';
  return { failures, rewritten };
}
