"""gunicorn settings read from the working directory (the Procfile names this file too).

- Forwarded headers (`X-Forwarded-Proto` …) are believed only from `XSENDER_TRUSTED_PROXIES`, the same list the
  application uses; empty means from nobody. gunicorn's own default would trust 127.0.0.1 whatever we say.
- The access log names the path without its query string: GET-form sends carry message bodies and OTP codes
  there.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import environ

environ.Env.read_env(Path(__file__).resolve().parent / ".env", overwrite=False)  # as xsender.settings does
_proxies = environ.Env().list("XSENDER_TRUSTED_PROXIES", default=[])

# Normalised like the application reads them ("10.0.0.1/8" means 10.0.0.0/8); gunicorn wants strict networks.
forwarded_allow_ips = ",".join(str(ipaddress.ip_network(p.strip(), strict=False)) for p in _proxies if p.strip())

# gunicorn's default format with the request line "%(r)s" (which holds the query) replaced by method, path
# and protocol; the referer is dropped too, as it can carry another page's query string.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms'
