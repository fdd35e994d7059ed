/**
 * What `prisma/schema.prisma` implies for the database, read with a small parser of the subset
 * rdlab uses, in Prisma's naming conventions: the test compares it with the migrated catalog,
 * so a schema edit without a migration (or a hand-written migration that drifts) fails.
 */
import { readFile } from 'node:fs/promises';

export interface ExpectedColumn {
  name: string;
  /** `format_type()` spelling: text, integer, bigint, double precision, jsonb, timestamp(3) without time zone, or the enum's name. */
  type: string;
  nullable: boolean;
  hasDefault: boolean;
}

export interface ExpectedIndex {
  name: string;
  table: string;
  columns: string[];
  unique: boolean;
  primary: boolean;
}

export interface ExpectedForeignKey {
  name: string;
  table: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  /** CASCADE, RESTRICT, SET NULL, NO ACTION */
  onDelete: string;
  onUpdate: string;
}

export interface ExpectedSchema {
  enums: Map<string, string[]>;
  tables: Map<string, ExpectedColumn[]>;
  indexes: ExpectedIndex[];
  foreignKeys: ExpectedForeignKey[];
}

const SCALAR_TYPES: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Boolean: 'boolean',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
};
const NATIVE_TYPES: Record<string, string> = {
  'Timestamptz(3)': 'timestamp(3) with time zone',
};
/** Defaults Prisma fills in client-side: no DEFAULT in the database. */
const CLIENT_DEFAULTS = /^(uuid|cuid|nanoid|ulid)\(/;
const ACTIONS: Record<string, string> = {
  Cascade: 'CASCADE',
  Restrict: 'RESTRICT',
  SetNull: 'SET NULL',
  NoAction: 'NO ACTION',
  SetDefault: 'SET DEFAULT',
};

interface Field {
  name: string;
  type: string;
  optional: boolean;
  list: boolean;
  attrs: string;
}

interface Block {
  kind: 'model' | 'enum';
  name: string;
  fields: Field[];
  blockAttrs: string[];
}

function parseBlocks(source: string): Block[] {
  const blocks: Block[] = [];
  const text = source.replace(/\/\/.*$/gm, '');
  for (const m of text.matchAll(/^(model|enum)\s+(\w+)\s*\{([^}]*)\}/gm)) {
    const block: Block = { kind: m[1] as Block['kind'], name: m[2]!, fields: [], blockAttrs: [] };
    for (const raw of m[3]!.split('\n')) {
      const line = raw.trim();
      if (!line) continue;
      if (line.startsWith('@@')) {
        block.blockAttrs.push(line);
        continue;
      }
      const f = /^(\w+)(?:\s+(\w+)(\[\])?(\?)?)?\s*(.*)$/.exec(line);
      if (!f) throw new Error(`cannot parse '${line}' in ${block.name}`);
      block.fields.push({
        name: f[1]!,
        type: f[2] ?? '',
        list: Boolean(f[3]),
        optional: Boolean(f[4]),
        attrs: f[5] ?? '',
      });
    }
    blocks.push(block);
  }
  return blocks;
}

const mapped = (attrs: string, fallback: string) =>
  /@map\("([^"]+)"\)/.exec(attrs)?.[1] ?? fallback;
const list = (s: string) => s.split(',').map((x) => x.trim().replace(/\(.*\)$/, ''));

export async function readExpectedSchema(path: string): Promise<ExpectedSchema> {
  const blocks = parseBlocks(await readFile(path, 'utf8'));
  const enumNames = new Map<string, string>();
  const schema: ExpectedSchema = {
    enums: new Map(),
    tables: new Map(),
    indexes: [],
    foreignKeys: [],
  };
  for (const b of blocks.filter((b) => b.kind === 'enum')) {
    const dbName =
      b.blockAttrs.map((a) => /@@map\("([^"]+)"\)/.exec(a)?.[1]).find(Boolean) ?? b.name;
    enumNames.set(b.name, dbName);
    schema.enums.set(
      dbName,
      b.fields.map((f) => f.name),
    );
  }
  const models = blocks.filter((b) => b.kind === 'model');
  const tableOf = new Map<string, string>();
  for (const b of models) {
    tableOf.set(
      b.name,
      b.blockAttrs.map((a) => /@@map\("([^"]+)"\)/.exec(a)?.[1]).find(Boolean) ?? b.name,
    );
  }
  for (const b of models) {
    const table = tableOf.get(b.name)!;
    const column = new Map<string, string>(); // field name → column name
    const columns: ExpectedColumn[] = [];
    for (const f of b.fields) {
      const isEnum = enumNames.has(f.type);
      if (!(f.type in SCALAR_TYPES) && !isEnum) continue; // a relation field
      const name = mapped(f.attrs, f.name);
      column.set(f.name, name);
      const native = /@db\.(\w+\([^)]*\)|\w+)/.exec(f.attrs)?.[1];
      const type = isEnum
        ? enumNames.get(f.type)!
        : native
          ? (NATIVE_TYPES[native] ?? native)
          : SCALAR_TYPES[f.type]!;
      const def = /@default\((.*?)\)(\s|$)/.exec(`${f.attrs} `)?.[1];
      columns.push({
        name,
        type,
        nullable: f.optional,
        hasDefault: def !== undefined && !CLIENT_DEFAULTS.test(def),
      });
      if (/@id\b/.test(f.attrs))
        schema.indexes.push({
          name: `${table}_pkey`,
          table,
          columns: [name],
          unique: true,
          primary: true,
        });
      if (/@unique\b/.test(f.attrs))
        schema.indexes.push({
          name: `${table}_${name}_key`,
          table,
          columns: [name],
          unique: true,
          primary: false,
        });
    }
    schema.tables.set(table, columns);
    const cols = (fields: string) => list(fields).map((f) => column.get(f) ?? f);
    for (const a of b.blockAttrs) {
      const m = /^@@(id|unique|index)\(\[([^\]]+)\]/.exec(a);
      if (!m) continue;
      const c = cols(m[2]!);
      const kind = m[1]!;
      schema.indexes.push({
        name:
          kind === 'id'
            ? `${table}_pkey`
            : `${table}_${c.join('_')}_${kind === 'unique' ? 'key' : 'idx'}`,
        table,
        columns: c,
        unique: kind !== 'index',
        primary: kind === 'id',
      });
    }
    for (const f of b.fields) {
      const rel = /@relation\((.*)\)/.exec(f.attrs)?.[1];
      if (!rel || !/fields:/.test(rel)) continue;
      const fields = cols(/fields:\s*\[([^\]]+)\]/.exec(rel)![1]!);
      const target = models.find((m) => m.name === f.type)!;
      const targetColumns = new Map(
        target.fields.map((tf) => [tf.name, mapped(tf.attrs, tf.name)]),
      );
      const refs = list(/references:\s*\[([^\]]+)\]/.exec(rel)![1]!).map(
        (r) => targetColumns.get(r)!,
      );
      const onDelete = /onDelete:\s*(\w+)/.exec(rel)?.[1] ?? (f.optional ? 'SetNull' : 'Restrict');
      const onUpdate = /onUpdate:\s*(\w+)/.exec(rel)?.[1] ?? 'Cascade';
      schema.foreignKeys.push({
        name: `${table}_${fields.join('_')}_fkey`,
        table,
        columns: fields,
        refTable: tableOf.get(f.type)!,
        refColumns: refs,
        onDelete: ACTIONS[onDelete]!,
        onUpdate: ACTIONS[onUpdate]!,
      });
    }
  }
  return schema;
}
