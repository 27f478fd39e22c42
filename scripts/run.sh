#!/usr/bin/env bash
# `make run`: the whole platform on one machine — web, worker and scheduler (and the embedded Redis).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p var

if [ ! -f .env ]; then
  python - > .env <<'PY'
import secrets
from cryptography.fernet import Fernet
print("# Local development settings written by `make run` (never commit this file).")
print("DEBUG=true")
print("XSENDER_ALLOW_INSECURE_HTTP=true")
print(f"SECRET_KEY={secrets.token_urlsafe(50)}")
print(f"XSENDER_ENCRYPTION_KEY={Fernet.generate_key().decode()}")
PY
  echo "Wrote .env with fresh development secrets."
fi

export WEB_PORT="${PORT:-8000}"
export XSENDER_BASE_URL="${XSENDER_BASE_URL:-http://127.0.0.1:${WEB_PORT}}"
python manage.py migrate --noinput -v 0
python manage.py collectstatic --noinput -v 0
python manage.py xsender:demo
exec honcho start -f Procfile
