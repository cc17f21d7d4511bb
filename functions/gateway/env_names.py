"""Environment variable names of the gateway container.

The GatewayHost component writes exactly these into the container's env file (mode 0600) and the
gateway reads exactly these at start, so the two cannot drift.
"""

from llm_shared.catalog import CATALOG_PATH_ENV

CLIENT_TOKENS = "GATEWAY_CLIENT_TOKENS"      # secret: comma-separated client bearer tokens (key `default`)
# secret: JSON list of {name, token, daily_budget_usd?, monthly_budget_usd?} (gateway/client_keys.py)
CLIENT_KEYS = "GATEWAY_CLIENT_KEYS"
ADMIN_TOKEN = "GATEWAY_ADMIN_TOKEN"          # secret: /v1/usage/* and /metrics, never chat (cost tracker)
SERVERLESS_BASE_URL = "SERVERLESS_BASE_URL"  # OpenAI-compatible pay-per-token API, e.g. https://.../v1
SERVERLESS_API_KEY = "SERVERLESS_API_KEY"    # secret
GPU_BASE_URL = "GPU_BASE_URL"                # the host's own model server, e.g. http://127.0.0.1:8000/v1
GPU_MODEL_MAP = "GPU_MODEL_MAP"              # JSON object: catalog id -> GPU server model name
SERVERLESS_RATIO = "SERVERLESS_RATIO"        # 0..1, default 0.8
DAILY_BUDGET_USD = "DAILY_BUDGET_USD"
MONTHLY_BUDGET_USD = "MONTHLY_BUDGET_USD"
WARNING_THRESHOLD_PERCENT = "WARNING_THRESHOLD_PERCENT"
CRITICAL_THRESHOLD_PERCENT = "CRITICAL_THRESHOLD_PERCENT"
TIME_ZONE = "TIME_ZONE"
# A SQLite file path (default gateway-ledger.sqlite3) or a postgresql:// DSN (secret: may carry a password)
LEDGER_URL = "LEDGER_URL"
LEDGER_PATH = "LEDGER_PATH"  # deprecated alias of LEDGER_URL for a SQLite path (docs/gateway.md)
LEDGER_QUEUE_LIMIT = "LEDGER_QUEUE_LIMIT"  # rows held in memory while the store is down, then dead-lettered
LEDGER_DEAD_LETTER_PATH = "LEDGER_DEAD_LETTER_PATH"  # default: <SQLite path>.dead-letter.jsonl
CATALOG_PATH = CATALOG_PATH_ENV                # the shared package owns it: the tracker's CLI reads it too
MAX_BODY_BYTES = "MAX_BODY_BYTES"
HOST = "GATEWAY_HOST"
PORT = "GATEWAY_PORT"
# Operator override (rollback lever): every request goes to this backend ("serverless" or "gpu")
# unless it names one itself with x-force-backend; fallback to the other backend still applies.
FORCE_BACKEND = "GATEWAY_FORCE_BACKEND"
UPSTREAM_TIMEOUT_SECONDS = "UPSTREAM_TIMEOUT_SECONDS"          # read timeout per upstream call, default 60
UPSTREAM_CONNECT_TIMEOUT_SECONDS = "UPSTREAM_CONNECT_TIMEOUT_SECONDS"  # default 3
# Total time for a request's answer across both backends (a non-streaming body, a stream's first
# bytes), so a hang on both costs one deadline, not two upstream timeouts; default 90.
REQUEST_DEADLINE_SECONDS = "REQUEST_DEADLINE_SECONDS"
BUDGET_LEASE_SECONDS = "BUDGET_LEASE_SECONDS"          # shared budget lease time (ADR 0010)
BUDGET_LEASE_MARGIN_SECONDS = "BUDGET_LEASE_MARGIN_SECONDS"  # stop using a slice this long before
STREAM_STALL_SECONDS = "STREAM_STALL_SECONDS"  # a stream client not reading this long is cut; default 10

SECRETS = (CLIENT_TOKENS, CLIENT_KEYS, ADMIN_TOKEN, SERVERLESS_API_KEY, LEDGER_URL)
