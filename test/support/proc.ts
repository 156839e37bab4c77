import { readdirSync, readFileSync } from 'node:fs';

/** One thread of a process, as Linux's `/proc/<pid>/task/<tid>/stat` tells it. */
export interface ThreadStat {
  tid: string;
  /** The thread's name (`comm`): Node's main thread, `parley-pglite`, `V8 …` helpers. */
  name: string;
  /** CPU used so far, user and system (ms). */
  cpuMs: number;
}

const TICK_MS = 1000 / 100; // USER_HZ

/** Every thread of process `pid` (Linux only: throws where there is no `/proc`). */
export function threadStats(pid: number): ThreadStat[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    // Fields from the third on, after the name (which may hold spaces): utime, stime are 14, 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      tid,
      name,
      cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS,
    };
  });
}
