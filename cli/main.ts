import { isTickLakeError } from '../core/errors.ts';
import { buildProgram } from './program.ts';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (isTickLakeError(err)) {
    process.stderr.write(`ticklake: ${err.code}: ${err.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`ticklake: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
