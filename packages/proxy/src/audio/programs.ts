import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

const found = new Map<string, string>();

/**
 * The path of a program on `PATH`, or undefined when it is not installed. Found paths are remembered;
 * a missing program is looked for again next time, so installing it needs no restart.
 *
 * @example
 * ```ts
 * if (!(await findProgram('espeak-ng'))) console.log('apt-get install espeak-ng');
 * ```
 */
export async function findProgram(
  name: string,
  path = process.env['PATH'] ?? '',
): Promise<string | undefined> {
  const key = `${name}\u0000${path}`;
  const known = found.get(key);
  if (known) return known;
  for (const directory of path.split(delimiter)) {
    if (!directory) continue;
    const candidate = join(directory, name);
    try {
      await access(candidate, constants.X_OK);
      found.set(key, candidate);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}
