import fs from 'node:fs';

/** The file calls the log makes, each complete or failed (a short read or write is carried on). */

/** A chunk that holds `bytes` bytes from file offset `at` (read synchronously: replay only). */
export function refill(fd: number, chunk: Buffer, at: number, bytes: number, size: number): { chunk: Buffer; chunkStart: number; chunkEnd: number } {
  const next = bytes > chunk.length ? Buffer.allocUnsafe(bytes) : chunk;
  const want = Math.min(next.length, size - at);
  let got = 0;
  while (got < want) {
    const n = fs.readSync(fd, next, got, want - got, at + got);
    if (n === 0) break;
    got += n;
  }
  return { chunk: next, chunkStart: at, chunkEnd: got };
}

export function readExactly(fd: number, buffer: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done === buffer.length) return resolve();
      fs.read(fd, buffer, done, buffer.length - done, position + done, (error, n) => {
        if (error) return reject(error);
        if (n === 0) return reject(new Error('outbox: a record ends past the end of its segment'));
        step(done + n);
      });
    };
    step(0);
  });
}

export function writeExactly(fd: number, buffer: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done === buffer.length) return resolve();
      fs.write(fd, buffer, done, buffer.length - done, position + done, (error, n) => (error ? reject(error) : step(done + n)));
    };
    step(0);
  });
}

export function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

export function ftruncate(fd: number, length: number): Promise<void> {
  return new Promise((resolve, reject) => fs.ftruncate(fd, length, (error) => (error ? reject(error) : resolve())));
}

export function openFile(file: string, flags: string, mode: number): Promise<number> {
  return new Promise((resolve, reject) => fs.open(file, flags, mode, (error, fd) => (error ? reject(error) : resolve(fd))));
}

/** Makes a new segment's name durable (after a power cut, not only a killed process). */
export function fsyncDirectory(directory: string): void {
  const fd = fs.openSync(directory, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
