// Golden snapshot tests for extraction (scip-typescript style): every file in
// test/fixtures/extract/input is extracted and rendered as annotated text, compared with
// test/fixtures/extract/output/<file>.txt. Regenerate with `UPDATE_SNAPSHOTS=1 npm test` and
// review the diff.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { extract } from '../indexer/extract.ts';
import { detectLanguage } from '../indexer/languages/index.ts';
import { renderExtraction } from './helpers/render.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const INPUT = path.join(HERE, 'fixtures/extract/input');
const OUTPUT = path.join(HERE, 'fixtures/extract/output');
const update = process.env['UPDATE_SNAPSHOTS'] === '1';

for (const file of fs.readdirSync(INPUT).sort()) {
  test(`snapshot ${file}`, async () => {
    const language = detectLanguage(file);
    assert.ok(language, `no language for ${file}`);
    const result = await extract(language, fs.readFileSync(path.join(INPUT, file)));
    const actual = renderExtraction(file, result);
    const expectedPath = path.join(OUTPUT, `${file}.txt`);
    if (update || !fs.existsSync(expectedPath)) {
      fs.writeFileSync(expectedPath, actual);
      if (!update) assert.fail(`wrote new snapshot ${expectedPath}; review it and re-run`);
      return;
    }
    assert.equal(actual, fs.readFileSync(expectedPath, 'utf8'), `snapshot differs for ${file}; run UPDATE_SNAPSHOTS=1 npm test and review the diff`);
  });
}
