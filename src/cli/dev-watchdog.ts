/**
 * Loaded into each broker `goqueue dev` starts (`node --import <this file>`): a broker whose
 * parent is gone stops itself with SIGTERM, its own clean stop. `goqueue dev` stops its brokers
 * on Ctrl-C or SIGTERM, but a SIGKILL gives it no chance to; the brokers run in their own
 * process groups, so nothing else would stop them.
 */

/** How often the parent is checked; a broker outlives a killed `goqueue dev` by at most this. */
const PARENT_CHECK_INTERVAL_MS = 500;

// The parent is named in this module's URL (`dev-watchdog.js?parent=<pid>`): read at load time,
// process.ppid could already be init's if the parent died while this process was starting.
const named = Number(new URL(import.meta.url).searchParams.get('parent'));
const parent = Number.isInteger(named) && named > 0 ? named : process.ppid;
const watch = setInterval(() => {
  // An orphan is re-parented (to init or a subreaper), so its parent id changes.
  if (process.ppid === parent) return;
  clearInterval(watch);
  process.kill(process.pid, 'SIGTERM');
}, PARENT_CHECK_INTERVAL_MS);
// The watch alone never keeps a process alive.
watch.unref();
