// The `onnx` embedder (issue #12) on a real model through onnxruntime-node and a real Hugging Face
// tokenizer.json: test/fixtures/onnx/tiny-bert.onnx (1.5 KB, written by make-tiny-model.mjs, which
// also gives the formula of its embedding tables) and its WordPiece tokenizer. Checks the
// tokenizer -> inference -> masked mean pooling -> normalisation path against values computed
// here, padding inside a batch, truncation, and the coded errors of bad files and dimensions.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CodedError } from '../errors/index.ts';
import { OnnxEmbedder } from '../store/embedders/index.ts';

const fixtures = fileURLToPath(new URL('./fixtures/onnx/', import.meta.url));
const model = join(fixtures, 'tiny-bert.onnx');
const tokenizer = join(fixtures, 'tokenizer.json');
const tmp = mkdtempSync(join(tmpdir(), 'cg-onnx-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const DIMS = 8;
/** make-tiny-model.mjs: word_embeddings[t][d]; type id 0 adds 0. */
const wordValue = (t: number, d: number): number => ((t * 7 + d * 3) % 11) - 5;

/** The normalised mean of the word vectors of `ids`. */
function expected(ids: number[]): number[] {
  const v = Array.from({ length: DIMS }, (_, d) => ids.reduce((s, t) => s + wordValue(t, d), 0) / ids.length);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function near(a: Float32Array, b: number[]): void {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) < 1e-5, `${Array.from(a).join(',')} vs ${b.join(',')}`));
}

// Vocabulary (make-tiny-model.mjs): [CLS]=2 [SEP]=3 [UNK]=1 parse=5 ##r=6 get=9 user=10 (=19 x=28 )=20 con=29 ##fig=30 ##ure=31.
it('embeds through the tokenizer and the model, mean-pooled and normalised', async () => {
  const e = await OnnxEmbedder.open({ model, tokenizer, dims: DIMS });
  try {
    assert.match(e.id, /^onnx:tiny-bert@[0-9a-f]{12}$/);
    assert.equal(e.dims, DIMS);
    const [a, b] = await e.embed(['Parser configure', 'get USER(x)']);
    near(a!, expected([2, 5, 6, 29, 30, 31, 3]));
    near(b!, expected([2, 9, 10, 19, 28, 20, 3]));
  } finally {
    await e.close();
  }
});

it('padding a short text in a batch does not change its vector', async () => {
  const e = await OnnxEmbedder.open({ model, tokenizer, dims: DIMS, batchSize: 2 });
  try {
    const texts = ['x', 'parse the response of the user name', 'get', 'load account', 'fetch'];
    const together = await e.embed(texts);
    for (const [k, t] of texts.entries()) near(together[k]!, Array.from((await e.embed([t]))[0]!));
  } finally {
    await e.close();
  }
});

it('cuts a long text at the tokenizer\'s max_length, keeping [SEP]', async () => {
  const e = await OnnxEmbedder.open({ model, tokenizer, dims: DIMS });
  try {
    const [v] = await e.embed([Array.from({ length: 40 }, () => 'x').join(' ')]);
    near(v!, expected([2, ...Array.from({ length: 14 }, () => 28), 3]));
    const e4 = await OnnxEmbedder.open({ model, tokenizer, dims: DIMS, maxTokens: 4 });
    try {
      near((await e4.embed(['get user name fetch']))[0]!, expected([2, 9, 10, 3]));
    } finally {
      await e4.close();
    }
  } finally {
    await e.close();
  }
});

it('names the model by content: another file is another provider id', async () => {
  const other = join(tmp, 'tokenizer.json');
  const json = JSON.parse((await import('node:fs')).readFileSync(tokenizer, 'utf8')) as { truncation: { max_length: number } };
  json.truncation.max_length = 8;
  writeFileSync(other, JSON.stringify(json));
  const [a, b] = [await OnnxEmbedder.open({ model, tokenizer, dims: DIMS }), await OnnxEmbedder.open({ model, tokenizer: other, dims: DIMS })];
  assert.notEqual(a.id, b.id);
  await a.close();
  await b.close();
});

const rejects = (p: Promise<unknown>, code: Parameters<typeof CodedError.is>[1], msg: RegExp) =>
  assert.rejects(p, (err: unknown) => CodedError.is(err, code) && msg.test((err as Error).message));

it('refuses a missing model or tokenizer file with EMBEDDING_MODEL_NOT_FOUND', async () => {
  await rejects(OnnxEmbedder.open({ model: join(tmp, 'nope.onnx'), tokenizer, dims: DIMS }), 'EMBEDDING_MODEL_NOT_FOUND', /cannot read the model file .*nope\.onnx \(ENOENT\)/);
  await rejects(OnnxEmbedder.open({ model, tokenizer: join(tmp, 'nope.json'), dims: DIMS }), 'EMBEDDING_MODEL_NOT_FOUND', /cannot read the tokenizer file/);
});

it('refuses a file that is not a model or not a tokenizer with EMBEDDING_MODEL_INVALID', async () => {
  const junk = join(tmp, 'junk.onnx');
  writeFileSync(junk, Buffer.from('this is not a protobuf model at all'));
  await rejects(OnnxEmbedder.open({ model: junk, tokenizer, dims: DIMS }), 'EMBEDDING_MODEL_INVALID', /onnxruntime cannot load the model file/);
  const notJson = join(tmp, 'bad.json');
  writeFileSync(notJson, '{ not json');
  await rejects(OnnxEmbedder.open({ model, tokenizer: notJson, dims: DIMS }), 'EMBEDDING_MODEL_INVALID', /is not JSON/);
  const noModel = join(tmp, 'nomodel.json');
  writeFileSync(noModel, '{"version":"1.0"}');
  await rejects(OnnxEmbedder.open({ model, tokenizer: noModel, dims: DIMS }), 'EMBEDDING_MODEL_INVALID', /not a usable tokenizer\.json/);
});

it('refuses a dimension mismatch with EMBEDDING_DIMENSION_MISMATCH, naming the right value', async () => {
  await rejects(OnnxEmbedder.open({ model, tokenizer, dims: 384 }), 'EMBEDDING_DIMENSION_MISMATCH', /returns 8-dimensional vectors, the configuration says 384; set embedder\.dims to 8/);
});

it('validates its options', async () => {
  await rejects(OnnxEmbedder.open({ model, tokenizer, dims: 0 }), 'INVALID_OPTIONS', /^options\.dims must be a positive integer, got 0$/);
  await rejects(OnnxEmbedder.open({ model, tokenizer, dims: DIMS, batchSize: 1.5 }), 'INVALID_OPTIONS', /^options\.batchSize must be a positive integer, got 1\.5$/);
});
