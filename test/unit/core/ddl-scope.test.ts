import { describe, expect, it } from 'vitest';
import { ddlScope, describeDdlScope } from '../../../src/core/ddl-scope.js';
import { TableFilter } from '../../../src/core/table-filter.js';

const filter = new TableFilter(['shop.*', 'crm_?.contacts'], ['shop.*_tmp']);
const t = (schema: string, name: string) => ({ schema, name });

describe('ddlScope', () => {
  it('keeps the synced tables of table DDL, unqualified names in the default database', () => {
    expect(ddlScope('ALTER TABLE orders ADD COLUMN note VARCHAR(20)', 'shop', filter)).toEqual({ action: 'ALTER TABLE', tables: [t('shop', 'orders')], databases: [] });
    expect(ddlScope('ALTER TABLE orders ADD COLUMN note VARCHAR(20)', 'other', filter)).toBeNull();
    expect(ddlScope('CREATE TABLE `shop`.`new one` (id INT PRIMARY KEY)', '', filter)).toEqual({ action: 'CREATE TABLE', tables: [t('shop', 'new one')], databases: [] });
    expect(ddlScope('CREATE TABLE shop.scratch_tmp (id INT PRIMARY KEY)', '', filter)).toBeNull();
    expect(ddlScope('TRUNCATE TABLE crm_1.contacts', '', filter)).toEqual({ action: 'TRUNCATE TABLE', tables: [t('crm_1', 'contacts')], databases: [] });
    expect(ddlScope('DROP TABLE IF EXISTS other.a, shop.b', '', filter)).toEqual({ action: 'DROP TABLE', tables: [t('shop', 'b')], databases: [] });
    expect(ddlScope('create or replace table shop.a (id INT PRIMARY KEY)', '', filter)).toEqual({ action: 'CREATE TABLE', tables: [t('shop', 'a')], databases: [], orReplace: true });
    expect(ddlScope('DROP TABLES shop.a', '', filter)).toEqual({ action: 'DROP TABLE', tables: [t('shop', 'a')], databases: [] });
    expect(ddlScope('CREATE INDEX i ON shop.orders (note)', '', filter)).toEqual({ action: 'CREATE INDEX', tables: [t('shop', 'orders')], databases: [] });
  });

  it('a rename into or out of the synced tables is synced', () => {
    expect(ddlScope('RENAME TABLE shop.a TO archive.a', '', filter)).toEqual({ action: 'RENAME TABLE', tables: [t('shop', 'a')], databases: [] });
    expect(ddlScope('ALTER TABLE archive.a RENAME TO shop.a', '', filter)).toEqual({ action: 'ALTER TABLE', tables: [t('shop', 'a')], databases: [] });
    expect(ddlScope('RENAME TABLE archive.a TO archive.b', '', filter)).toBeNull();
  });

  it('names in comments and strings are not tables', () => {
    expect(ddlScope("ALTER TABLE other.t COMMENT 'copied from shop.orders' /* shop.items */", '', filter)).toBeNull();
    expect(ddlScope('/*!40000 ALTER TABLE shop.orders DISABLE KEYS */', '', filter)).toEqual({ action: 'ALTER TABLE', tables: [t('shop', 'orders')], databases: [] });
  });

  it('CREATE and DROP DATABASE of an included database; not ALTER DATABASE', () => {
    expect(ddlScope('CREATE DATABASE IF NOT EXISTS shop', '', filter)).toEqual({ action: 'CREATE DATABASE', tables: [], databases: ['shop'] });
    expect(ddlScope('DROP SCHEMA `crm_2`', '', filter)).toEqual({ action: 'DROP DATABASE', tables: [], databases: ['crm_2'] });
    expect(ddlScope('DROP DATABASE crm_22', '', filter)).toBeNull();
    expect(ddlScope('CREATE DATABASE other', '', filter)).toBeNull();
    expect(ddlScope('ALTER DATABASE shop CHARACTER SET utf8mb4', '', filter)).toBeNull();
    expect(ddlScope('DROP DATABASE mysql', '', new TableFilter(['*.*']))).toBeNull();
  });

  it('temporary tables, other statements and unreadable text change nothing synced', () => {
    expect(ddlScope('CREATE TEMPORARY TABLE shop.t (id INT)', '', filter)).toBeNull();
    expect(ddlScope('DROP TEMPORARY TABLE IF EXISTS shop.t', '', filter)).toBeNull();
    expect(ddlScope("GRANT SELECT ON shop.* TO 'u'@'%'", '', filter)).toBeNull();
    expect(ddlScope('CREATE VIEW shop.v AS SELECT 1', '', filter)).toBeNull();
    expect(ddlScope("DROP DATABASE 'unterminated", '', filter)).toBeNull();
  });

  it('describes a scope for messages', () => {
    expect(describeDdlScope({ action: 'DROP TABLE', tables: [t('shop', 'a'), t('shop', 'b')], databases: [] })).toBe('shop.a, shop.b');
    expect(describeDdlScope({ action: 'CREATE DATABASE', tables: [], databases: ['shop'] })).toBe('database shop');
  });
});
