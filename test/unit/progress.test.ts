/**
 * The CLI's progress bar: rate and ETA on a terminal, its last frame complete when a transfer
 * succeeds (a put used to end on 93%), nothing when quiet or not a terminal.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { progressBar } from "../../src/cli/progress.js";

/** A stream that says it is a terminal and keeps what is written (escape codes removed). */
function fakeTerminal(isTTY = true) {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer, _enc, next) {
      text += chunk.toString();
      next();
    },
  }) as unknown as NodeJS.WriteStream & { cursorTo: () => void; clearLine: () => void };
  Object.assign(stream, {
    isTTY,
    columns: 120,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
  });
  // eslint-disable-next-line no-control-regex
  return { stream, text: () => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "") };
}

describe("the progress bar", () => {
  it("shows rate and ETA, and ends on 100% when the transfer succeeds", async () => {
    const { stream, text } = fakeTerminal();
    const bar = await progressBar("put", false, stream);
    bar.onProgress!(0, 1000);
    bar.onProgress!(930, 1000);
    bar.done();
    const frames = text();
    expect(frames).toMatch(/\/s ETA /);
    expect(frames.trimEnd()).toMatch(/100% 1000 B\/1000 B/);
  });

  it("leaves the last frame where it was when the transfer fails", async () => {
    const { stream, text } = fakeTerminal();
    const bar = await progressBar("get", false, stream);
    bar.onProgress!(0, 1000);
    bar.onProgress!(500, 1000);
    bar.stop();
    expect(text()).not.toContain("100%");
  });

  it("prints nothing when quiet or not on a terminal", async () => {
    for (const [quiet, tty] of [
      [true, true],
      [false, false],
    ] as const) {
      const { stream, text } = fakeTerminal(tty);
      const bar = await progressBar("get", quiet, stream);
      expect(bar.onProgress).toBeUndefined();
      bar.done();
      expect(text()).toBe("");
    }
  });
});
