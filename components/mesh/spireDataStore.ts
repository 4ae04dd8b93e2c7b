// TEMPORARY STUB (replaced by branch h-pg before commit)
import { Values } from "../values";
export interface SqlDataStore {
    type: "postgres" | "mysql";
    host: string;
    port?: number;
    database: string;
    user: string;
    tls?: { mode: string; caSecret?: string };
}
export type SpireDataStore = { type: "sqlite3" } | SqlDataStore;
export const SPIRE_DATASTORE_PASSWORD_SECRET = "spire-datastore-password";
export function parseSpireDataStore(value: unknown, _problems: string[]): SpireDataStore {
    return value === undefined ? { type: "sqlite3" } : (value as SpireDataStore);
}
export function spireDataStoreChartValues(ds: SpireDataStore, s: { name: string; key: string }): Values {
    return ds.type === "sqlite3" ? {} : { dataStore: { sql: { databaseType: ds.type, externalSecret: { enabled: true, name: s.name, key: s.key } } } };
}
export function encodeDataStorePassword(_type: "postgres" | "mysql", password: string): string {
    return password;
}
export function dataStorePasswordProblem(_type: "postgres" | "mysql", _password: string): string | undefined {
    return undefined;
}
