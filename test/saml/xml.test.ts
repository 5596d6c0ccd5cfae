// parseXml's refusals: the shared checks before any tree is built; the parser's own are in xml-parser.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseXml, XML_LIMITS } from '../../src/domain/saml/xml.ts';

describe('parseXml', () => {
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

  describe('bounds the shape before building a tree (XML_LIMITS)', () => {
    const { maxDepth, maxElements, maxAttributesPerElement, maxAttributes } = XML_LIMITS;
    const code = (xml: string) => {
      const parsed = parseXml(xml);
      return parsed.ok ? 'ok' : `${parsed.error.code}: ${parsed.error.message}`;
    };
    const nested = (depth: number, inner = '') => '<a>'.repeat(depth) + inner + '</a>'.repeat(depth);
    const attributes = (count: number, from = 0) => Array.from({ length: count }, (_, i) => ` a${from + i}="v"`).join('');

    test('depth: the limit is accepted, one more is refused, however the document continues', () => {
      assert.equal(code(nested(maxDepth)), 'ok');
      assert.equal(code(nested(maxDepth - 1, '<b/>')), 'ok', 'an empty element opens no level');
      assert.equal(code(nested(maxDepth + 1)), `xml_too_complex: The XML document nests elements more than ${maxDepth} deep.`);
      assert.equal(code(nested(maxDepth, '<b/>')), `xml_too_complex: The XML document nests elements more than ${maxDepth} deep.`);
      assert.equal(code(`<r>${nested(maxDepth - 1).repeat(50)}</r>`), 'ok', 'closed elements give their depth back');
      // The issue's document: 700 KB, 100,000 nested elements.
      assert.match(code(nested(100_000)), /^xml_too_complex: .* more than 64 deep/);
    });

    test('element count', () => {
      assert.equal(code(`<r>${'<a/>'.repeat(maxElements - 1)}</r>`), 'ok');
      assert.equal(
        code(`<r>${'<a/>'.repeat(maxElements)}</r>`),
        `xml_too_complex: The XML document has more than ${maxElements} elements.`,
      );
    });

    test('attributes, per element and in all (namespace declarations count)', () => {
      assert.equal(code(`<r${attributes(maxAttributesPerElement)}/>`), 'ok');
      assert.match(code(`<r${attributes(maxAttributesPerElement + 1)}/>`), /^xml_too_complex: .* element with more than 256 attributes/);
      assert.match(code(`<r xmlns:p="u"${attributes(maxAttributesPerElement)}/>`), /^xml_too_complex: .* element with more than/);
      const spread = (total: number) => {
        const each = maxAttributesPerElement;
        const full = Math.floor(total / each);
        const rest = `<b${attributes(total - full * each)}/>`;
        return `<r>${Array.from({ length: full }, () => `<b${attributes(each)}/>`).join('')}${rest}</r>`;
      };
      assert.equal(code(spread(maxAttributes)), 'ok');
      assert.equal(code(spread(maxAttributes + 1)), `xml_too_complex: The XML document has more than ${maxAttributes} attributes.`);
    });

    test('markup inside comments, CDATA, processing instructions and attribute values is not counted', () => {
      const deep = nested(maxDepth + 1);
      const attrs = attributes(maxAttributesPerElement + 1);
      assert.equal(code(`<r><!--${deep}--></r>`), 'ok');
      assert.equal(code(`<r><![CDATA[${deep}]]></r>`), 'ok');
      assert.equal(code(`<r><?pi ${deep}?></r>`), 'ok');
      assert.equal(code(`<r a="/${'='.repeat(300)}>">${"<b a='/>'/>".repeat(3)}</r>`), 'ok', 'a quoted "/>" or "=" is text');
      assert.equal(code(`<r><!--${attrs}--><b b='="'/></r>`), 'ok');
      // A comment's text that looks like its end must not end it early and expose what follows as markup.
      assert.equal(code(`<r><!-- -> ${deep} ]]> ?> --><![CDATA[ --> ${deep} ]]></r>`), 'ok');
    });

    test('an unknown "<!" hides nothing that follows it', () => {
      assert.match(code(`<r><!x>${nested(maxDepth + 1)}</r>`), /^xml_too_complex: /);
    });

    test('truncated markup is left to the parser, which refuses it', () => {
      for (const xml of ['<r><!-- ', '<r><![CDATA[', '<r a="', '<r', '<r><?pi', `${nested(3)}<b a="x" <c/>`]) {
        assert.match(code(xml), /^xml_malformed: /, xml);
      }
    });
  });
});
