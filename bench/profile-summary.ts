/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by package or
 * source file, and inclusive time of chosen functions, so bench/README.md can say where the time goes.
 *
 *   node --import tsx bench/profile-summary.ts <file.cpuprofile> [top=25] [functionName …]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  /** Microseconds of the monotonic clock at the first sample. */
  startTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  byFunction: { name: string; where: string; selfMs: number; share: number }[];
  byModule: { module: string; selfMs: number; share: number }[];
  inclusive: { name: string; ms: number; share: number }[];
}

/** Where a frame lives: the npm package for node_modules, else the path below the repository, else a V8 category. */
export function moduleOf(url: string): string {
  if (url === '') return '(native / V8)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.search(/\/(src|bench|test)\//);
  if (src >= 0) return url.slice(src + 1);
  if (url.startsWith('node:')) return url;
  return url;
}

export function summarise(profile: CpuProfile, top: number, inclusiveNames: readonly string[]): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    total += dt;
  });
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const mod = new Map<string, number>();
  const incl = new Map<string, number>(inclusiveNames.map((n) => [n, 0]));
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)') {
      mod.set(functionName, (mod.get(functionName) ?? 0) + us);
    } else mod.set(moduleOf(url), (mod.get(moduleOf(url)) ?? 0) + us);
    const key = `${functionName}@${url}:${lineNumber}`;
    const entry = fn.get(key) ?? { name: functionName || '(anonymous)', where: `${moduleOf(url)}:${lineNumber + 1}`, us: 0 };
    entry.us += us;
    fn.set(key, entry);
    // Inclusive: charge the sample once to each named function on its stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = byId.get(cur)!.callFrame.functionName;
      if (incl.has(name) && !seen.has(name)) {
        incl.set(name, incl.get(name)! + us);
        seen.add(name);
      }
    }
  }
  const share = (us: number) => us / total;
  return {
    totalMs: total / 1000,
    byFunction: [...fn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000, share: share(f.us) })),
    byModule: [...mod.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([module, us]) => ({ module, selfMs: us / 1000, share: share(us) })),
    inclusive: [...incl.entries()].map(([name, us]) => ({ name, ms: us / 1000, share: share(us) })),
  };
}

export function formatSummary(summary: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  const lines = [`total sampled: ${summary.totalMs.toFixed(0)} ms`, '', 'self time by package / file:'];
  for (const m of summary.byModule) lines.push(`  ${pct(m.share)}  ${m.module}`);
  lines.push('', 'self time by function:');
  for (const f of summary.byFunction) lines.push(`  ${pct(f.share)}  ${f.name}  (${f.where})`);
  if (summary.inclusive.length > 0) {
    lines.push('', 'inclusive time (the function and everything it calls):');
    for (const i of summary.inclusive) lines.push(`  ${pct(i.share)}  ${i.name}`);
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, topArg, ...names] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top] [functionName …]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  process.stdout.write(`${formatSummary(summarise(profile, Number(topArg ?? 25), names))}\n`);
}
