/**
 * Runs part 1 (validation) alone in this process, so `run.ts` can pin it to one CPU with taskset
 * and profile it with `node --cpu-prof`; writes the report as JSON to the file named by argv[2].
 */
import { writeFileSync } from 'node:fs';
import { runValidation, type ValidationConfig } from './validation.ts';

const [outFile, configJson] = process.argv.slice(2);
if (outFile === undefined || configJson === undefined) throw new Error('usage: validation-child.ts <out.json> <config json>');
const report = await runValidation(JSON.parse(configJson) as ValidationConfig, (line) => process.stdout.write(`${line}\n`));
writeFileSync(outFile, JSON.stringify(report));
