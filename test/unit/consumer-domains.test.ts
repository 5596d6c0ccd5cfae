import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isConsumerDomain } from '../../src/domain/domains/consumer-domains.ts';

test('consumer mail domains are recognized in any case, form or trailing dot', () => {
  for (const domain of [
    'gmail.com',
    'outlook.com',
    'hotmail.com',
    'yahoo.com',
    'icloud.com',
    'proton.me',
    'gmx.de',
    'qq.com',
    'GMail.COM',
    ' gmail.com.',
  ]) {
    assert.equal(isConsumerDomain(domain), true, domain);
  }
  // An IDN on the list, in its Unicode and its punycode form.
  assert.equal(isConsumerDomain('müll.email'), true);
  assert.equal(isConsumerDomain('xn--mll-hoa.email'), true);
});

test('company domains, subdomains and hostile input are not consumer domains', () => {
  for (const domain of [
    'acme.com',
    'mail.acme.com',
    'corp.gmail.com.acme.com',
    'acme-gmail.com',
    'gmail',
    '',
    '\u0000gmail.com',
    'gmail.com\u0000',
    '\ud800.com',
  ]) {
    assert.equal(isConsumerDomain(domain), false, JSON.stringify(domain));
  }
  // Exact match only: the list holds public suffixes (com.ar), which must not refuse every company under them.
  assert.equal(isConsumerDomain('com.ar'), true);
  assert.equal(isConsumerDomain('acme.com.ar'), false);
  // RFC 2606 documentation names stay usable (the list carries example.com by mistake).
  assert.equal(isConsumerDomain('example.com'), false);
});
