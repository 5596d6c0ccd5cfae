// parseXml's refusals and the xmldom end-tag RegExp cache (src/domain/saml/xmldom-regexp-cache.ts).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { parseXml } from '../../src/domain/saml/xml.ts';

const grammar = createRequire(import.meta.url)('@xmldom/xmldom/lib/grammar.js') as {
  reg: (...parts: (string | RegExp)[]) => RegExp;
  QName_group: RegExp;
  S_OPT: RegExp;
};

describe('parseXml', () => {
  test('builds the end-tag expression once: the xmldom cache is in effect', () => {
    const first = grammar.reg('^', grammar.QName_group, grammar.S_OPT, '$');
    assert.equal(grammar.reg('^', grammar.QName_group, grammar.S_OPT, '$'), first, 'the same RegExp object for the same grammar constants');
    assert.equal(first.global || first.sticky, false, 'a shared expression must keep no state between exec calls');
  });

  test('the cache holds only grammar constants, never a string from elsewhere', () => {
    assert.notEqual(grammar.reg('^', 'a+'), grammar.reg('^', 'a+'));
  });

  test('end tags are still checked as strictly', () => {
    assert.ok(parseXml('<a><b></b ></a>').ok, 'white space before > is allowed (XML 1.0 §3.1 ETag)');
    for (const xml of ['<a><b></a>', '<a></a b>', '<a xmlns:p="u"><p:b></q:b></a>', '<a></ a>']) {
      const parsed = parseXml(xml);
      assert.equal(parsed.ok, false, xml);
      assert.equal(!parsed.ok && parsed.error.code, 'xml_malformed', xml);
    }
  });

  test('refuses a DOCTYPE, a NUL byte, two roots and an oversized document', () => {
    const code = (xml: string, max?: number) => {
      const parsed = parseXml(xml, max);
      return parsed.ok ? 'ok' : parsed.error.code;
    };
    assert.equal(code('<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'), 'xml_doctype_forbidden');
    assert.equal(code('<a>\u0000</a>'), 'xml_malformed');
    assert.equal(code('<a/><b/>'), 'xml_malformed');
    assert.equal(code('<a>ü</a>', 8), 'xml_too_large');
    assert.equal(code('<a>ü</a>', 9), 'ok');
  });
});
