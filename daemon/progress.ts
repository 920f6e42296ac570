// Progress reporting for long CLI runs: a redrawn bar on a TTY, plain lines at 10% steps otherwise.
export interface Progress {
  update(done: number, total: number, phase?: string): void;
  finish(): void;
}

export function progress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  let lastLine = -1;
  let lastDraw = 0;
  let drawn = false;
  return {
    update(done, total, phase = 'indexing') {
      if (tty) {
        const now = Date.now();
        if (done < total && now - lastDraw < 100) return;
        lastDraw = now;
        const width = 30;
        const filled = total === 0 ? width : Math.round((done / total) * width);
        stream.write(`\r${phase} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}`);
        drawn = true;
        return;
      }
      const step = total === 0 ? 10 : Math.floor((done / total) * 10);
      if (step !== lastLine) {
        lastLine = step;
        stream.write(`${phase}: ${done}/${total}\n`);
      }
    },
    finish() {
      if (tty && drawn) stream.write('\n');
    },
  };
}
