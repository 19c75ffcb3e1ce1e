// Starts `dsv4 serve` for a test file: a tiny random model made with `dsv4 synth`, a free
// port (--port 0, read from the log), and the log kept for checks. DSV4_BIN names the binary.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const dsv4 = process.env.DSV4_BIN ?? new URL('../../build/bin/dsv4', import.meta.url).pathname;

// The tool-call markup that must never reach content or text deltas.
export const dsmlTags = [
  '<｜DSML｜tool_calls>', '</｜DSML｜tool_calls>', '<｜DSML｜invoke', '</｜DSML｜invoke>',
  '<｜DSML｜parameter', '</｜DSML｜parameter>',
];
export const hasDsml = (text) => dsmlTags.some((tag) => (text ?? '').includes(tag));

export async function startServer(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'dsv4-clients-'));
  const model = join(dir, 'tiny.gguf');
  execFileSync(dsv4, ['synth', model, '--vocab', '512'], { stdio: 'ignore' });
  const child = spawn(dsv4, ['serve', '-m', model, '--port', '0', '--ctx', '4096', ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dsv4 serve did not start:\n${log}`)), 30000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', () => reject(new Error(`dsv4 serve exited:\n${log}`)));
  });
  const baseURL = `http://127.0.0.1:${port}`;
  for (let i = 0; ; ++i) {
    const health = await fetch(`${baseURL}/health`).catch(() => null);
    if (health?.status === 200) break;
    if (i > 300) throw new Error(`dsv4 serve never became ready:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    baseURL,
    model,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

// Prompt tokens of a conversation as dsv4 renders and tokenizes it (dsv4 render, dsv4
// tokenize): what usage must report when nothing is reused.
export function promptTokens(messages, mode, modelPath) {
  const rendered = execFileSync(dsv4, ['render', '--mode', mode], {
    input: JSON.stringify({ messages }),
  });
  const ids = execFileSync(dsv4, ['tokenize', '-m', modelPath, '--special'], { input: rendered });
  return JSON.parse(ids.toString()).length;
}
