/** `rdlab doctor`: which backend computes, why others were passed over, and how fast it is. */
import { createRequire } from 'node:module';
import { initBackend, measureMatmulGflops } from '@rdlab/ml';
import type { Command } from 'commander';

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('print the active compute backend, versions, and a measured matmul GFLOP/s')
    .option(
      '--backend <name>',
      'try this backend instead of RDLAB_BACKEND / the fastest that loads',
    )
    .option('--json', 'print one JSON object')
    .action(async (options: { backend?: string; json?: boolean }) => {
      const info = await initBackend(options.backend, () => {});
      const require = createRequire(import.meta.url);
      const tfjsVersion = (require('@tensorflow/tfjs/package.json') as { version: string }).version;
      const gflops = measureMatmulGflops(512, 1);
      const report = {
        backend: info.name,
        tfjs_backend: info.tfjsBackend,
        skipped: info.skipped,
        node: process.version,
        tfjs: tfjsVersion,
        platform: `${process.platform}-${process.arch}`,
        matmul_gflops: Number(gflops.toFixed(2)),
      };
      if (options.json) {
        console.log(JSON.stringify(report));
        return;
      }
      console.log(`backend       ${report.backend} (tfjs ${report.tfjs_backend})`);
      for (const s of report.skipped) console.log(`  skipped     ${s.name}: ${s.reason}`);
      console.log(`node          ${report.node} on ${report.platform}`);
      console.log(`tfjs          ${report.tfjs}`);
      console.log(`matmul        ${report.matmul_gflops} GFLOP/s (512×512, float32)`);
    });
}
