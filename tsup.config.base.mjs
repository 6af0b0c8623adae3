// Shared build: CommonJS with declarations; scripts/esm-wrapper.mjs adds the ESM entry.
/** @param {string[]} entry */
export function config(entry = ['src/index.ts']) {
  return {
    entry,
    format: ['cjs'],
    target: 'node20',
    platform: 'node',
    dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
    clean: true,
    sourcemap: false,
    splitting: false,
    shims: false,
  };
}
