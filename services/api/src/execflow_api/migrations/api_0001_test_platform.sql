-- The test platform's launch model (dialects/testplatform): suites, a version per
-- change; profiles; the platform settings (one row).
CREATE TABLE IF NOT EXISTS platform_suites (
    id text NOT NULL,
    version integer NOT NULL,
    body jsonb NOT NULL,
    digest text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, version)
);
CREATE TABLE IF NOT EXISTS platform_profiles (
    name text PRIMARY KEY,
    body jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS platform_settings (
    key text PRIMARY KEY,
    body jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
