-- Runs once, when compose's postgres volume is initialised (docker-entrypoint-initdb.d, as
-- POSTGRES_USER, before the migrate service creates the tables): the read-only role `grafana`
-- that Grafana's Postgres datasource logs in as. It may SELECT every table the owner creates
-- later; it can change nothing. On an external Postgres, run the same as the owner of rdlab's
-- tables (docs/deploy.md, "Grafana").
\getenv grafana_password GRAFANA_DB_PASSWORD
CREATE ROLE grafana LOGIN PASSWORD :'grafana_password';
GRANT USAGE ON SCHEMA public TO grafana;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO grafana;
