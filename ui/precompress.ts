// A Vite plugin: after a build, writes FILE.gz and FILE.br next to each compressible FILE of the
// output, so that the API serves them as they are (api/static_ui.py chooses by Accept-Encoding)
// instead of compressing a megabyte of script on every request. Brotli at its best quality costs
// a few seconds once per build and saves about a fifth over gzip.

import { readdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";
import type { Plugin } from "vite";

const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|txt|map|webmanifest)$/;
const MIN_BYTES = 1024; // below this, headers outweigh what compression saves

const gzipped = promisify(gzip);
const brotlied = promisify(brotliCompress);

export function precompress(): Plugin {
  let outDir = "dist";
  return {
    name: "durastack-precompress",
    apply: "build",
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    async closeBundle() {
      const files = (await readdir(outDir, { recursive: true, withFileTypes: true }))
        .filter((entry) => entry.isFile() && COMPRESSIBLE.test(entry.name))
        .map((entry) => join(entry.parentPath, entry.name));
      await Promise.all(files.map(async (file) => {
        const content = await readFile(file);
        if (content.length < MIN_BYTES) return;
        const [gz, br] = await Promise.all([
          gzipped(content, { level: 9 }),
          brotlied(content, { params: {
            [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
            [constants.BROTLI_PARAM_SIZE_HINT]: content.length,
          } }),
        ]);
        await Promise.all([writeFile(`${file}.gz`, gz), writeFile(`${file}.br`, br)]);
      }));
    },
  };
}
