#!/usr/bin/env bash
# `make run`: the whole platform on one machine — web, worker and scheduler, with the embedded PostgreSQL and Redis
# unless DATABASE_URL / REDIS_URL say otherwise.
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

# The embedded PostgreSQL lives as long as this script: up before migrate, stopped on the way out (Ctrl-C
# included) only after web, worker and scheduler have stopped, so a stopping worker can still record its batch.
trap 'python manage.py xsender:postgres stop --owner $$' EXIT
python manage.py xsender:postgres start --owner $$
python manage.py migrate --noinput -v 0
python manage.py collectstatic --noinput -v 0
python manage.py xsender:demo

# Workers: one per core by default (XSENDER_WORKERS), so a campaign's fan-out lanes (XSENDER_CAMPAIGN_LANES, 2)
# render on as many cores and one gateway's drain does not hold up another's.
honcho start -f Procfile -c "worker=${XSENDER_WORKERS:-2}" &
honcho_pid=$!
# A signal for this script alone (not its whole process group) is passed on to honcho, which stops the rest.
trap 'kill -TERM "$honcho_pid" 2>/dev/null || true' INT TERM HUP
status=0
while kill -0 "$honcho_pid" 2>/dev/null; do
  wait "$honcho_pid" || status=$?
done
exit "$status"
