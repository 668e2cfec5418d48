-- depends: catalogue_0003_namespaces
-- Secrets, one namespace's each: the value sealed with AES-GCM (nonce and ciphertext),
-- the namespace and name bound to it; `key_id` names the key that sealed it (a
-- fingerprint, never the key). The API writes them; runners read them as a step starts.
CREATE TABLE IF NOT EXISTS secrets (
    namespace text NOT NULL,
    name text NOT NULL,
    sealed bytea NOT NULL,
    key_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text,
    PRIMARY KEY (namespace, name)
);
