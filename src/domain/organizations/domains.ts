import { domainToASCII } from 'node:url';
import { AppError, type FieldProblem } from '../errors.ts';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Normalizes a list of email domains: trimmed, lower-cased, IDNs in their ASCII (punycode) form,
 * duplicates removed. Each must be a host name of at least two labels with an alphabetic (or
 * punycode) top-level label; anything else is a 400 naming the entry.
 */
export function normalizeDomains(domains: readonly string[], field = 'domains'): string[] {
  const problems: FieldProblem[] = [];
  const out = new Set<string>();
  domains.forEach((raw, index) => {
    const ascii = domainToASCII(raw.trim().toLowerCase().replace(/\.$/, ''));
    const labels = ascii.split('.');
    const tld = labels[labels.length - 1] ?? '';
    if (
      ascii === '' ||
      ascii.length > 253 ||
      labels.length < 2 ||
      !labels.every((l) => LABEL.test(l)) ||
      !/^([a-z]{2,63}|xn--[a-z0-9-]+)$/.test(tld)
    ) {
      problems.push({ field: `${field}.${index}`, message: `"${raw}" is not a valid domain name` });
    } else {
      out.add(ascii);
    }
  });
  const [problem] = problems;
  if (problem !== undefined) throw new AppError('validation_failed', problem.message, problems);
  return [...out];
}
