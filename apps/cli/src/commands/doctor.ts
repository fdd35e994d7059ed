/**
 * `rdlab doctor`: which backend computes, why others were passed over, and how fast it is; and
 * the GPU engine's state whatever backend runs (its device, or why it is unavailable).
 */
import { createRequire } from 'node:module';
import {
  type CudaStatus,
  cudaPrecision,
  cudaStatus,
  initBackend,
  measureMatmulGflops,
} from '@rdlab/ml';
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
        cuda: cudaReport(),
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
      const { cuda } = report;
      console.log(
        cuda.available
          ? `cuda          ${cuda.device} (compute ${cuda.capability}, ${cuda.memoryGiB} GiB, driver ${cuda.driverVersion}), precision ${cuda.precision}`
          : `cuda          unavailable: ${cuda.reason}`,
      );
    });
}

/** The CUDA engine's device and precision setting, or why it cannot run here. */
function cudaReport(): CudaStatus & { precision?: string } {
  const status = cudaStatus();
  if (!status.available) return status;
  try {
    return { ...status, precision: cudaPrecision() };
  } catch (error) {
    return { available: false, reason: (error as Error).message };
  }
}
