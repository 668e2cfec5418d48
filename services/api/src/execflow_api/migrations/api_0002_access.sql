-- depends: api_0001_test_platform
-- Who may do what: namespaces (tenants) and API keys. A key is stored as its argon2
-- hash; its id (the part of the key before the secret) finds it.
CREATE TABLE IF NOT EXISTS namespaces (
    name text PRIMARY KEY,
    -- Finished executions are deleted this long after they end (None: kept), unless
    -- their workflow's ttl.delete_after says otherwise.
    retention_s double precision,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO namespaces (name) VALUES ('default') ON CONFLICT (name) DO NOTHING;
CREATE TABLE IF NOT EXISTS api_keys (
    id text PRIMARY KEY,
    hash text NOT NULL,
    namespace text NOT NULL REFERENCES namespaces (name),
    role text NOT NULL,
    name text NOT NULL DEFAULT '',
    -- An agent token's queues.
    queues text[],
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    revoked_at timestamptz
);
