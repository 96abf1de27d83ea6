import { readFileSync } from 'node:fs';
import test from 'ava';
import { CONFIG_KEYS } from '../../src/config/load.js';

const configuration = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
const cli = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');

test('docs/configuration.md has a table row for every key with its variable and flag', (t) => {
  for (const spec of CONFIG_KEYS) {
    // The keys table is the one with seven columns (the variable-name table above has two).
    const row = configuration
      .split('\n')
      .find((line) => line.startsWith(`| \`${spec.key}\` |`) && line.split(' | ').length === 7);
    t.truthy(row, `no row for ${spec.key}`);
    t.true(row!.includes(`\`${spec.env}\``), `${spec.key}: ${spec.env} missing`);
    if (spec.flag !== null) t.true(row!.includes(`\`${spec.flag}`), `${spec.key}: ${spec.flag} missing`);
    else t.true(row!.includes('| — |'), `${spec.key} has no flag, the row must say so`);
  }
});

test('docs/cli.md lists every broker flag', (t) => {
  for (const spec of CONFIG_KEYS) {
    if (spec.flag !== null) t.true(cli.includes(`\`${spec.flag}`), spec.flag);
  }
  t.true(cli.includes('`--config <file>`'));
});
