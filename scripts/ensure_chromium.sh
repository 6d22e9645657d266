#!/bin/sh
# The browser tests drive Debian's Chromium (/usr/bin/chromium) through Playwright.
# Install it when it is missing and we are root (CI, fresh machines); otherwise say how.
set -eu
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
else
  echo "ensure_chromium: /usr/bin/chromium is missing; run: sudo apt-get install chromium" >&2
  exit 1
fi
