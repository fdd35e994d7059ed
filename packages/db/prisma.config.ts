/**
 * Prisma CLI configuration for @rdlab/db (`prisma generate`, and `prisma migrate deploy` where the
 * schema engine is available). The schema and migrations live at the repository root in prisma/.
 */
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: '../../prisma/schema.prisma',
  migrations: { path: '../../prisma/migrations' },
  // Only the migrate commands read it; generate works without a database.
  datasource: { url: process.env.DATABASE_URL ?? '' },
});
