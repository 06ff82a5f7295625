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
    if (/ECONNREFUSED/.test(causeChain(err))) {
      process.stderr.write(
        'ticklake: a server refused the connection: is the stack up? Check `npx ticklake stack status`.\n',
      );
    }
    process.exitCode = 1;
  }
}

function causeChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 10; e = e.cause) parts.push(e.message);
  return parts.join(' <- ');
}
