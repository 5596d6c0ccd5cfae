import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app.ts';

describe('static assets', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t.close());

  test('/favicon.ico is a 32×32 icon, cached for a day', async () => {
    const res = await t.request({ method: 'GET', url: '/favicon.ico', token: null });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/x-icon');
    assert.equal(res.headers['cache-control'], 'public, max-age=86400');
    const ico = res.rawPayload;
    // ICONDIR: reserved 0, type 1 (icon), one image; its entry: 32×32, the image's size and offset.
    assert.deepEqual([ico.readUInt16LE(0), ico.readUInt16LE(2), ico.readUInt16LE(4)], [0, 1, 1]);
    assert.deepEqual([ico[6], ico[7]], [32, 32]);
    const size = ico.readUInt32LE(14);
    const offset = ico.readUInt32LE(18);
    assert.equal(offset + size, ico.length);
    const png = ico.subarray(offset);
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [32, 32], 'IHDR says 32×32');
  });
});
