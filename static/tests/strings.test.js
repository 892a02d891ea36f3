// The strings tables: every key in both languages, and the console's own
// table neither repeats nor hides a shared key.
import test from 'node:test';
import assert from 'node:assert/strict';

const load = async (name) => (await import(`../js/strings/${name}.js`)).default;

test('strings: English and Turkish have the same keys, in the shared and the console tables', async () => {
  for (const [a, b] of [['en', 'tr'], ['console-en', 'console-tr']]) {
    const ka = Object.keys(await load(a)).sort();
    const kb = Object.keys(await load(b)).sort();
    assert.deepEqual(ka.filter((k) => !kb.includes(k)), [], `${a} keys missing from ${b}`);
    assert.deepEqual(kb.filter((k) => !ka.includes(k)), [], `${b} keys missing from ${a}`);
  }
  for (const l of ['en', 'tr']) {
    const shared = await load(l);
    const own = Object.keys(await load(`console-${l}`));
    assert.deepEqual(own.filter((k) => k in shared), [], `console-${l} repeats shared keys`);
  }
});
