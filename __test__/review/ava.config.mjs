// Review findings (known failures of the code under review): not part of npm test.
// Run: npx ava --config __test__/review/ava.config.mjs
export default {
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  files: ['__test__/review/**/*-review.ts'],
  workerThreads: false,
  timeout: '2m',
};
